"""Small helpers shared by the CLI commands."""

from __future__ import annotations

from rich.console import Console

from kpiflow.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()


def worker_state(base_url: str) -> dict | None:
    """The running worker's `/kpiflow/state` (ingest metrics, projector progress), or None."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base_url}/kpiflow/state", timeout=5) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())
    except OSError:
        return None
