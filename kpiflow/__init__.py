"""kpiflow: event-sourced streaming KPI pipeline for sales teams.

One import namespace, installed from the repository's top-level folders:

- `kpiflow.settings`, `kpiflow.errors`   the ground floor: imports nothing of kpiflow
- `kpiflow.events` (`events/`)           the wire contract
- `kpiflow.projections` (`projections/`) KPI definitions, the pure engine, ClickHouse storage
- `kpiflow.streams` (`streams/`)         the Faust worker, producers, the simulator
- `kpiflow.dashboards` (`dashboards/`)   Grafana as code
- `kpiflow.runtime`, `kpiflow.commands`, `kpiflow.cli`   the local runtime and the CLI, on top

The floors are import-linter contracts in `pyproject.toml` (`lint-imports`).
"""

__version__ = "0.1.0"
