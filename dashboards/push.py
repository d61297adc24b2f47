"""Upload dashboards to a running Grafana (HTTP API, grafana-client) and check a Grafana has them.

Use this for a Grafana that does not read the provisioning files. Dashboards that Grafana
provisioned from files cannot be overwritten through the API; Grafana refuses, and the error
says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from kpiflow.dashboards.coaching_board import FOLDER_TITLE as COACHING_TITLE
from kpiflow.dashboards.coaching_board import FOLDER_UID as COACHING_UID
from kpiflow.dashboards.defaults import FOLDER_TITLE, FOLDER_UID, Board
from kpiflow.errors import ConfigError, RuntimeServiceError

T = TypeVar("T")


@dataclass(frozen=True)
class Grafana:
    """Where Grafana is and how to authenticate (KPIFLOW_GRAFANA_URL, KPIFLOW_GRAFANA_TOKEN)."""

    url: str
    token: str | None = None
    timeout: float = 10.0

    def api(self):
        from grafana_client import GrafanaApi

        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"KPIFLOW_GRAFANA_URL {self.url!r} must start with http:// or https://"
            )
        return GrafanaApi.from_url(self.url, credential=self.token or None, timeout=self.timeout)


def _call(grafana: Grafana, what: str, fn: Callable[[], T]) -> T:
    """Run one API call; transport and auth failures become kpiflow errors that say what to do."""
    import niquests
    from grafana_client.client import (
        GrafanaException,
        GrafanaTimeoutError,
        GrafanaUnauthorizedError,
    )

    try:
        return fn()
    except (niquests.exceptions.RequestException, GrafanaTimeoutError, OSError) as exc:
        raise RuntimeServiceError(
            f"cannot reach Grafana at {grafana.url} ({what}): {exc}. Is Grafana running? "
            "Set KPIFLOW_GRAFANA_URL to its address."
        ) from None
    except GrafanaUnauthorizedError:
        raise ConfigError(
            f"Grafana at {grafana.url} refused the credentials ({what}): "
            "set KPIFLOW_GRAFANA_TOKEN to a "
            "service account token (role Editor for push, Viewer for check)."
        ) from None
    except GrafanaException as exc:
        if exc.status_code == 0:  # transport error wrapped by grafana-client
            raise RuntimeServiceError(
                f"cannot reach Grafana at {grafana.url} ({what}): {exc}"
            ) from None
        raise


def _status(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


# The coaching folder is for managers: when push creates it, only Editors (view) and Admins
# (admin) may open it, so a Viewer account such as the office TV's never sees per-rep insight.
# Grafana's folder permission levels: 1 view, 2 edit, 4 admin.
COACHING_PERMISSIONS = [{"role": "Editor", "permission": 1}, {"role": "Admin", "permission": 4}]
FOLDER_TITLES = {FOLDER_UID: FOLDER_TITLE, COACHING_UID: COACHING_TITLE}


def ensure_folder(grafana: Grafana, api: Any, uid: str = FOLDER_UID) -> None:
    from grafana_client.client import GrafanaClientError

    try:
        _call(grafana, "read folder", lambda: api.folder.get_folder(uid))
    except GrafanaClientError as exc:
        if _status(exc) != 404:
            raise RuntimeServiceError(f"Grafana refused to read folder {uid!r}: {exc}") from None
        _call(
            grafana,
            "create folder",
            lambda: api.folder.create_folder(FOLDER_TITLES[uid], uid=uid),
        )
        if uid == COACHING_UID:
            _call(
                grafana,
                "restrict the coaching folder",
                lambda: api.folder.update_folder_permissions(uid, COACHING_PERMISSIONS),
            )


def push(
    grafana: Grafana, boards: Sequence[Board], message: str = "kpiflow dashboards push"
) -> list[str]:
    """Create or overwrite every board in its folder (KPI Flow, or KPI Flow coaching for the
    coaching board); returns the dashboards' URLs."""
    from grafana_client.client import GrafanaClientError

    if not grafana.token:
        raise ConfigError(
            "pushing dashboards needs a token: set KPIFLOW_GRAFANA_TOKEN (service account, Editor)"
        )
    api = grafana.api()
    for folder in sorted({board.folder for board in boards}):
        ensure_folder(grafana, api, folder)
    urls = []
    for board in boards:
        payload = {
            "dashboard": {**board.json, "id": None},
            "folderUid": board.folder,
            "overwrite": True,
            "message": message,
        }
        try:
            answer = _call(
                grafana, f"save {board.uid}", lambda p=payload: api.dashboard.update_dashboard(p)
            )
        except GrafanaClientError as exc:
            hint = ""
            if "provision" in str(exc).lower():
                hint = " (it is provisioned from files: rebuild the files instead of pushing)"
            raise RuntimeServiceError(
                f"Grafana refused dashboard {board.uid}: {exc}{hint}"
            ) from None
        urls.append(str(answer.get("url", board.uid)) if isinstance(answer, dict) else board.uid)
    return urls


@dataclass(frozen=True)
class Finding:
    item: str
    ok: bool
    detail: str


def _sql_of(board_json: dict[str, Any]) -> list[str]:
    return sorted(
        target.get("rawSql", "")
        for panel in board_json.get("panels", [])
        for target in panel.get("targets", []) or []
    )


def check(grafana: Grafana, boards: Sequence[Board], datasource_uid: str) -> list[Finding]:
    """Does Grafana have every board (same title and panel SQL) and a healthy data source?"""
    from grafana_client.client import GrafanaBadInputError, GrafanaClientError, GrafanaServerError

    api = grafana.api()
    findings: list[Finding] = []
    try:
        _call(
            grafana,
            "read data source",
            lambda: api.datasource.get_datasource_by_uid(datasource_uid),
        )
        health = _call(grafana, "data source health", lambda: api.datasource.health(datasource_uid))
        status = str(health.get("status", "")) if isinstance(health, dict) else str(health)
        message = health.get("message", "") if isinstance(health, dict) else ""
        findings.append(
            Finding(
                f"data source {datasource_uid}",
                status.upper() == "OK",
                f"{status} {message}".strip(),
            )
        )
    except (
        GrafanaBadInputError,
        GrafanaServerError,
    ) as exc:  # health answers 400/500 when unhealthy
        findings.append(
            Finding(f"data source {datasource_uid}", False, f"health check failed: {exc}")
        )
    except GrafanaClientError as exc:
        findings.append(Finding(f"data source {datasource_uid}", False, f"not found ({exc})"))

    for board in boards:
        try:
            answer = _call(
                grafana, f"read {board.uid}", lambda b=board: api.dashboard.get_dashboard(b.uid)
            )
        except GrafanaClientError as exc:
            findings.append(Finding(f"dashboard {board.uid}", False, f"missing ({exc})"))
            continue
        live = answer.get("dashboard", {}) if isinstance(answer, dict) else {}
        if live.get("title") != board.title:
            findings.append(
                Finding(f"dashboard {board.uid}", False, f"title is {live.get('title')!r}")
            )
        elif _sql_of(live) != _sql_of(board.json):
            findings.append(
                Finding(
                    f"dashboard {board.uid}",
                    False,
                    "present, but its panel SQL differs: rebuild or push",
                )
            )
        else:
            findings.append(Finding(f"dashboard {board.uid}", True, "present and up to date"))
    return findings
