"""up, down, config: the local runtime (Kafka broker, topics, ClickHouse schema)."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.text import Text

from kpiflow.commands.common import announce_data_dir, console, err_console, settings
from kpiflow.settings import without_url_password


def _port(bootstrap: str) -> int:
    first = bootstrap.split(",")[0]
    return int(first.rsplit(":", 1)[1])


def up(
    kafka: Annotated[
        bool, typer.Option(help="fetch (first time) and start the local Kafka broker")
    ] = True,
) -> None:
    """Install and start what is missing: Kafka (KRaft, loopback), topics, ClickHouse schema.

    Kafka's jars come from Maven Central into ~/.cache/kpiflow (KPIFLOW_KAFKA_HOME); the broker's
    data and log live in the data directory (KPIFLOW_DATA_DIR). Running it twice is harmless.
    With a remote broker (KPIFLOW_KAFKA_BOOTSTRAP_SERVERS not on this machine) use --no-kafka:
    only topics and schema are set up.
    """
    from kpiflow.projections.store import open_store
    from kpiflow.runtime import kafka as runtime
    from kpiflow.streams.deadletter import DEAD_LETTER_TOPIC_CONFIG

    s = settings(creates_data_dir=True)
    t0 = time.monotonic()
    say = lambda msg: err_console.print(f"[dim]{time.monotonic() - t0:6.1f}s[/] {msg}")  # noqa: E731
    if kafka:
        runtime.ensure_installed(progress=say)
        runtime.start(s.pipeline.data_dir, port=_port(s.kafka.bootstrap_servers), progress=say)
    else:
        say(f"waiting for Kafka at {s.kafka.bootstrap_servers}")
        runtime.wait_ready(
            s.kafka.bootstrap_servers, timeout=120, config=s.kafka.confluent_config()
        )
    say(f"topics on {s.kafka.bootstrap_servers}")
    created = runtime.ensure_topics(
        s.kafka.bootstrap_servers,
        {s.kafka.events_topic: s.kafka.partitions, s.kafka.dlq_topic: 1},
        retention_ms={s.kafka.events_topic: -1, s.kafka.dlq_topic: -1},
        config=s.kafka.confluent_config(),
        topic_config={s.kafka.dlq_topic: DEAD_LETTER_TOPIC_CONFIG},
    )
    if created:
        say(f"created {', '.join(created)}")
    say("ClickHouse schema migrations")
    store = open_store(s)
    store.close()
    console.print(
        f"[green]up[/] in {time.monotonic() - t0:.1f}s: Kafka {s.kafka.bootstrap_servers}, "
        f"ClickHouse {without_url_password(s.clickhouse_dsn)}"
    )


def down() -> None:
    """Stop the local Kafka broker started by `kpiflow up` (data is kept)."""
    from kpiflow.runtime import kafka as runtime

    s = settings()
    stopped = runtime.stop(s.pipeline.data_dir)
    console.print("Kafka stopped" if stopped else "Kafka was not running")


def config() -> None:
    """Print the effective settings (secrets redacted) and the environment variables to set them."""
    from kpiflow.settings import Settings

    s = Settings(strict=False)  # still prints the valid groups when a setting is wrong
    announce_data_dir(s)
    for error in s.errors:
        err_console.print(Text(f"invalid: {error}", style="red"), soft_wrap=True)
    print(json.dumps(s.redacted(), indent=2, sort_keys=True, default=str))
    if s.errors:
        raise typer.Exit(2)  # after printing everything else
    console.print(
        "\nSet with KPIFLOW_<NAME> (pipeline), KPIFLOW_KAFKA_<NAME>, KPIFLOW_CLICKHOUSE_<NAME>, "
        "KPIFLOW_GRAFANA_<NAME>, e.g. KPIFLOW_TIMEZONE=Europe/Amsterdam, or in a .env file."
    )


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(config)
