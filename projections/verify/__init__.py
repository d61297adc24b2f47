"""The projections half of `kpiflow verify`: each built definition version recomputed from the
raw log through the same KPI engine and compared with its stored rows (`kpis`), and the report
every check writes to (`findings`: what was found, its severity, the exit code).

The Kafka half (the events topic replayed through the worker's triage, against the raw log and
the dead-letter topic) and the order the checks run in are in `kpiflow.streams.verify`.
"""

from kpiflow.projections.verify.findings import (
    EXIT_DIFFERENCE,
    EXIT_ERROR,
    EXIT_OK,
    KINDS,
    Finding,
    Report,
)

__all__ = ["EXIT_DIFFERENCE", "EXIT_ERROR", "EXIT_OK", "KINDS", "Finding", "Report"]
