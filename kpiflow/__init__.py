"""kpiflow: event-sourced streaming KPI pipeline for sales teams.

The top-level packages are `events` (the wire contract), `streams` (Faust app, producers,
simulator), `projections` (KPI engine, ClickHouse schema, writers, replay) and `dashboards`
(Grafana as code). This package holds what spans them: settings, errors, the CLI, the local
runtime (Kafka broker management).
"""

__version__ = "0.1.0"
