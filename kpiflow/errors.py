"""The one exception root of kpiflow. Messages say what was wrong and what to do."""


class KpiflowError(Exception):
    """Base of every error kpiflow raises on purpose."""


class ConfigError(KpiflowError):
    """A setting or input file is wrong; the message names it and the fix."""


class RuntimeServiceError(KpiflowError):
    """Kafka or ClickHouse could not be installed, started or reached."""


class StoreBusyError(KpiflowError):
    """The embedded ClickHouse data path is owned by another process (usually the worker)."""


class PoisonFloodError(KpiflowError):
    """Too many invalid messages in a row: the worker stops instead of dead-lettering everything."""
