"""The KPI Flow rules a plan must keep, on the quarter's first day and after every change.

- 1 to 3 focus KPIs, exactly one of them the Master KPI, each KPI once;
- every focus KPI is in the catalog and has a quarter-to-date value (its grains include
  `quarter`: the month-only growth KPIs cannot be paced over a quarter);
- every focus KPI has at least one target, every target is a positive number (ratios at most 1);
- no per-rep target on an insight KPI (insight KPIs never judge reps);
- with a team scope, team targets only for teams in the scope;
- holidays and changes fall inside the quarter; changes after its first day, in date order,
  one per day, each changing something.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from kpiflow.projections.catalog import KpiSpec, find, known
from kpiflow.projections.plans.calendar import Quarter
from kpiflow.projections.plans.problems import Path, Problem

if TYPE_CHECKING:
    from kpiflow.projections.plans.model import Change, FocusKpi, Plan, Targets

MAX_FOCUS = 3


def lookup(name: str) -> tuple[KpiSpec | None, str]:
    """The catalog entry of `name`, or None and a message that lists the known KPIs."""
    spec = find(name)
    if spec is not None:
        return spec, ""
    names = list(known())
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return None, f"unknown KPI {name!r}{hint}; known: {', '.join(names)}"


def focus_kpi_problems(name: str, where: Path) -> list[Problem]:
    """Can `name` be a focus KPI at all?"""
    spec, message = lookup(name)
    if spec is None:
        return [Problem(where, message)]
    if "quarter" not in spec.grains:
        return [
            Problem(
                where,
                (
                    f"{name} is reported at {', '.join(spec.grains)} grain only, so it has no "
                    "quarter-to-date value to pace against a target; pick a KPI with a quarter "
                    "grain (e.g. new_business_value)"
                ),
            )
        ]
    return []


def target_problems(
    name: str, entries: Sequence[tuple[Path, str, str, float]], where: Path, scope: Sequence[str]
) -> list[Problem]:
    """Problems with target values set for KPI `name` (a known KPI); `entries` from Targets."""
    spec = find(name)
    if spec is None:
        return []
    problems = []
    for path, kind, dimension, value in entries:
        at = (*where, *path)
        if kind == "rep" and spec.kind == "insight":
            problems.append(
                Problem(
                    at,
                    (
                        f"{name} is an insight KPI: insight KPIs steer teams but never judge "
                        "individual reps, so a per-rep target is not allowed; set an all or team "
                        "target instead"
                    ),
                )
            )
            continue
        if not value > 0:
            problems.append(Problem(at, f"a target must be a positive number, got {value:g}"))
        elif spec.value_type == "ratio" and value > 1:
            problems.append(
                Problem(
                    at, (f"{name} is a ratio between 0 and 1; write {value:g}% as {value / 100:g}")
                )
            )
        if kind == "team" and dimension and scope and dimension not in scope:
            problems.append(
                Problem(
                    at,
                    (
                        f"team {dimension!r} is outside the plan's scope ({', '.join(scope)}); "
                        "add it to scope.teams or drop the target"
                    ),
                )
            )
    return problems


def ranked(focus: Sequence[FocusKpi]) -> tuple[FocusKpi, ...]:
    """The Master KPI first, the others in the order they joined the focus."""
    masters = [f for f in focus if f.master]
    return (*masters, *(f for f in focus if not f.master))


def shape_problems(
    focus: Sequence[FocusKpi], where: Path, when: str, indexed: bool = False
) -> list[Problem]:
    """1-3 focus KPIs, exactly one Master KPI, each with a target.

    `indexed`: `focus` is the list at `where` in the file, so a KPI's problem points at its item.
    """
    problems = []
    if not focus:
        problems.append(
            Problem(where, f"{when} there is no focus KPI; KPI Flow needs 1 to {MAX_FOCUS}")
        )
    elif len(focus) > MAX_FOCUS:
        names = ", ".join(f.kpi for f in focus)
        problems.append(
            Problem(
                where,
                (
                    f"{when} there are {len(focus)} focus KPIs ({names}); KPI Flow allows "
                    f"1 to {MAX_FOCUS}: "
                    "keep the ones that matter most this quarter"
                ),
            )
        )
    masters = [f.kpi for f in focus if f.master]
    if focus and not masters:
        problems.append(
            Problem(
                where,
                (f"{when} there is no Master KPI; mark exactly one focus KPI with `master: true`"),
            )
        )
    elif len(masters) > 1:
        problems.append(
            Problem(
                where,
                (
                    f"{when} there are {len(masters)} Master KPIs ({', '.join(masters)}); "
                    "exactly one focus "
                    "KPI is the Master KPI"
                ),
            )
        )
    for i, f in enumerate(focus):
        if f.targets.empty:
            at = (*where, i, "targets") if indexed else where
            problems.append(
                Problem(at, f"{when} focus KPI {f.kpi} has no target; give it at least one")
            )
    return problems


def apply_change(
    focus: Sequence[FocusKpi], change: Change, where: Path, scope: Sequence[str]
) -> tuple[tuple[FocusKpi, ...], list[Problem]]:
    """The focus after `change` (remove, add, master, targets) and what went wrong doing it."""
    problems: list[Problem] = []
    day = change.on.isoformat()
    current = list(focus)
    names = [f.kpi for f in current]
    for i, name in enumerate(change.remove_focus):
        if name not in names:
            problems.append(
                Problem(
                    (*where, "remove_focus", i),
                    (f"{name} is not a focus KPI on {day} (focus: {', '.join(names)})"),
                )
            )
    current = [f for f in current if f.kpi not in change.remove_focus]
    for i, added in enumerate(change.add_focus):
        at = (*where, "add_focus", i)
        found = focus_kpi_problems(added.kpi, (*at, "kpi"))
        problems += found
        if any(f.kpi == added.kpi for f in current):
            problems.append(Problem((*at, "kpi"), f"{added.kpi} is a focus KPI already on {day}"))
        elif not found:
            problems += target_problems(added.kpi, added.targets.entries(), (*at, "targets"), scope)
        current.append(added)
    new_master = change.master
    added_masters = [f.kpi for f in change.add_focus if f.master]
    if added_masters and new_master and new_master not in added_masters:
        problems.append(
            Problem(
                (*where, "master"),
                (
                    f"master says {new_master} but add_focus marks "
                    f"{', '.join(added_masters)} as master"
                ),
            )
        )
    new_master = new_master or (added_masters[0] if len(added_masters) == 1 else None)
    if new_master:
        if not any(f.kpi == new_master for f in current):
            problems.append(
                Problem(
                    (*where, "master"),
                    (f"{new_master} is not a focus KPI on {day}; add it with add_focus first"),
                )
            )
        else:
            current = [f.model_copy(update={"master": f.kpi == new_master}) for f in current]
    for name, patch in change.targets.items():
        at = (*where, "targets", name)
        index = next((i for i, f in enumerate(current) if f.kpi == name), None)
        if index is None:
            _, unknown = lookup(name)
            problems.append(
                Problem(
                    at,
                    unknown
                    or (
                        f"{name} is not a focus KPI on {day}; add it with add_focus to give it "
                        "targets"
                    ),
                )
            )
            continue
        problems += target_problems(name, patch.entries(), at, scope)
        current[index] = current[index].model_copy(
            update={"targets": patch.apply(current[index].targets)}
        )
    after = ranked(current)
    problems += shape_problems(after, where, f"after the change of {day}")
    return after, problems


def check_plan(plan: Plan) -> list[Problem]:
    """Every break of the KPI Flow rules in `plan`, each with its place in the file."""
    quarter = plan.period
    scope = plan.scope_teams
    problems: list[Problem] = []
    if scope and len(set(scope)) != len(scope):
        problems.append(Problem(("scope", "teams"), "a team is listed twice"))
    seen: set[str] = set()
    for i, f in enumerate(plan.focus):
        found = focus_kpi_problems(f.kpi, ("focus", i, "kpi"))
        problems += found
        if f.kpi in seen:
            problems.append(Problem(("focus", i, "kpi"), f"{f.kpi} is listed twice as a focus KPI"))
        seen.add(f.kpi)
        if not found:
            problems += target_problems(f.kpi, f.targets.entries(), ("focus", i, "targets"), scope)
    problems += shape_problems(plan.focus, ("focus",), "on the quarter's first day", indexed=True)
    for i, day in enumerate(plan.working_days.holidays):
        if day not in quarter:
            problems.append(
                Problem(
                    ("working_days", "holidays", i),
                    (f"holiday {day} is outside {quarter} ({quarter.start} .. {quarter.end})"),
                )
            )
    if not plan.working_dates():
        problems.append(
            Problem(("working_days",), f"{quarter} has no working day left to pace over")
        )
    focus = ranked(plan.focus)
    previous = None
    replaying = not problems  # later changes build on the state earlier ones leave
    for i, change in enumerate(plan.changes):
        where: Path = ("changes", i)
        found = _date_problems(change.on, previous, quarter, (*where, "date"))
        if change.on in quarter:
            previous = max(previous or change.on, change.on)
        if change.changes_nothing:
            found.append(
                Problem(
                    where,
                    (
                        "this change changes nothing: give targets, add_focus, remove_focus, "
                        "master or "
                        "definition_version"
                    ),
                )
            )
        if replaying and not found:
            focus, found = apply_change(focus, change, where, scope)
        problems += found
        replaying = replaying and not found
    return problems


def _date_problems(
    day: date, previous: date | None, quarter: Quarter, where: Path
) -> list[Problem]:
    if day not in quarter:
        return [
            Problem(
                where,
                (
                    f"the change dated {day} is outside {quarter} "
                    f"({quarter.start} .. {quarter.end}); "
                    "a new quarter gets its own plan file"
                ),
            )
        ]
    if day == quarter.start:
        return [
            Problem(
                where,
                (
                    f"a change on the quarter's first day ({day}) is the plan itself: edit the "
                    "focus "
                    "KPIs and targets instead"
                ),
            )
        ]
    if previous and day <= previous:
        merge = "; merge the two changes" if day == previous else ""
        return [
            Problem(
                where,
                (
                    f"changes must be in date order, one per day: {day} comes after "
                    f"{previous}{merge}"
                ),
            )
        ]
    return []


def describe(targets: Targets) -> str:
    """`all 1,000,000; team 250,000; rep 60,000; teams: north 300,000` for the terminal."""
    parts = []
    for path, kind, dimension, value in targets.entries():
        label = kind if not dimension or kind == "all" else f"{path[0]} {dimension}"
        parts.append(f"{label} {value:,.10g}")
    return "; ".join(parts)
