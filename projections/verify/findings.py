"""What `kpiflow verify` found: counts per kind, a capped sample of each, and the exit code.

A kind is either a *difference* (something is lost, counted twice, or wrong: exit 1) or *info*
(worth knowing, not wrong: e.g. at-least-once redeliveries in the dead-letter topic).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_DIFFERENCE = 1
EXIT_ERROR = 2

DIFFERENCE = "difference"
INFO = "info"

# What each kind of finding means; docs/operations.md says what to do about each.
# fmt: off
_TABLE = (
    # check, kind, severity, meaning
    ("kpis", "missing", DIFFERENCE, "a KPI row the raw log implies is not in the projections"),
    ("kpis", "extra", DIFFERENCE, "a KPI row in the projections the raw log does not imply"),
    ("kpis", "different", DIFFERENCE, "a KPI value differs from its recomputation"),
    ("kpis", "not_built", INFO, "a definition version still building: not compared"),
    ("raw_log", "missing", DIFFERENCE, "an accepted, acknowledged event is not in the raw log"),
    ("raw_log", "extra", DIFFERENCE, "a raw-log event the topic and the rules do not accept"),
    ("raw_log", "not_unique", DIFFERENCE, "raw_events has more rows than distinct event ids"),
    ("raw_log", "wrong_copy", DIFFERENCE, "the raw log holds another copy than the first accepted"),
    ("raw_log", "pending", INFO, "an accepted event past the committed offset, not stored yet"),
    ("raw_log", "order_dependent", INFO, "an event whose fate depends on cross-partition order"),
    ("raw_log", "unverifiable", INFO, "a raw-log event below the topic's retention: not checked"),
    ("dead_letters", "missing", DIFFERENCE, "an acknowledged reject is missing from the DLQ topic"),
    ("dead_letters", "extra", DIFFERENCE, "a dead letter for an accepted or unknown message"),
    ("dead_letters", "reason", DIFFERENCE, "a dead letter whose reason is not the rules' reason"),
    ("dead_letters", "pending", INFO, "a reject past the committed offset, not dead-lettered yet"),
    ("dead_letters", "redelivered", INFO, "another copy of a dead letter (at-least-once delivery)"),
    ("dead_letters", "other_source", INFO, "a dead letter from the producer or another topic"),
)
# fmt: on
KINDS: dict[tuple[str, str], tuple[str, str]] = {(c, k): (s, m) for c, k, s, m in _TABLE}


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    kind: str
    subject: str
    expected: str = ""
    actual: str = ""

    @property
    def severity(self) -> str:
        return KINDS[(self.check, self.kind)][0]

    def as_dict(self) -> dict[str, str]:
        return {
            "check": self.check, "kind": self.kind, "severity": self.severity,
            "subject": self.subject, "expected": self.expected, "actual": self.actual,
        }  # fmt: skip


@dataclass
class Report:
    """Everything one run found. `limit` caps the samples kept per kind, never the counts."""

    limit: int = 20
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def add(
        self, check: str, kind: str, subject: str, expected: Any = "", actual: Any = ""
    ) -> None:
        key = (check, kind)
        if key not in KINDS:
            raise ValueError(f"unknown finding kind {key}")
        self.counts[key] += 1
        kept = self.samples.setdefault(key, [])
        if len(kept) < self.limit:
            kept.append(Finding(check, kind, subject, _text(expected), _text(actual)))

    def count(self, check: str, kind: str) -> int:
        return self.counts[(check, kind)]

    @property
    def differences(self) -> int:
        return sum(n for key, n in self.counts.items() if KINDS[key][0] == DIFFERENCE)

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENCE if self.differences else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        kinds = []
        for key in sorted(self.counts):
            severity, meaning = KINDS[key]
            samples = self.samples.get(key, [])
            kinds.append({
                "check": key[0], "kind": key[1], "severity": severity, "meaning": meaning,
                "count": self.counts[key], "samples": [f.as_dict() for f in samples],
                "truncated": self.counts[key] > len(samples),
            })  # fmt: skip
        return {
            "status": "difference" if self.differences else "ok",
            "exit_code": self.exit_code,
            "checks": self.checks,
            "differences": self.differences,
            "findings": kinds,
            "stats": self.stats,
            "notes": self.notes,
        }


def _text(value: Any) -> str:
    return "" if value is None else str(value)
