"""Bulk rebuild with six custom KPIs (all three families) against the catalog alone, one run.

    python bench/custom_kpis_bench.py [--events 1000000]

Builds a raw event log of a simulated quarter (10 teams, 50 reps) in an embedded ClickHouse,
then builds two definition versions from it with the projector's bulk path (what `kpiflow
replay` does), each in its own process so its peak RSS is its own:
  1. the catalog alone (the baseline),
  2. the catalog plus six custom KPIs: two over activities, two over leads, two over deals,
and prints seconds, events/s, peak RSS and the ratio custom / catalog of events/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TZ = ZoneInfo("Europe/Amsterdam")
CUSTOM = {
    "show_appointments": {
        "kind": "result",
        "description": "meetings and intakes with trade-show leads",
        "base": "activities",
        "where": {
            "activity_type": ["meeting", "intake"],
            "lead.channel": {"prefix": "trade-show:"},
        },
    },
    "list_followups": {
        "kind": "action",
        "description": "outbound contacts with the old lead list",
        "base": "outbound_contacts",
        "where": {"lead.channel": "outbound-list"},
    },
    "show_leads": {
        "kind": "result",
        "description": "leads from trade shows",
        "base": "leads_created",
        "where": {"lead.channel": {"prefix": "trade-show:"}},
    },
    "referral_qualified": {
        "kind": "result",
        "description": "qualified referral leads",
        "base": "qualified_leads",
        "where": {"lead.channel": "referral"},
    },
    "show_new_business": {
        "kind": "result",
        "description": "won new business from trade-show leads",
        "base": "won_value",
        "where": {"lead.channel": {"prefix": "trade-show:"}, "deal.kind": "new_business"},
    },
    "enterprise_close_rate": {
        "description": "close rate of enterprise deals",
        "base": "close_rate",
        "where": {"deal.product": "enterprise"},
    },
}


def _child(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load(path: Path, events: int) -> dict:
    from bench.replay_bench import load_raw_log
    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.store import ClickHouseStore

    store = ClickHouseStore(f"chdb://{path}", "bench")
    apply_migrations(store)
    t = time.perf_counter()
    n = load_raw_log(store, events)
    return {"events": n, "seconds": time.perf_counter() - t}


def build(path: Path, custom: bool) -> dict:
    from kpiflow.projections.definitions import Definition
    from kpiflow.projections.replay import build_offline
    from kpiflow.projections.store import ClickHouseStore
    from kpiflow.projections.versions import register

    store = ClickHouseStore(f"chdb://{path}", "bench")
    wanted = Definition.model_validate(
        {"description": "custom" if custom else "catalog", "kpis": CUSTOM if custom else {}}
    )
    if not custom:  # the catalog alone must differ from version 1 to register: one point more
        wanted = wanted.model_copy(update={"points": {**wanted.points, "demo": 9}})
    definition = register(store, wanted)
    t = time.perf_counter()
    build_offline(store, definition, TZ)
    seconds = time.perf_counter() - t
    rows = int(
        store.scalar(
            "SELECT count() FROM {db}.kpi_values_all_versions "
            "WHERE definition_version = {v:UInt32}",
            {"v": definition.version},
        )
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rows": rows, "rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["load", "catalog", "custom"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path = Path(args.path)
        out = (
            load(path, args.events) if args.child == "load" else build(path, args.child == "custom")
        )
        print(json.dumps(out))
        return
    path = Path(tempfile.mkdtemp(prefix="kpiflow-bench-custom-"))
    loaded = _child(["--child", "load", "--path", str(path), "--events", str(args.events)])
    n = loaded["events"]
    print(f"raw log: {n} events loaded in {loaded['seconds']:.1f}s (setup, not measured)")
    catalog = _child(["--child", "catalog", "--path", str(path)])
    custom = _child(["--child", "custom", "--path", str(path)])
    for name, r in (("catalog alone", catalog), ("catalog + 6 custom KPIs", custom)):
        print(
            f"{name}: {r['seconds']:.2f}s, {n / r['seconds']:,.0f} events/s, {r['rows']} rows, "
            f"peak RSS {r['rss_mb']:.0f} MiB"
        )
    ratio = catalog["seconds"] / custom["seconds"]
    print(f"ratio custom / catalog (events/s): {ratio:.2f}x (aim: at least 0.80x)")
    print(f"RSS custom / catalog: {custom['rss_mb'] / catalog['rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
