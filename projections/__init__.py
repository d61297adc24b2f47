"""KPI definitions, the pure KPI engine, ClickHouse schema and writers, replay."""
