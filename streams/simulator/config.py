"""What to simulate: the size of the org, the window, the seed. No clock: the caller picks dates."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, fields, replace
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kpiflow.errors import ConfigError

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def previous_quarter_start(today: date) -> date:
    """First day of the calendar quarter before the one `today` falls in."""
    first_month = (today.month - 1) // 3 * 3 + 1
    if first_month == 1:
        return date(today.year - 1, 10, 1)
    return date(today.year, first_month - 3, 1)


@dataclass(frozen=True, kw_only=True)
class OrgConfig:
    """A simulated sales org and the window of history to generate.

    `start` is required (usually a quarter's first day; `OrgConfig.quarter_before(today)` picks
    the previous quarter). `activity_per_rep_per_day` is the mean number of activities a rep of
    average pace logs on a Tuesday; other weekdays are a little lower or higher, weekends quiet.
    Working hours are local to `timezone`; every timestamp carries that zone's offset.
    """

    teams: int = 3
    reps_per_team: int = 4
    seed: int = 42
    start: date
    days: int = 91
    activity_per_rep_per_day: float = 25.0
    currency: str = "EUR"
    timezone: str = "Europe/Amsterdam"

    def __post_init__(self) -> None:
        if type(self.teams) is not int or self.teams < 1:
            raise ConfigError(f"teams must be a whole number >= 1, got {self.teams!r}")
        if type(self.reps_per_team) is not int or self.reps_per_team < 1:
            raise ConfigError(
                f"reps_per_team must be a whole number >= 1, got {self.reps_per_team!r}"
            )
        if type(self.seed) is not int:
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.start, date):
            raise ConfigError(f"start must be a date (a quarter's first day), got {self.start!r}")
        if type(self.days) is not int or self.days < 1:
            raise ConfigError(f"days must be a whole number >= 1, got {self.days!r}")
        rate = self.activity_per_rep_per_day
        if not isinstance(rate, int | float) or not math.isfinite(rate) or rate < 0:
            raise ConfigError(
                f"activity_per_rep_per_day must be a finite number >= 0, got {rate!r}"
            )
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency):
            raise ConfigError(
                f"currency {self.currency!r} is not a three-letter upper-case ISO 4217 code"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(
                f"unknown time zone {self.timezone!r}; use an IANA name like Europe/Amsterdam"
            ) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def quarter_before(cls, today: date, **settings) -> OrgConfig:
        """A config whose history is the whole calendar quarter before `today`'s quarter."""
        start = previous_quarter_start(today)
        this_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        settings.setdefault("days", (this_quarter - start).days)
        return cls(start=start, **settings)

    @classmethod
    def for_target_events(
        cls, target: int, teams: int = 3, reps_per_team: int = 4, **settings
    ) -> OrgConfig:
        """A config whose history has about `target` events, tuning `activity_per_rep_per_day`.

        Leads, deals and customers do not depend on the activity rate (they have their own
        random stream), so their count is measured exactly and activities fill the rest. When the
        pipeline alone exceeds the target, the rate is 0 and the history is bigger than asked.
        """
        from kpiflow.streams.simulator.history import activity_weight, pipeline_event_count

        if type(target) is not int or target < 0:
            raise ConfigError(
                f"the target number of events must be a whole number >= 0, got {target!r}"
            )
        base = cls(
            teams=teams, reps_per_team=reps_per_team, activity_per_rep_per_day=0.0, **settings
        )
        weight = activity_weight(base)
        if weight <= 0:
            return base
        rate = max(0.0, (target - pipeline_event_count(base)) / weight)
        return replace(base, activity_per_rep_per_day=round(rate, 4))


def stream_seed(cfg: OrgConfig, stream: str, *, with_activity_rate: bool = True) -> int:
    """A 128-bit seed for one random stream of a config.

    Every field goes in, so two different configs never share event ids. The org stream leaves
    the activity rate out, so tuning the rate changes the activities and nothing else.
    """
    parts = []
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "activity_per_rep_per_day":
            if not with_activity_rate:
                continue
            value = float(value)  # 25 and 25.0 are the same config
        parts.append(f"{f.name}={value!r}")
    text = "|".join([stream, *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")
