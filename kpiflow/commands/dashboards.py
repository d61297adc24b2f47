"""kpiflow dashboards build | push | check: Grafana dashboards generated from the KPI catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kpiflow.commands.common import console, err_console, settings
from kpiflow.errors import ConfigError
from kpiflow.settings import without_url_password

group = typer.Typer(
    name="dashboards",
    help=(
        "Grafana dashboards as code: a KPI Flow wallboard per team, sales activity, pipeline and "
        "velocity, growth and customers. See docs/dashboards.md."
    ),
    no_args_is_help=True,
)

TeamsOption = Annotated[
    str | None,
    typer.Option(
        "--teams",
        envvar="KPIFLOW_DASHBOARD_TEAMS",
        help="comma-separated team ids, one wallboard each; default: the teams in "
        "ClickHouse's kpi_values",
        show_envvar=True,
    ),
]
LeaderboardOption = Annotated[
    list[str] | None,
    typer.Option(
        "--leaderboard",
        help="KPI or KPI/grain that a wallboard ranks reps on (action or result KPIs only; "
        "repeat for two); default: activity_points/week and won_value/quarter",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="KPIFLOW_GRAFANA_URL", help="Grafana URL", show_envvar=True),
]


def _teams(teams: str | None) -> list[str]:
    if teams is not None:
        return [t for t in (part.strip() for part in teams.split(",")) if t]
    from kpiflow.dashboards.build import discover_teams
    from kpiflow.projections.store import open_store

    store = open_store(settings())
    try:
        return discover_teams(store)
    finally:
        store.close()


def _boards(teams: str | None, leaderboards: list[str] | None):
    from kpiflow.dashboards.build import build_all
    from kpiflow.dashboards.defaults import Options
    from kpiflow.dashboards.panels.leaderboard import DEFAULT_LEADERBOARDS, Leaderboard

    boards_spec = (
        tuple(Leaderboard.parse(text) for text in leaderboards)
        if leaderboards
        else DEFAULT_LEADERBOARDS
    )
    if len(boards_spec) > 2:
        raise ConfigError("a wallboard has room for at most two --leaderboard")
    try:
        return build_all(Options.from_settings(settings()), _teams(teams), boards_spec)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _grafana(url: str | None):
    from kpiflow.dashboards.push import Grafana

    g = settings().grafana
    return Grafana(url=url or g.url, token=g.token.get_secret_value() if g.token else None)


def build(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            envvar="KPIFLOW_DASHBOARDS_DIR",
            show_envvar=True,
            help="folder for the JSON files, read by Grafana's file provider "
            "(default: KPIFLOW_DATA_DIR/dashboards)",
        ),
    ] = None,
    coaching_out: Annotated[
        Path | None,
        typer.Option(
            "--coaching-out",
            help="folder for the coaching board, provisioned into its own Grafana folder for "
            "managers (default: beside --out, named <out>-coaching; docs/coaching.md)",
        ),
    ] = None,
    teams: TeamsOption = None,
    leaderboard: LeaderboardOption = None,
    provisioning: Annotated[
        Path | None,
        typer.Option(
            "--provisioning",
            help="also write Grafana provisioning files (data source, "
            "dashboard providers, alert rules) for the configured data source uid to this folder",
        ),
    ] = None,
) -> None:
    """Write every dashboard as sorted, stable JSON, one <uid>.json each.

    The same input always gives the same bytes.

    Data source uid: KPIFLOW_GRAFANA_DATASOURCE_UID (default kpiflow-clickhouse).
    Time zone and currency: KPIFLOW_TIMEZONE, KPIFLOW_CURRENCY.
    Without --teams the teams are read from ClickHouse (KPIFLOW_CLICKHOUSE_*).
    A team-picker wallboard is always written.
    """
    from kpiflow.dashboards.build import write

    boards = _boards(teams, leaderboard)
    target = out or settings().pipeline.data_dir / "dashboards"
    paths = write(boards, target, coaching_out)
    for path in paths:
        console.print(f"wrote {path}")
    if provisioning is not None:
        from kpiflow.dashboards import provision

        for path in provision.write(provisioning, settings().grafana.datasource_uid):
            console.print(f"wrote {path}")
    wallboards = sum(1 for b in boards if b.uid.startswith("kpiflow-wb-"))
    if not wallboards:
        err_console.print(
            "[yellow]no teams yet[/]: only the team-picker wallboard was written; "
            "rebuild once data has arrived, or pass --teams"
        )


def push(
    teams: TeamsOption = None,
    leaderboard: LeaderboardOption = None,
    url: UrlOption = None,
) -> None:
    """Upload the dashboards to a running Grafana, folder "KPI Flow" (overwrites).

    Grafana: KPIFLOW_GRAFANA_URL (or --url).
    Needs KPIFLOW_GRAFANA_TOKEN, a service account token with the Editor role.
    A Grafana that reads the provisioning files gets them from `build` instead:
    provisioned dashboards cannot be pushed.
    """
    from kpiflow.dashboards.push import push as push_boards

    boards = _boards(teams, leaderboard)
    grafana = _grafana(url)
    base = without_url_password(grafana.url).rstrip("/")
    for link in push_boards(grafana, boards):
        console.print(f"pushed {base}{link if link.startswith('/') else '/d/' + link}")


def check(
    teams: TeamsOption = None,
    leaderboard: LeaderboardOption = None,
    url: UrlOption = None,
) -> None:
    """Verify a live Grafana: every dashboard present and current, data source healthy.

    Grafana: KPIFLOW_GRAFANA_URL (or --url), token KPIFLOW_GRAFANA_TOKEN (Viewer).
    Data source: KPIFLOW_GRAFANA_DATASOURCE_UID (default kpiflow-clickhouse).
    Exit status 1 when something is missing or unhealthy.
    """
    from kpiflow.dashboards.push import check as check_grafana

    boards = _boards(teams, leaderboard)
    findings = check_grafana(_grafana(url), boards, settings().grafana.datasource_uid)
    table = Table(title=f"Grafana at {without_url_password(_grafana(url).url)}")
    table.add_column("item")
    table.add_column("ok")
    table.add_column("detail")
    for f in findings:
        table.add_row(f.item, "[green]yes[/]" if f.ok else "[red]no[/]", f.detail)
    console.print(table)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group.command()(build)
    group.command()(push)
    group.command()(check)
    app.add_typer(group, name="dashboards")
