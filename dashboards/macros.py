"""Turn a panel's SQL into what ClickHouse receives from Grafana, so tests can run it.

Two steps, in Grafana's order:

1. Template variables, replaced by Grafana's front end (`templateSrv.replace`) before the query
   leaves the browser: `${name:format}`, `${name}`, `$name`, `[[name]]`. The formats used by
   kpiflow are implemented as Grafana defines them: `singlequote` ('a','b', a quote inside a
   value escaped as \\'), `sqlstring` ('a','b', a quote doubled), `csv` and `raw` (a,b). A
   variable without a format is refused here: kpiflow SQL always names the format, because the
   default depends on the data source.
2. The ClickHouse data source's macros, expanded by the plugin's back end. The expansions follow
   the plugin's `pkg/macros/macros.go` (grafana/clickhouse-datasource v4):

   $__fromTime            toDateTime(<from, unix seconds>)
   $__toTime              toDateTime(<to, unix seconds>)
   $__fromTime_ms         fromUnixTimestamp64Milli(<from, unix ms>)
   $__toTime_ms           fromUnixTimestamp64Milli(<to, unix ms>)
   $__timeFilter(c)       c >= toDateTime(<from>) AND c <= toDateTime(<to>)
   $__timeFilter_ms(c)    c >= fromUnixTimestamp64Milli(<from>)
                          AND c <= fromUnixTimestamp64Milli(<to>)
   $__dateFilter(c)       c >= toDate('<from date>') AND c <= toDate('<to date>')
   $__dateTimeFilter(d, t) and its alias $__dt(d, t)
                          (d >= toDate(..) AND d <= toDate(..))
                          AND (t >= toDateTime(..) AND t <= toDateTime(..))
   $__timeInterval(c)     toStartOfInterval(toDateTime(c), INTERVAL <interval s, at least 1> second)
   $__timeInterval_ms(c)  toStartOfInterval(toDateTime64(c, 3),
                                            INTERVAL <interval ms, at least 1> millisecond)
   $__interval_s          <interval s, at least 1>

   Dates are formatted in the time zone of the plugin process, UTC in the official Grafana
   image; this module uses UTC. Macro arguments are split on commas and trimmed. Nested
   parentheses inside macro arguments are refused here, because older plugin versions (regular
   expression matching) and newer ones (balanced parentheses) read them differently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class MacroError(ValueError):
    """The SQL uses a macro or variable the expansion does not know, or uses one wrongly."""


@dataclass(frozen=True)
class QueryContext:
    """What Grafana knows when it runs a panel: time range, interval, variable values."""

    time_from: datetime
    time_to: datetime
    interval: timedelta = timedelta(hours=1)
    variables: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time_from.tzinfo is None or self.time_to.tzinfo is None:
            raise MacroError("the time range must be timezone-aware")


# --- 1. template variables (Grafana front end) ------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?P<plain>\w+)"
    r"|\[\[(?P<bracket>\w+?)(?::(?P<bracket_fmt>\w+))?\]\]"
    r"|\$\{(?P<braced>\w+)(?:\.(?P<path>[^:^}]+))?(?::(?P<fmt>[^}]+))?\}"
)


def _values(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _format(name: str, value: str | Sequence[str], fmt: str | None) -> str:
    values = _values(value)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt in ("csv", "raw"):
        return ",".join(values)
    raise MacroError(
        f"variable {name!r} is used {'without a format' if fmt is None else f'with {fmt!r}'};"
        " kpiflow SQL writes ${name:singlequote}, ${name:sqlstring}, ${name:csv} or ${name:raw}"
    )


def interpolate_variables(sql: str, variables: Mapping[str, str | Sequence[str]]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["plain"] or match["bracket"] or match["braced"]
        if name not in variables:
            if name.startswith("__"):
                return match[0]  # a data source macro or a Grafana global: not ours to replace
            raise MacroError(f"SQL uses the variable {name!r}, which has no test value")
        if match["path"]:
            raise MacroError(
                f"variable field paths (${{{name}.{match['path']}}}) are not supported"
            )
        return _format(name, variables[name], match["fmt"] or match["bracket_fmt"])

    return _VARIABLE.sub(replace, sql)


# --- 2. data source macros (plugin back end) --------------------------------------------------


def _to_datetime(t: datetime) -> str:
    return f"toDateTime({int(t.timestamp())})"


def _to_datetime64(t: datetime) -> str:
    millis = int(t.timestamp() * 1000)
    return f"fromUnixTimestamp64Milli({millis})"


def _to_date(t: datetime) -> str:
    return f"toDate('{t.astimezone(UTC):%Y-%m-%d}')"


def _arity(name: str, args: list[str], count: int) -> None:
    if len(args) != count:
        raise MacroError(f"$__{name}: expected {count} argument(s), received {len(args)}")


def _expand_one(name: str, args: list[str], ctx: QueryContext) -> str:
    start, end = ctx.time_from, ctx.time_to
    seconds = int(max(ctx.interval.total_seconds(), 1))
    millis = int(max(math.floor(ctx.interval.total_seconds() * 1000), 1))
    if name == "fromTime":
        return _to_datetime(start)
    if name == "toTime":
        return _to_datetime(end)
    if name == "fromTime_ms":
        return _to_datetime64(start)
    if name == "toTime_ms":
        return _to_datetime64(end)
    if name == "timeFilter":
        _arity(name, args, 1)
        col = args[0]
        return f"{col} >= {_to_datetime(start)} AND {col} <= {_to_datetime(end)}"
    if name == "timeFilter_ms":
        _arity(name, args, 1)
        col = args[0]
        return f"{col} >= {_to_datetime64(start)} AND {col} <= {_to_datetime64(end)}"
    if name == "dateFilter":
        _arity(name, args, 1)
        col = args[0]
        return f"{col} >= {_to_date(start)} AND {col} <= {_to_date(end)}"
    if name in ("dateTimeFilter", "dt"):
        _arity(name, args, 2)
        day, time = args
        return (
            f"({day} >= {_to_date(start)} AND {day} <= {_to_date(end)}) AND "
            f"({time} >= {_to_datetime(start)} AND {time} <= {_to_datetime(end)})"
        )
    if name == "timeInterval":
        _arity(name, args, 1)
        return f"toStartOfInterval(toDateTime({args[0]}), INTERVAL {seconds} second)"
    if name == "timeInterval_ms":
        _arity(name, args, 1)
        return f"toStartOfInterval(toDateTime64({args[0]}, 3), INTERVAL {millis} millisecond)"
    if name == "interval_s":
        return str(seconds)
    raise MacroError(f"$__{name} is not a macro of the ClickHouse data source")


_MACRO = re.compile(r"\$__(\w+)")


def expand_macros(sql: str, ctx: QueryContext) -> str:
    out: list[str] = []
    pos = 0
    for match in _MACRO.finditer(sql):
        if match.start() < pos:
            continue
        name = match[1]
        args: list[str] = []
        end = match.end()
        if end < len(sql) and sql[end] == "(":
            close = sql.find(")", end)
            if close < 0:
                raise MacroError(f"$__{name}: unbalanced parentheses")
            inner = sql[end + 1 : close]
            if "(" in inner:
                raise MacroError(
                    f"$__{name}: nested parentheses in macro arguments are not portable"
                )
            args = [a.strip() for a in inner.split(",")] if inner.strip() else []
            end = close + 1
        out.append(sql[pos : match.start()])
        out.append(_expand_one(name, args, ctx))
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def expand(sql: str, ctx: QueryContext) -> str:
    """The SQL that ClickHouse receives when Grafana runs `sql` in context `ctx`."""
    return expand_macros(interpolate_variables(sql, ctx.variables), ctx)
