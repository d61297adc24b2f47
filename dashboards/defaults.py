"""Shared defaults of every kpiflow dashboard: data source, query type, variables, annotations.

Panel SQL is written for the ClickHouse data source (`grafana-clickhouse-datasource`, v4) with
unqualified table names: the data source's default database must be the kpiflow database.
Template variables used in SQL (always with an explicit format):

- `${team:singlequote}`  the selected team ids, hex-encoded (`variable_value`), quoted, comma
  separated: compare with `hex(team_id)`
- `${rep:singlequote}`   the selected rep ids, the same way
- `${grain:singlequote}` the period grain of kpi_values ('day', 'week', 'month', 'quarter')
- `${tz:singlequote}`    the reporting time zone (a hidden constant set at build time)

and the data source's macros `$__timeFilter(col)`, `$__dateFilter(col)`, `$__fromTime`,
`$__toTime`, `$__timeInterval(col)` and `$__interval_s` (see `dashboards/macros.py`).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any, Self

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as model

DATASOURCE_TYPE = "grafana-clickhouse-datasource"
DEFAULT_DATASOURCE_UID = "kpiflow-clickhouse"
TAG = "kpiflow"
FOLDER_UID = "kpiflow"
FOLDER_TITLE = "KPI Flow"

# The ClickHouse data source's `format` (sqlutil.FormatQueryOption) and `queryType` values.
FORMAT_TIME_SERIES = 0
FORMAT_TABLE = 1

# Grafana unit ids that exist for a currency; anything else is shown with a suffix.
_CURRENCY_UNITS = {
    "BRL",
    "CHF",
    "CZK",
    "DKK",
    "EUR",
    "GBP",
    "INR",
    "JPY",
    "NOK",
    "PLN",
    "SEK",
    "USD",
    "ZAR",
}


@dataclass(frozen=True)
class Options:
    """What a build depends on besides the catalog: where the data is and how to show it."""

    datasource_uid: str = DEFAULT_DATASOURCE_UID
    timezone: str = "UTC"
    currency: str = "EUR"

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        return cls(
            datasource_uid=settings.grafana.datasource_uid,
            timezone=settings.pipeline.timezone,
            currency=settings.pipeline.currency,
        )

    @property
    def money_unit(self) -> str:
        if self.currency in _CURRENCY_UNITS:
            return f"currency{self.currency}"
        return f"suffix: {self.currency}"


DATASOURCE_VARIABLE = "datasource"


def datasource(opts: Options) -> model.DataSourceRef:  # noqa: ARG001 - one ref for every board
    """Every panel, query variable and annotation reads the data source the dashboard's
    `datasource` variable names: provisioned, it is `opts.datasource_uid`; imported through
    Grafana's UI, the importer picks one."""
    return model.DataSourceRef(type_val=DATASOURCE_TYPE, uid="${" + DATASOURCE_VARIABLE + "}")


def datasource_variable(opts: Options) -> dash.DatasourceVariable:
    return (
        dash.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Data source")
        .type(DATASOURCE_TYPE)
        .current(
            model.VariableOption(selected=True, text=opts.datasource_uid, value=opts.datasource_uid)
        )
    )


def coaching_datasource_uid(datasource_uid: str) -> str:
    """The coaching board's data source: the same server, a user that may read the coaching
    views (the shared data source's user may not)."""
    return f"{datasource_uid}-coaching"


# ---------------------------------------------------------------------------------------------
# The ClickHouse query of a panel
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sql:
    """The SQL of one panel and the columns the panel reads from its result.

    `time_series` asks the data source for a time series frame (long rows `time, label, value`
    become one series per label); otherwise the result is a table.
    """

    text: str
    columns: tuple[str, ...]
    time_series: bool = False

    @property
    def clean(self) -> str:
        return textwrap.dedent(self.text).strip()


