-- The raw event log: every accepted event, one row per event_id (ReplacingMergeTree on event_id;
-- read it with FINAL or through the raw_events view). Columns are the v1 fields, '' when absent;
-- payload is the original JSON (unknown extra fields are kept there).
CREATE TABLE IF NOT EXISTS {db}.raw_event_log
(
    event_id        String,
    event_type      LowCardinality(String),
    schema_version  UInt16,
    occurred_at     DateTime64(6, 'UTC'),
    source          String,
    rep_id          String,
    team_id         String,
    lead_id         String,
    deal_id         String,
    customer_id     String,
    activity_type   LowCardinality(String),
    direction       LowCardinality(String),
    channel         String,
    checklist       Map(String, Bool),
    deal_kind       LowCardinality(String),
    product         String,
    amount          String,
    currency        LowCardinality(String),
    stage           LowCardinality(String),
    from_stage      LowCardinality(String),
    to_stage        LowCardinality(String),
    reason          String,
    payload         String,
    topic           LowCardinality(String),
    partition       UInt32,
    offset          UInt64,
    ingested_at     DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per event_id, the copy accepted first.
CREATE VIEW IF NOT EXISTS {db}.raw_events AS
SELECT * FROM {db}.raw_event_log FINAL;
