"""Settings, one pydantic-settings class per external system.

Every value comes from the environment (or an optional `.env`), never from the code. Secrets are
`SecretStr` and `redacted()` gives a dump that is safe to log.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kpiflow.errors import ConfigError

_ENV_FILE = os.environ.get("KPIFLOW_ENV_FILE", ".env")


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=_ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )


def default_data_dir() -> Path:
    return Path(os.environ.get("KPIFLOW_DATA_DIR", Path.cwd() / ".kpiflow")).resolve()


class KafkaSettings(BaseSettings):
    """Kafka connection and topics (env prefix `KPIFLOW_KAFKA_`)."""

    model_config = _config("KPIFLOW_KAFKA_")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    events_topic: str = "sales.events"
    dlq_topic: str = "sales.events.dlq"
    partitions: int = Field(6, ge=1)
    consumer_group: str = "kpiflow-worker"
    # How long the broker may hold the worker's fetch when it has little data (Faust's own
    # 1,500 ms made every event wait about that long; streams/kafka_transport.py)
    fetch_max_wait_ms: int = Field(100, ge=1, le=60_000)

    def confluent_config(self) -> dict[str, Any]:
        """librdkafka settings for confluent-kafka clients."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_cafile:
            conf["ssl.ca.location"] = self.ssl_cafile
        return conf

    def redacted(self) -> dict[str, Any]:
        return _redact(self)


class ClickHouseSettings(BaseSettings):
    """ClickHouse connection (env prefix `KPIFLOW_CLICKHOUSE_`).

    `dsn` empty means the embedded engine (chdb) under the data directory. A server is
    `http://user@host:8123/db` (or https); the password comes from `KPIFLOW_CLICKHOUSE_PASSWORD`.
    """

    model_config = _config("KPIFLOW_CLICKHOUSE_")

    dsn: str = ""
    database: str = "kpiflow"
    password: SecretStr | None = None

    def resolved_dsn(self, data_dir: Path) -> str:
        return self.dsn or f"chdb://{(data_dir / 'clickhouse').resolve()}"

    def redacted(self) -> dict[str, Any]:
        return _redact(self)


class GrafanaSettings(BaseSettings):
    """Grafana API access for `kpiflow dashboards push/check` (env prefix `KPIFLOW_GRAFANA_`)."""

    model_config = _config("KPIFLOW_GRAFANA_")

    url: str = "http://127.0.0.1:3000"
    token: SecretStr | None = None
    datasource_uid: str = "kpiflow-clickhouse"

    def redacted(self) -> dict[str, Any]:
        return _redact(self)


class PipelineSettings(BaseSettings):
    """What the pipeline computes and where it keeps local state (env prefix `KPIFLOW_`)."""

    model_config = _config("KPIFLOW_")

    data_dir: Path = Field(default_factory=default_data_dir)
    timezone: str = "UTC"
    currency: str = "EUR"
    exchange_rates_file: Path | None = Field(
        None,
        description="CSV of currency,valid_from,rate to the reporting currency (docs/events.md)",
    )
    batch_size: int = Field(2000, ge=1, description="max events per micro-batch")
    batch_seconds: float = Field(0.5, gt=0, description="max seconds a micro-batch waits")
    poison_cap: int = Field(
        10000, ge=0, description="consecutive invalid messages that stop the worker (0 = no cap)"
    )
    worker_web_port: int = 6066
    worker_sql_port: int = Field(
        8124,
        ge=0,
        le=65535,
        description="the worker's read-only ClickHouse HTTP interface (embedded mode; 0 = off)",
    )
    project: bool = Field(
        True, description="keep KPI projections in this worker (off: raw log only)"
    )
    celebrate_seconds: float = Field(
        30.0, gt=0, description="seconds between looks for a Master KPI target reached"
    )
    snapshot_seconds: float = Field(
        300.0,
        ge=0,
        description="seconds between snapshots of the projector's state (restarts read only "
        "the raw log after the last one); 0: off, every restart rebuilds",
    )
    step_seconds: float = Field(
        0.25,
        ge=0,
        description="least seconds from one projector step to the next while batches come "
        "faster: their batches are applied together, and the KPI rows they change are written "
        "once (0: a step per batch)",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="the worker's event loop: uvloop (faster per message), or asyncio's own",
    )
    triage_process: bool = Field(
        True,
        description="validate events in a child process of the worker, on another core than "
        "its event loop (off: on the event loop)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Europe/Amsterdam"
            ) from exc
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise ValueError(f"currency {value!r} is not a three-letter upper-case ISO 4217 code")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def redacted(self) -> dict[str, Any]:
        return _redact(self)


class Settings:
    """All settings of one process."""

    def __init__(self, *, strict: bool = True) -> None:
        """Read every group; each bad value is named by its KPIFLOW_* variable. `strict=False`
        (for `kpiflow config`) keeps the groups that are valid and lists the problems in
        `errors` instead of raising."""
        self.errors: list[str] = []
        groups: dict[str, Any] = {}
        for name, model in (
            ("pipeline", PipelineSettings),
            ("kafka", KafkaSettings),
            ("clickhouse", ClickHouseSettings),
            ("grafana", GrafanaSettings),
        ):
            try:
                groups[name] = model()
            except ValidationError as exc:
                prefix = str(model.model_config.get("env_prefix", "KPIFLOW_"))
                for error in exc.errors(include_url=False):
                    field = "_".join(str(part) for part in error["loc"]).upper()
                    message = str(error["msg"]).removeprefix("Value error, ")
                    self.errors.append(f"{prefix}{field}: {message}")
                groups[name] = None
        if self.errors and strict:
            raise ConfigError(
                "invalid setting in the environment or .env:\n  " + "\n  ".join(self.errors)
            )
        self.pipeline = groups["pipeline"]
        self.kafka = groups["kafka"]
        self.clickhouse = groups["clickhouse"]
        self.grafana = groups["grafana"]

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse.resolved_dsn(self.pipeline.data_dir)

    def redacted(self) -> dict[str, Any]:
        return {
            name: group.redacted() if group is not None else "invalid: see the errors above"
            for name, group in (
                ("pipeline", self.pipeline),
                ("kafka", self.kafka),
                ("clickhouse", self.clickhouse),
                ("grafana", self.grafana),
            )
        }


def _redact(model: BaseSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in model.model_dump().items():
        if isinstance(value, SecretStr):
            out[name] = "**********" if value.get_secret_value() else ""
        elif isinstance(value, Path):
            out[name] = str(value)
        elif isinstance(value, str):
            out[name] = without_url_password(value)
        else:
            out[name] = value
    return out


def without_url_password(text: str) -> str:
    """`scheme://user:password@host...` with the password as `***` (DSNs and URLs may hold one)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return text
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
