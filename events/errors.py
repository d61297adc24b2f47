"""Why an event was rejected, in words that name the field."""

from kpiflow.errors import KpiflowError


class InvalidEvent(KpiflowError):
    """An event that breaks the contract. `reason` is what goes into the dead-letter header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
