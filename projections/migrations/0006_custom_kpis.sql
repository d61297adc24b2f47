-- The team's own KPIs: one row per custom KPI of every kept definition version (from the
-- version's body, so it can never disagree with what was built). Catalog KPIs are in
-- docs/data-dictionary.md; `kpi_values` rows of a custom KPI carry its name like any other.
CREATE VIEW IF NOT EXISTS {db}.custom_kpis AS
SELECT
    version AS definition_version,
    kv.1 AS kpi,
    if(JSONExtractString(kv.2, 'kind') = '', 'insight', JSONExtractString(kv.2, 'kind')) AS kind,
    JSONExtractString(kv.2, 'base') AS base,
    JSONExtractString(kv.2, 'description') AS description,
    JSONExtractRaw(kv.2, 'where') AS where_json,
    status
FROM {db}.kpi_definitions FINAL
ARRAY JOIN JSONExtractKeysAndValuesRaw(body, 'kpis') AS kv
WHERE status != 'retired';
