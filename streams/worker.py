"""`kpiflow worker`: run the Faust app until stopped."""

from __future__ import annotations

import logging
import os

from kpiflow.projections.migrate import apply_migrations
from kpiflow.projections.store import ClickHouseStore
from kpiflow.settings import Settings
from kpiflow.streams import log_flood


def run_worker(settings: Settings, loglevel: str = "info") -> None:
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
    logging.getLogger("kpiflow").setLevel(loglevel.upper())
    logging.getLogger("kpiflow").info("settings: %s", settings.redacted())
    worker = Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
