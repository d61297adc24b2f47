"""What a sales org's facts look like: channels, checklists, products, prices, stage paths.

Pure sampling functions of a `random.Random`, shared by the history and the live trickle.
Amounts are whole cents (ints) until they are written as decimal strings by `money`.
"""

from __future__ import annotations

import math
from random import Random

OPEN_STAGES = ("prospect", "qualified", "meeting", "proposal", "negotiation")
CRITERIA = ("budget", "authority", "need", "timing", "icp_industry")
QUALIFYING = ("budget", "authority", "need")  # the default qualification rule of kpis.md

# Mean workdays a deal stays in a stage before its next change.
STAGE_DAYS = {
    "prospect": 6.0,
    "qualified": 5.0,
    "meeting": 4.0,
    "proposal": 7.0,
    "negotiation": 5.0,
}
SKIP_STAGE = 0.12  # chance that a deal jumps over a given intermediate stage
WIN_RATE = {"new_business": 0.3, "upsell": 0.55, "renewal": 0.8}
FIRST_STAGE = {
    "new_business": (("prospect", 0.75), ("qualified", 0.25)),
    "upsell": (("prospect", 0.3), ("qualified", 0.5), ("meeting", 0.2)),
    "renewal": (("qualified", 0.2), ("proposal", 0.6), ("negotiation", 0.2)),
}

REP_SOURCED_CHANNELS = (("outbound-list", 0.7), ("referral", 0.3))  # leads a rep finds
TRADE_SHOWS = ("expo", "saas-summit", "salestech", "cx-forum", "growth-days")
# Chance each criterion is true for a lead of average quality, by channel family.
CRITERION_ODDS = {
    "referral": (0.65, 0.6, 0.8, 0.5, 0.8),
    "inbound-web": (0.5, 0.45, 0.8, 0.45, 0.6),
    "outbound-list": (0.45, 0.5, 0.55, 0.35, 0.8),
    "trade-show": (0.55, 0.5, 0.65, 0.4, 0.7),
}

NEW_BUSINESS_PRODUCTS = (("enterprise", 0.22), ("pro", 0.48), ("starter", 0.30))
CHURN_REASONS = (
    "price",
    "competitor",
    "no budget",
    "product fit",
    "acquired",
    "went out of business",
)


def pick(rng: Random, weighted: tuple[tuple[str, float], ...]) -> str:
    """One value of (value, weight) pairs."""
    x = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def poisson(rng: Random, mean: float) -> int:
    """A Poisson count (exact for small means, normal approximation above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def money(cents: int) -> str:
    """Cents as the contract's decimal string: 12500, 12500.50."""
    whole, frac = divmod(cents, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}"


def channel_family(channel: str) -> str:
    if channel.startswith("trade-show:"):
        return "trade-show"
    return channel if channel in CRITERION_ODDS else "outbound-list"


def first_checklist(rng: Random, channel: str) -> dict[str, bool]:
    """A first assessment: criteria correlate through the lead's quality; some are not yet known."""
    quality = rng.random() - 0.5
    odds = CRITERION_ODDS[channel_family(channel)]
    checklist = {
        name: rng.random() < p + 0.6 * quality for name, p in zip(CRITERIA, odds, strict=True)
    }
    if rng.random() < 0.25:  # an early call: one or two criteria not assessed yet
        for _ in range(1 + (rng.random() < 0.4)):
            checklist.pop(CRITERIA[rng.randrange(len(CRITERIA))], None)
    return checklist


def reassessed(rng: Random, previous: dict[str, bool]) -> dict[str, bool]:
    """A later look: what was true stays true, every criterion is assessed, some turn true."""
    return {name: previous.get(name, False) or rng.random() < 0.45 for name in CRITERIA}


def is_qualified(checklist: dict[str, bool]) -> bool:
    return all(checklist.get(name, False) for name in QUALIFYING)


def stage_path(rng: Random, kind: str) -> list[str]:
    """The stages a deal will go through: first stage, later ones (some skipped), won or lost."""
    first = pick(rng, FIRST_STAGE[kind])
    later = OPEN_STAGES[OPEN_STAGES.index(first) + 1 :]
    visited = [first, *(stage for stage in later if rng.random() >= SKIP_STAGE)]
    if rng.random() < WIN_RATE[kind]:
        return [*visited, "won"]
    # Most losses happen early; a deal is lost after the stage it reached.
    reached = min(int(rng.expovariate(0.9)), len(visited) - 1)
    return [*visited[: reached + 1], "lost"]


def stage_workdays(rng: Random, stage: str) -> int:
    return 1 + int(rng.expovariate(1 / STAGE_DAYS[stage]))


def new_business_offer(rng: Random) -> tuple[str, int]:
    """(product, amount in cents) of a first deal with a prospect."""
    product = pick(rng, NEW_BUSINESS_PRODUCTS)
    if product == "enterprise":
        return product, rng.randint(80, 360) * 500_00
    if rng.random() < 0.2:  # priced per seat: seats x monthly list price x 12
        unit = 49_90 if product == "pro" else 19_90
        return product, rng.randint(5, 120) * unit * 12
    if product == "pro":
        return product, rng.randint(80, 400) * 100_00
    return product, rng.randint(24, 160) * 50_00


def upsell_offer(rng: Random, product: str, contract_cents: int) -> tuple[str, int]:
    """An upgrade to a bigger plan, more seats, or an add-on, for an existing customer."""
    upgrade = {"starter": "pro", "pro": "enterprise"}.get(product)
    if upgrade and rng.random() < 0.35:
        return upgrade, round_to_euros(contract_cents * rng.uniform(0.6, 1.5), 100)
    if rng.random() < 0.3:
        return "analytics-addon", rng.randint(6, 30) * 500_00
    return "seats", round_to_euros(contract_cents * rng.uniform(0.1, 0.4), 10)


def renewal_amount(rng: Random, contract_cents: int) -> int:
    return round_to_euros(contract_cents * rng.uniform(0.97, 1.1), 10)


def changed_amount(rng: Random, cents: int, stage: str) -> int:
    """A re-priced deal: discounts late in the cycle, re-scoping earlier."""
    if stage in ("proposal", "negotiation") and rng.random() < 0.7:
        factor = rng.uniform(0.8, 0.97)
    else:
        factor = rng.uniform(0.85, 1.4)
    return round_to_euros(cents * factor, 10)


def round_to_euros(cents: float, euros: int) -> int:
    step = euros * 100
    return max(step, int(cents // step) * step)


def churn_reason(rng: Random) -> str | None:
    if rng.random() < 0.25:
        return None
    return CHURN_REASONS[rng.randrange(len(CHURN_REASONS))]
