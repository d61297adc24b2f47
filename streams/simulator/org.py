"""The simulated org: teams `team-<name>` and reps `rep-NNN`, ids stable for a given size."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from kpiflow.streams.simulator.config import OrgConfig

TEAM_NAMES = (
    "north",
    "south",
    "east",
    "west",
    "central",
    "benelux",
    "dach",
    "nordics",
    "iberia",
    "france",
    "uk",
    "italy",
    "baltics",
    "alps",
    "atlantic",
    "pacific",
)


@dataclass(frozen=True, slots=True)
class Rep:
    index: int  # position in Org.reps
    rep_id: str
    team_id: str
    team: int
    pace: float  # how busy this rep is compared with the average rep (mean 1.0)


@dataclass(frozen=True, slots=True)
class Org:
    team_ids: tuple[str, ...]
    reps: tuple[Rep, ...]
    team_reps: tuple[tuple[Rep, ...], ...]

    def other_rep(self, rep: Rep, rng: Random, same_team_share: float = 0.75) -> Rep | None:
        """Someone to hand a deal over to: usually a teammate, sometimes another team's rep."""
        teammates = [r for r in self.team_reps[rep.team] if r is not rep]
        others = [r for r in self.reps if r.team != rep.team]
        if teammates and (not others or rng.random() < same_team_share):
            return teammates[rng.randrange(len(teammates))]
        if others:
            return others[rng.randrange(len(others))]
        return None


def team_id(index: int) -> str:
    name = TEAM_NAMES[index % len(TEAM_NAMES)]
    lap = index // len(TEAM_NAMES)
    return f"team-{name}" if lap == 0 else f"team-{name}-{lap + 1}"


def build_org(cfg: OrgConfig, rng: Random) -> Org:
    """Reps are numbered team by team (team 0 has rep-001..); only their pace is random."""
    team_ids = tuple(team_id(t) for t in range(cfg.teams))
    reps = tuple(
        Rep(
            index=t * cfg.reps_per_team + i,
            rep_id=f"rep-{t * cfg.reps_per_team + i + 1:03d}",
            team_id=team_ids[t],
            team=t,
            pace=0.75 + 0.5 * rng.random(),
        )
        for t in range(cfg.teams)
        for i in range(cfg.reps_per_team)
    )
    team_reps = tuple(
        reps[t * cfg.reps_per_team : (t + 1) * cfg.reps_per_team] for t in range(cfg.teams)
    )
    return Org(team_ids=team_ids, reps=reps, team_reps=team_reps)
