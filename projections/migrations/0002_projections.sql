-- KPI projections. One row per (definition_version, kpi, grain, period_start, dimension_kind,
-- dimension); a later revision replaces an earlier one, is_deleted = 1 removes the row.
CREATE TABLE IF NOT EXISTS {db}.kpi_rows
(
    definition_version UInt32,
    kpi             LowCardinality(String),
    grain           LowCardinality(String),
    period_start    Date,
    dimension_kind  LowCardinality(String),
    dimension       String,
    value           Float64,
    revision        UInt64,
    is_deleted      UInt8 DEFAULT 0,
    updated_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision, is_deleted)
ORDER BY (definition_version, kpi, grain, dimension_kind, dimension, period_start)
SETTINGS non_replicated_deduplication_window = 10000;

-- Definition versions: what each projection version means, and its lifecycle.
CREATE TABLE IF NOT EXISTS {db}.kpi_definitions
(
    version         UInt32,
    fingerprint     String,
    effective_from  Nullable(Date),
    description     String,
    body            String,
    status          LowCardinality(String),
    revision        UInt64,
    changed_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY version;

-- Which definition version readers see. Promotion inserts one row: atomic for every reader.
CREATE TABLE IF NOT EXISTS {db}.live_version
(
    name            LowCardinality(String),
    version         UInt32,
    revision        UInt64,
    promoted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY name;

-- Every promotion, for dashboard annotations and audit.
CREATE TABLE IF NOT EXISTS {db}.promotions
(
    promoted_at     DateTime64(3, 'UTC'),
    from_version    UInt32,
    to_version      UInt32,
    note            String
)
ENGINE = MergeTree
ORDER BY promoted_at;

-- All versions, current rows only.
CREATE VIEW IF NOT EXISTS {db}.kpi_values_all_versions AS
SELECT definition_version, kpi, grain, period_start, dimension_kind, dimension, value, updated_at
FROM {db}.kpi_rows FINAL;

-- The stable view for ops and dashboards: the live definition version only.
CREATE VIEW IF NOT EXISTS {db}.kpi_values AS
SELECT definition_version, kpi, grain, period_start, dimension_kind, dimension, value, updated_at
FROM {db}.kpi_rows FINAL
WHERE definition_version = (
    SELECT argMax(version, revision) FROM {db}.live_version WHERE name = 'live'
);
