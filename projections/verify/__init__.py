"""`kpiflow verify`: the projections, the raw log and the dead-letter topic, checked end to end.

- `run`: the checks and their order (`verify()` is the entry point).
- `replay`: the events topic through the worker's own triage: what should be stored. Pure.
- `logcheck`: raw log and dead letters against that. Pure.
- `kpis`: the projections against the raw log through the same KPI engine.
- `topics`: reading Kafka without disturbing the worker's consumer group.
- `findings`: what was found, its severity, the exit code.
"""

from kpiflow.projections.verify.findings import EXIT_DIFFERENCE, EXIT_ERROR, EXIT_OK, KINDS, Finding, Report
from kpiflow.projections.verify.run import VerifyError, verify

__all__ = [
    "EXIT_DIFFERENCE",
    "EXIT_ERROR",
    "EXIT_OK",
    "KINDS",
    "Finding",
    "Report",
    "VerifyError",
    "verify",
]
