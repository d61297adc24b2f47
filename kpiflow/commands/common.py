"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from rich.console import Console
from rich.text import Text

from kpiflow.projections.catalog import custom_kpis
from kpiflow.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


_announced = False


def announce_data_dir(s: Settings, *, creates_data_dir: bool = False) -> None:
    """Once per command: which data directory it uses, and a warning when it does not exist."""
    global _announced
    if _announced or s.pipeline is None:
        return
    _announced = True
    path = s.pipeline.data_dir.resolve()
    if path.exists() or creates_data_dir:
        err_console.print(Text(f"data directory: {path}", style="dim"), soft_wrap=True)
    else:
        err_console.print(
            Text(
                f"data directory {path} does not exist: this command starts from a new, "
                "empty one. Run it from the folder you ran `kpiflow up` in, or set "
                "KPIFLOW_DATA_DIR.",
                style="yellow",
            ),
            soft_wrap=True,
        )


def settings(*, creates_data_dir: bool = False) -> Settings:
    """The effective settings. The first call of a command says (on stderr) which data directory
    it uses, and warns when that directory does not exist yet: a command run from another folder
    than `kpiflow up` would otherwise start silently from a new, empty `./.kpiflow`. `up` and
    `demo` create it on purpose (`creates_data_dir`)."""
    s = get_settings()
    announce_data_dir(s, creates_data_dir=creates_data_dir)
    return s


@contextmanager
def custom_kpis_of(store) -> Iterator[None]:
    """Treat the custom KPIs of the stored definition versions like catalog KPIs while the
    block runs (plans, pacing, reports, boards)."""
    from kpiflow.projections.versions import custom_specs

    with custom_kpis(custom_specs(store)):
        yield


def stored_custom_kpis(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command with the stored definition versions' custom KPIs known (plans, pacing).

    Reads them from the store when there is one (an existing data directory, the worker's
    gateway, or a server); without one the catalog alone is known, and `plan check` still needs
    no database."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with custom_kpis(_stored_custom_specs()):
            return command(*args, **kwargs)

    return run


def _stored_custom_specs() -> dict:
    from kpiflow.errors import KpiflowError
    from kpiflow.projections.store import open_store
    from kpiflow.projections.versions import custom_specs

    s = settings()
    if s.clickhouse_dsn.startswith("chdb:") and not s.pipeline.data_dir.exists():
        return {}
    try:
        store = open_store(s)
    except KpiflowError:
        return {}
    try:
        return custom_specs(store)
    finally:
        store.close()


def day_option(value: str | None, flag: str) -> date | None:
    """A YYYY-MM-DD option's date (None when not given); a clear error names the option."""
    from kpiflow.errors import ConfigError

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def require_kafka(s: Settings) -> None:
    """One clear line within about 5 s when the commands' Kafka is away (exit 2)."""
    from kpiflow.runtime.kafka_admin import require_kafka as check

    check(s.kafka.bootstrap_servers, s.kafka.confluent_config())


def worker_state(base_url: str) -> dict | None:
    """The running worker's `/kpiflow/state` (ingest metrics, projector progress), or None."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base_url}/kpiflow/state", timeout=5) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())
    except OSError:
        return None
