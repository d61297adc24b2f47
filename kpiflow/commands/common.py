"""Small helpers shared by the CLI commands."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from kpiflow.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


_announced = False


def settings(*, creates_data_dir: bool = False) -> Settings:
    """The effective settings. The first call of a command says (on stderr) which data directory
    it uses, and warns when that directory does not exist yet: a command run from another folder
    than `kpiflow up` would otherwise start silently from a new, empty `./.kpiflow`. `up` and
    `demo` create it on purpose (`creates_data_dir`)."""
    global _announced
    s = get_settings()
    if not _announced:
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
    return s


def worker_state(base_url: str) -> dict | None:
    """The running worker's `/kpiflow/state` (ingest metrics, projector progress), or None."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base_url}/kpiflow/state", timeout=5) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())
    except OSError:
        return None
