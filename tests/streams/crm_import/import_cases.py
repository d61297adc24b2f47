"""The example export (examples/import/) and what its rows prove, computed by hand.

Dates are month-first in America/New_York: midnight is 05:00Z before the US DST change of
2026-03-08 and 04:00Z after it. Reporting time zone UTC.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from kpiflow.events import parse_event
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import record_from_event

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "import"
DEALS = EXAMPLES / "sales_pipeline.csv"
DEALS_MAPPING = EXAMPLES / "sales_pipeline.mapping.yaml"

# month -> value, dimension all
WON_DEALS = {"2026-01-01": 1, "2026-02-01": 1, "2026-03-01": 2}
WON_VALUE = {"2026-01-01": 1200, "2026-02-01": 55, "2026-03-01": 550 + 4800}
CLOSE_RATE = {"2026-01-01": 1.0, "2026-02-01": 1 / 3, "2026-03-01": 1.0}
# OPP-001 15 d; OPP-002 10 d; March: OPP-004 46 d and OPP-007 19 d less the DST hour
VELOCITY = {"2026-01-01": 15.0, "2026-02-01": 10.0, "2026-03-01": (46 + 19 - 1 / 24) / 2}
# end of January: OPP-003 900 + OPP-004 500; February: OPP-004 500 + OPP-005 4000;
# March: OPP-005 4000 + OPP-008 60
PIPELINE = {"2026-01-01": 1400, "2026-02-01": 4500, "2026-03-01": 4060}
# OPP-002 is an upsell (Acme won OPP-001 before); OPP-007 is new business (Estrada only lost)
NEW_BUSINESS_VALUE = {"2026-01-01": 1200, "2026-03-01": 5350}
UPSELLS = {"2026-02-01": 1}
TEAM_WON_VALUE_MARCH = {"Mara Lind": 550, "Tomas Berg": 4800}

# A later export of the same CRM: OPP-005 won on 04/02 at 4200, OPP-008 lost on 04/15, a new
# OPP-009 (Corvid, won before: an upsell). New facts: 2 + 1 + 1 events.
LATER_ROWS = {
    "OPP-005": "OPP-005,Cleo Park,GTX Pro,Dunmore,Won,02/20/2026,04/02/2026,4000,4200",
    "OPP-008": 'OPP-008,Ana Ruiz,MG Special,"Fenwick, Inc.",Lost,03/10/2026,04/15/2026,60,0',
}
NEW_ROW = "OPP-009,Ben Okafor,GTX Basic,Corvid,Engaging,04/01/2026,,700,"
LATER_NEW_EVENTS = 4
APRIL = {
    "won_deals": 1,
    "won_value": 4200,
    "close_rate": 0.5,
    "deal_velocity_days": 41 - 1 / 24,
    "pipeline_value": 700,
}


def later_export(tmp: Path) -> Path:
    lines = DEALS.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        out.append(LATER_ROWS.get(line.split(",")[0], line))
    out.append(NEW_ROW)
    path = tmp / "sales_pipeline_later.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def kpi_rows(events: list[dict]) -> dict[tuple, float]:
    """(kpi, grain, period, dimension kind, dimension) -> value, by the pure engine."""
    engine = KpiEngine(DEFAULT_DEFINITION, ZoneInfo("UTC"))
    records = [
        record_from_event(parse_event(json.dumps(e), "EUR"), seq) for seq, e in enumerate(events)
    ]
    engine.apply(records)
    return {
        (r.kpi, r.grain, r.period_start.isoformat(), r.dimension_kind, r.dimension): float(r.value)
        for r in engine.rows()
    }


def month_values(rows: dict[tuple, float], kpi: str, kind: str = "all") -> dict[str, float]:
    return {
        period: value
        for (name, grain, period, dim_kind, _dim), value in rows.items()
        if name == kpi and grain == "month" and dim_kind == kind
    }