class ClickHouseQuery(cogvariants.Dataquery):
    """A raw-SQL target of the ClickHouse data source, as the plugin stores it in dashboards."""

    def __init__(
        self,
        ref_id: str = "A",
        raw_sql: str = "",
        format_val: int = FORMAT_TABLE,
        query_type: str = "table",
        datasource: model.DataSourceRef | None = None,
        hide: bool | None = None,
        columns: tuple[str, ...] = (),
    ) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.query_type = query_type
        self.datasource = datasource
        self.hide = hide
        self.columns = columns  # for tests only; not part of the JSON

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "editorType": "sql",
            "format": self.format_val,
            "queryType": self.query_type,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ds = data.get("datasource")
        return cls(
            ref_id=data.get("refId", "A"),
            raw_sql=data.get("rawSql", ""),
            format_val=data.get("format", FORMAT_TABLE),
            query_type=data.get("queryType", "table"),
            datasource=model.DataSourceRef.from_json(ds) if ds is not None else None,
            hide=data.get("hide"),
        )


class ClickHouseTarget(cogbuilder.Builder[ClickHouseQuery]):
    def __init__(self, opts: Options, sql: Sql, ref_id: str = "A") -> None:
        self._internal = ClickHouseQuery(
            ref_id=ref_id,
            raw_sql=sql.clean,
            format_val=FORMAT_TIME_SERIES if sql.time_series else FORMAT_TABLE,
            query_type="timeseries" if sql.time_series else "table",
            datasource=datasource(opts),
            columns=sql.columns,
        )

    def build(self) -> ClickHouseQuery:
        return self._internal


def register_query_variant() -> None:
    """Let the SDK decode ClickHouse targets (for model round trips); idempotent."""
    from grafana_foundation_sdk.cog import runtime

    runtime.register_dataquery_variant(
        runtime.DataqueryConfig(
            identifier=DATASOURCE_TYPE, from_json_hook=ClickHouseQuery.from_json
        )
    )


# ---------------------------------------------------------------------------------------------
# Panel defaults: every panel gets the data source, its one target, a size and a description
# ---------------------------------------------------------------------------------------------


def prepare(panel, opts: Options, title: str, sql: Sql, *, w: int, h: int, description: str):
    """Apply the defaults every kpiflow panel shares; returns the same builder."""
    return (
        panel.title(title)
        .description(description)
        .datasource(datasource(opts))
        .with_target(ClickHouseTarget(opts, sql))
        .span(w)
        .height(h)
    )


def bottom_legend(show: bool = True) -> cb.VizLegendOptions:
    """A list legend under the panel, without calculations."""
    return (
        cb.VizLegendOptions()
        .show_legend(show)
        .display_mode(cm.LegendDisplayMode.LIST)
        .placement(cm.LegendPlacement.BOTTOM)
        .calcs([])
    )


def time_series(
    opts: Options,
    title: str,
    sql: Sql,
    *,
    label: str | None,
    unit: str,
    bars: bool = False,
    w: int = 12,
    h: int = 8,
    description: str,
) -> timeseries.Panel:
    """A time series panel with kpiflow's look: bars for per-period amounts, lines otherwise.

    `label` is the column whose values name the series (long format), or None for one series.
    """
    panel = (
        prepare(timeseries.Panel(), opts, title, sql, w=w, h=h, description=description)
        .unit(unit)
        .legend(bottom_legend())
        .tooltip(
            cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)
        )
        .show_points(cm.VisibilityMode.AUTO)
        .span_nulls(False)
    )
    if bars:
        panel = (
            panel.draw_style(cm.GraphDrawStyle.BARS)
            .fill_opacity(80)
            .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL).group("A"))
        )
    else:
        panel = panel.draw_style(cm.GraphDrawStyle.LINE).line_width(2).fill_opacity(10)
    if label:
        panel = panel.display_name(by_label(label))
    return panel


def prop(key: str, value: object) -> model.DynamicConfigValue:
    """One field-config property of an override, e.g. prop("unit", "percentunit")."""
    return model.DynamicConfigValue(id_val=key, value=value)


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


PACE_THRESHOLDS = ((None, "red"), (0.9, "orange"), (1.0, "green"))

ON_TRACK_MAPPING = model.ValueMap(
    options={
        "0": model.ValueMappingResult(text="BEHIND", color="red", index=0),
        "1": model.ValueMappingResult(text="ON TRACK", color="green", index=1),
    }
)


