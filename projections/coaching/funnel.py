"""One side of a coaching view (the rep, or the team), and where the rep differs most, in words.

Pure: the numbers come from `queries`; docs/coaching.md defines each of them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

OPEN_STAGES = ("prospect", "qualified", "meeting", "proposal", "negotiation")

# A difference is worth saying when the rep's median stay is at least this many times the
# team's (or at most its inverse), or the share of stays that moved forward differs by this
# many points; and only over at least MIN_STAYS ended stays on each side.
TIME_RATIO = 1.5
FORWARD_POINTS = 0.15
MIN_STAYS = 3
# A 50-point difference in the forward share weighs as much as a 2x difference in time.
POINTS_PER_DOUBLING = 0.5


@dataclass(frozen=True)
class StageFunnel:
    stage: str
    ended: int = 0  # stays in the stage that a stage change ended in the period
    forward: int = 0  # ... to a later open stage or won
    lost: int = 0  # ... to lost
    back: int = 0  # ... to the same or an earlier open stage
    median_days: float | None = None

    @property
    def forward_share(self) -> float | None:
        return self.forward / self.ended if self.ended else None

    @property
    def lost_share(self) -> float | None:
        return self.lost / self.ended if self.ended else None


@dataclass(frozen=True)
class Side:
    """The rep's numbers, or the team's, for one period."""

    who: str
    stages: tuple[StageFunnel, ...]
    won_deals: int = 0
    lost_deals: int = 0
    won_value: float = 0.0
    velocity_days: float | None = None
    activities: dict[str, int] = field(default_factory=dict)  # activity type -> count
    activity_points: float = 0.0
    outbound_contacts: int = 0
    reps: int = 1  # reps with events in the period (the team's side: to give per-rep values)

    @property
    def close_rate(self) -> float | None:
        closed = self.won_deals + self.lost_deals
        return self.won_deals / closed if closed else None

    def stage(self, name: str) -> StageFunnel:
        return next((s for s in self.stages if s.stage == name), StageFunnel(name))

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["close_rate"] = self.close_rate
        doc["stages"] = [
            asdict(s) | {"forward_share": s.forward_share, "lost_share": s.lost_share}
            for s in self.stages
        ]
        return doc


@dataclass(frozen=True)
class Difference:
    stage: str
    kind: str  # "time" or "forward"
    score: float
    text: str
    bottleneck: bool  # longer stays or fewer deals forward than the team: where to coach


def differences(rep: Side, team: Side, limit: int = 2) -> list[Difference]:
    """The one or two open stages where the rep differs most from the team, in words: the
    bottlenecks first (longer stays, fewer deals moving forward), then, when fewer than `limit`
    stages are one, where the rep does better."""
    found: list[Difference] = []
    for name in OPEN_STAGES:
        mine, theirs = rep.stage(name), team.stage(name)
        if mine.ended < MIN_STAYS or theirs.ended < MIN_STAYS:
            continue
        if mine.median_days is not None and theirs.median_days:
            ratio = mine.median_days / theirs.median_days if mine.median_days else 0.0
            if ratio >= TIME_RATIO or (0 < ratio <= 1 / TIME_RATIO):
                found.append(_time(name, ratio, mine, theirs))
        rep_share, team_share = mine.forward_share, theirs.forward_share
        if rep_share is not None and team_share is not None:
            gap = rep_share - team_share
            if abs(gap) >= FORWARD_POINTS:
                found.append(_forward(name, gap, mine, theirs))
    found.sort(key=lambda d: (not d.bottleneck, -d.score, OPEN_STAGES.index(d.stage), d.kind))
    out: list[Difference] = []
    for item in found:  # at most one sentence per stage
        if all(d.stage != item.stage for d in out):
            out.append(item)
        if len(out) == limit:
            break
    return out


def _time(name: str, ratio: float, mine: StageFunnel, theirs: StageFunnel) -> Difference:
    assert mine.median_days is not None and theirs.median_days is not None
    numbers = (
        f"median {mine.median_days:.1f} vs {theirs.median_days:.1f} days, over {mine.ended} "
        f"and {theirs.ended} stays"
    )
    if ratio >= 1:
        text = f"deals stay {ratio:.1f}x longer in {name} than the team's median ({numbers})"
    else:
        text = (
            f"deals move through {name} {1 / ratio:.1f}x faster than the team's median ({numbers})"
        )
    return Difference(name, "time", abs(math.log(ratio)), text, ratio >= 1)


def _forward(name: str, gap: float, mine: StageFunnel, theirs: StageFunnel) -> Difference:
    assert mine.forward_share is not None and theirs.forward_share is not None
    assert mine.lost_share is not None and theirs.lost_share is not None
    word = "fewer" if gap < 0 else "more"
    text = (
        f"{word} deals move forward from {name}: {mine.forward_share:.0%} vs the team's "
        f"{theirs.forward_share:.0%} (lost {mine.lost_share:.0%} vs {theirs.lost_share:.0%}, "
        f"over {mine.ended} and {theirs.ended} stays)"
    )
    return Difference(name, "forward", abs(gap) / POINTS_PER_DOUBLING * math.log(2), text, gap < 0)
