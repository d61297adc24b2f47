-- Snapshots of the projector's engine state (projections/snapshots.py): a restart loads the
-- newest complete one of each definition version and reads the raw log only past the position
-- it covers, instead of rebuilding from the whole raw log. Internal to the pipeline: the state
-- holds per-rep facts, and it is a pickle (only the pipeline, which writes it, may read it).
-- A snapshot is `parts` rows of one snapshot_id; an incomplete one is ignored.
CREATE TABLE IF NOT EXISTS {db}.engine_snapshots
(
    definition_version UInt32,
    snapshot_id        String,
    part               UInt32,
    parts              UInt32,
    meta               String,
    data               String CODEC(ZSTD(1)),
    created_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (definition_version, snapshot_id, part);