def by_label(label: str) -> str:
    """Display name of a long-format series: the value of its label column."""
    return "${__field.labels." + label + "}"


# ---------------------------------------------------------------------------------------------
# Variables
# ---------------------------------------------------------------------------------------------

# Team and rep variables carry each id hex-encoded as their value (the id itself is the text
# shown): the data source uses a two-column result's first column as the value, second as the
# text. Grafana's quoting formats escape a quote but not a backslash, so an id like x\' could end
# a ClickHouse string early; a hex value cannot. Panels therefore compare hex(column) with the
# selection: `hex(team_id) IN (${team:singlequote})`.
TEAMS = Sql(
    columns=("value", "dimension"),
    text="""
        SELECT DISTINCT hex(dimension) AS value, dimension
        FROM kpi_values
        WHERE dimension_kind = 'team'
        ORDER BY dimension
    """,
)


def variable_value(dimension_id: str) -> str:
    """The value a team or rep variable carries for an id: ClickHouse's hex() of its UTF-8."""
    return dimension_id.encode("utf-8").hex().upper()


def team_variable(opts: Options, *, multi: bool = True) -> dash.QueryVariable:
    variable = (
        dash.QueryVariable("team")
        .label("Team")
        .datasource(datasource(opts))
        .query(TEAMS.clean)
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        variable = variable.current(
            model.VariableOption(selected=True, text=["All"], value=["$__all"])
        )
    return variable


# Reps seen in the range in the selected teams (the raw log knows which team a rep logged for).
REPS = Sql(
    columns=("value", "rep_id"),
    text="""
        SELECT DISTINCT hex(rep_id) AS value, rep_id
        FROM raw_events
        WHERE hex(team_id) IN (${team:singlequote}) AND $__timeFilter(occurred_at)
        ORDER BY rep_id
    """,
)


def rep_variable(opts: Options) -> dash.QueryVariable:
    return (
        dash.QueryVariable("rep")
        .label("Rep")
        .datasource(datasource(opts))
        .query(REPS.clean)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def grain_variable(choices: tuple[str, ...], default: str) -> dash.CustomVariable:
    return (
        dash.CustomVariable("grain")
        .label("Period")
        .values(",".join(choices))
        .current(model.VariableOption(selected=True, text=default, value=default))
        .options([model.VariableOption(selected=c == default, text=c, value=c) for c in choices])
    )


def constant(name: str, value: str) -> dash.ConstantVariable:
    return dash.ConstantVariable(name).value(value)


def tz_variable(opts: Options) -> dash.ConstantVariable:
    """The reporting time zone, for period starts and 'today' (hidden)."""
    return constant("tz", opts.timezone)


# ---------------------------------------------------------------------------------------------
# Annotations: plan changes and definition promotions, on every dashboard
# ---------------------------------------------------------------------------------------------

PLAN_CHANGES = Sql(
    columns=("time", "text", "tags"),
    text="""
        SELECT
            toDateTime(changed_on, ${tz:singlequote}) AS time,
            concat(
                'Plan ', toString(toYear(quarter_start)), '-Q', toString(toQuarter(quarter_start)),
                ' revision ', toString(plan_revision), if(reason = '', '', concat(': ', reason))
            ) AS text,
            'plan' AS tags
        FROM plan_changes FINAL
        WHERE $__dateFilter(changed_on)
        ORDER BY time
    """,
)

PROMOTIONS = Sql(
    columns=("time", "text", "tags"),
    text="""
        SELECT
            promoted_at AS time,
            concat('KPI definitions v', toString(from_version), ' -> v', toString(to_version),
                   if(note = '', '', concat(': ', note))) AS text,
            'definitions' AS tags
        FROM promotions
        WHERE $__timeFilter(promoted_at)
        ORDER BY time
    """,
)


class _QueryAnnotationTarget(model.AnnotationTarget):
    """An annotation whose target is a data source query (how Grafana stores SQL annotations)."""

    def __init__(self, query: ClickHouseQuery) -> None:
        super().__init__()
        self.query = query

    def to_json(self) -> dict[str, object]:
        return self.query.to_json()


class _AnnotationTargetBuilder(cogbuilder.Builder[model.AnnotationTarget]):
    def __init__(self, opts: Options, sql: Sql, ref_id: str) -> None:
        self._internal = _QueryAnnotationTarget(ClickHouseTarget(opts, sql, ref_id).build())

    def build(self) -> model.AnnotationTarget:
        return self._internal


def query_annotation(opts: Options, name: str, sql: Sql, ref_id: str, colour: str):
    """An annotation from a SQL query of the data source."""
    return (
        dash.AnnotationQuery()
        .name(name)
        .datasource(datasource(opts))
        .enable(True)
        .icon_color(colour)
        .target(_AnnotationTargetBuilder(opts, sql, ref_id))
    )


def annotations(opts: Options) -> list[dash.AnnotationQuery]:
    builtin = (
        dash.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
        .enable(True)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
        .built_in(1)
    )
    plan = query_annotation(opts, "Plan changes", PLAN_CHANGES, "PlanChanges", "purple")
    promotions = query_annotation(opts, "Definition promotions", PROMOTIONS, "Promotions", "orange")
    return [builtin, plan, promotions]


# ---------------------------------------------------------------------------------------------
# Links and the dashboard itself
# ---------------------------------------------------------------------------------------------


def links() -> list[dash.DashboardLink]:
    return [
        dash.DashboardLink("KPI Flow dashboards")
        .type(model.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
        .target_blank(False)
        .icon("external link")
        .tooltip("")
        .url("")
    ]


def dashboard(
    opts: Options,
    *,
    uid: str,
    title: str,
    description: str,
    tags: tuple[str, ...],
    time_from: str,
    refresh: str,
) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG, *tags])
        .timezone(opts.timezone)
        .time(time_from, "now")
        .refresh(refresh)
        .timepicker(
            dash.TimePicker().refresh_intervals(["5s", "10s", "30s", "1m", "5m", "15m", "1h"])
        )
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .links(links())
        .annotations(annotations(opts))
        .with_variable(datasource_variable(opts))
    )


