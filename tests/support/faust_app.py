"""A Faust app on the worker's transport (`kpiflow://`) that is never started: its consumer's
bookkeeping can be driven without a broker."""

from __future__ import annotations

from typing import Any

import faust

from kpiflow.streams.kafka_transport import broker_urls


def offline_app(**conf: Any) -> faust.App:
    return faust.App(
        "kpiflow-test",
        broker=broker_urls("127.0.0.1:9092"),
        store="memory://",
        autodiscover=False,
        web_enabled=False,
        **conf,
    )
