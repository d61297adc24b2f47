"""`kpiflow verify`: the projections, the raw log and the dead-letter topic, checked end to end.

- `run`: the checks and their order (`verify()` is the entry point).
- `replay`: the events topic through the worker's own triage: what should be stored. Pure.
- `logcheck`: raw log and dead letters against that. Pure.
- `topics`: reading Kafka without disturbing the worker's consumer group.

The projections check, the report and the exit codes are `kpiflow.projections.verify` (no
Kafka there).
"""

from kpiflow.streams.verify.run import VerifyError, verify

__all__ = ["VerifyError", "verify"]
