"""Grafana dashboards of kpiflow, built as code with grafana-foundation-sdk.

- `defaults`   shared defaults: data source, ClickHouse query type, variables, annotations, links
- `panels/`    one function per panel, each with its SQL right above it
- `wallboard`, `activity`, `pipeline`, `growth`   the dashboards, composed from panels
- `build`      all dashboards as sorted, stable JSON files (`kpiflow dashboards build`)
- `provision`  the Grafana provisioning files (data source, dashboard provider, alert rule)
- `push`       upload to / check a live Grafana (`kpiflow dashboards push|check`)
- `macros`     the ClickHouse data source's macro expansion, for running panel SQL in tests
- `guard`      the rule that no panel ranks reps on an insight KPI

See docs/dashboards.md.
"""