@dataclass(frozen=True)
class Query:
    """One SQL statement of a built dashboard (panel, variable or annotation), for tests."""

    dashboard_uid: str
    where: str  # "panel 3: Pace", "variable team", "annotation Plan changes"
    sql: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Board:
    """A built dashboard: its JSON object and every SQL statement in it."""

    uid: str
    title: str
    json: dict[str, Any]
    queries: tuple[Query, ...]
    folder: str = FOLDER_UID  # the Grafana folder (uid) it is provisioned into

    @property
    def filename(self) -> str:
        return f"{self.uid}.json"


VARIABLE_SQL = {"team": TEAMS, "rep": REPS}


def finish(
    builder: dash.Dashboard,
    *,
    folder: str = FOLDER_UID,
    variable_sql: dict[str, Sql] | None = None,
) -> Board:
    """The dashboard as a plain JSON object, panels numbered 1..n in layout order.

    `variable_sql` names the SQL of query variables other than the shared team and rep ones."""
    known = VARIABLE_SQL | (variable_sql or {})
    board = builder.build()
    queries: list[Query] = []
    for number, panel in enumerate(board.panels or [], start=1):
        panel.id_val = number
        for target in panel.targets or []:
            if isinstance(target, ClickHouseQuery):
                queries.append(
                    Query(
                        board.uid, f"panel {number}: {panel.title}", target.raw_sql, target.columns
                    )
                )
    for variable in board.templating.list_val if board.templating else []:
        if variable.name in known:
            sql = known[variable.name]
            queries.append(Query(board.uid, f"variable {variable.name}", sql.clean, sql.columns))
    for annotation in board.annotations.list_val if board.annotations else []:
        if isinstance(annotation.target, _QueryAnnotationTarget):
            q = annotation.target.query
            queries.append(Query(board.uid, f"annotation {annotation.name}", q.raw_sql, q.columns))
    as_json = json.loads(json.dumps(board, cls=JSONEncoder))
    return Board(board.uid, board.title, as_json, tuple(queries), folder)


def to_text(board: dict[str, Any]) -> str:
    """Sorted, stable JSON text: the same dashboard always gives the same bytes."""
    return json.dumps(board, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
