"""`kpiflow worker`: run the Faust app until stopped."""

from __future__ import annotations

import asyncio
import logging
import os

from kpiflow.projections.migrate import apply_migrations
from kpiflow.projections.store import ClickHouseStore
from kpiflow.settings import Settings
from kpiflow.streams import collector, log_flood

log = logging.getLogger("kpiflow.worker")


def use_event_loop(name: str) -> str:
    """Make the event loops created from now on `name`'s (before the app and its loop exist);
    returns the one in use. uvloop missing (an install without it): asyncio's, with a warning."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning(
                "KPIFLOW_EVENT_LOOP=uvloop but uvloop is not installed (pip install uvloop); "
                "using asyncio's event loop"
            )
        else:
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            return "uvloop"
    asyncio.set_event_loop_policy(None)  # asyncio's default
    return "asyncio"


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    use_event_loop(settings.pipeline.event_loop)
    from faust.worker import Worker

    from kpiflow.streams.app import create_app
    from kpiflow.streams.group import ensure_sole_worker

    password = (
        settings.clickhouse.password.get_secret_value() if settings.clickhouse.password else None
    )
    settings.pipeline.data_dir.mkdir(parents=True, exist_ok=True)
    dsn = settings.clickhouse_dsn
    if dsn.startswith("chdb://"):
        from pathlib import Path

        session_timeout = float(os.environ.get("KPIFLOW_SESSION_TIMEOUT", "10"))
        ensure_sole_worker(settings, wait=session_timeout + 5)
        Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
    store = ClickHouseStore(dsn, settings.clickhouse.database, password)
    apply_migrations(store)
    app = create_app(settings, store)
    log_flood.install()  # a broker that is away: a few lines, not thousands
    collector.settle_for_long_run()  # the last step before the worker runs (the module: why)
    logging.getLogger("kpiflow").setLevel(loglevel.upper())
    worker = Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
