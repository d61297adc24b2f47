-- Coaching (docs/coaching.md): per deal and definition version, the stays in open stages that a
-- stage change ended and the deal's close, with the rep and team of the event that ended or
-- closed it. Written by the projector from the KPI engine (the same stays as stage_days); a later
-- revision replaces a deal's row, is_deleted = 1 removes it. Per-rep insight lives here and only
-- here: readers see it through the coaching_stays and coaching_closes views, one rep at a time,
-- and the reader roles of users.sql cannot read it (the coach role can).
CREATE TABLE IF NOT EXISTS {db}.coaching_deals
(
    definition_version UInt32,
    deal_id         String,
    stay_stage      Array(LowCardinality(String)),
    stay_ended_on   Array(Date),
    stay_team       Array(String),
    stay_rep        Array(String),
    stay_days       Array(Float64),
    stay_outcome    Array(LowCardinality(String)),
    closed_on       Nullable(Date),
    close_team      String,
    close_rep       String,
    won             UInt8,
    velocity_days   Nullable(Float64),
    revision        UInt64,
    is_deleted      UInt8 DEFAULT 0,
    updated_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision, is_deleted)
ORDER BY (definition_version, deal_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per ended stay, live definition version: where the deal went next (forward, lost,
-- back), how many days it stayed, on which local date the stay ended, and whose change ended it.
CREATE VIEW IF NOT EXISTS {db}.coaching_stays AS
SELECT definition_version, deal_id, stage, ended_on, team_id, rep_id, days, outcome
FROM {db}.coaching_deals FINAL
ARRAY JOIN
    stay_stage AS stage, stay_ended_on AS ended_on, stay_team AS team_id, stay_rep AS rep_id,
    stay_days AS days, stay_outcome AS outcome
WHERE definition_version = (
    SELECT argMax(version, revision) FROM {db}.live_version WHERE name = 'live'
);

-- One row per closed deal, live definition version: the local date of its first won or lost
-- change, whose it was, won or not, and (won, opening known) the days from deal.opened.
CREATE VIEW IF NOT EXISTS {db}.coaching_closes AS
SELECT definition_version, deal_id, assumeNotNull(closed_on) AS closed_on,
       close_team AS team_id, close_rep AS rep_id, won, velocity_days
FROM {db}.coaching_deals FINAL
WHERE closed_on IS NOT NULL AND definition_version = (
    SELECT argMax(version, revision) FROM {db}.live_version WHERE name = 'live'
);
