"""A seeded, deterministic sales org that produces v1 events (pure Python, no Kafka).

    cfg = OrgConfig(teams=3, reps_per_team=4, seed=42, start=date(2026, 7, 1))
    for event in simulate_history(cfg): ...          # JSON-ready dicts, sorted by occurred_at
    for at, event in simulate_live(cfg, now, 5.0): ...  # (seconds after `now`, event), endless
    with_noise(events, seed=1, duplicate_rate=0.01, shuffle_window=50, invalid_rate=0.005)

Same config, same events, event ids included. Every event the simulator makes passes
`events.parse_event(json.dumps(event), cfg.currency)`; `with_noise` adds the ones that do not.
"""

from kpiflow.streams.simulator.config import OrgConfig, previous_quarter_start
from kpiflow.streams.simulator.history import estimate_events, simulate_history
from kpiflow.streams.simulator.live import simulate_live
from kpiflow.streams.simulator.noise import with_noise

__all__ = [
    "OrgConfig",
    "estimate_events",
    "previous_quarter_start",
    "simulate_history",
    "simulate_live",
    "with_noise",
]
