-- Celebrations (docs/plans.md): the moment a Master KPI target of the plan in effect is reached,
-- for the organisation, a team or a rep, recorded once per quarter, KPI and who (the first
-- record wins: the achievements view). Never deleted: a later plan or definition change that
-- puts the value below the target again leaves the record; achievement_checks says, per
-- definition version built later, whether it still holds.
CREATE TABLE IF NOT EXISTS {db}.achievement_log
(
    quarter_start       Date,
    kpi                 LowCardinality(String),
    dimension_kind      LowCardinality(String),
    dimension           String,
    team                String,
    plan_revision       UInt32,
    definition_version  UInt32,
    target              Float64,
    value               Float64,
    reward              String,
    reached_at          DateTime64(3, 'UTC'),
    reached_on          Date
)
ENGINE = MergeTree
ORDER BY (quarter_start, kpi, dimension_kind, dimension, reached_at);

CREATE TABLE IF NOT EXISTS {db}.achievement_checks
(
    quarter_start       Date,
    kpi                 LowCardinality(String),
    dimension_kind      LowCardinality(String),
    dimension           String,
    definition_version  UInt32,
    value               Nullable(Float64),
    holds               UInt8,
    checked_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(checked_at)
ORDER BY (quarter_start, kpi, dimension_kind, dimension, definition_version);

-- One row per achievement (its first record), and whether it holds under the live version:
-- 1 when recorded under it or a check of it says so, 0 when a check says it no longer does,
-- NULL when the live version was never checked.
CREATE VIEW IF NOT EXISTS {db}.achievements AS
SELECT
    a.quarter_start AS quarter_start, a.kpi AS kpi, a.dimension_kind AS dimension_kind,
    a.dimension AS dimension, a.first_team AS team, a.first_plan_revision AS plan_revision,
    a.first_definition_version AS definition_version, a.first_target AS target,
    a.first_value AS value, a.first_reward AS reward, a.first_at AS reached_at,
    a.first_on AS reached_on,
    if(a.first_definition_version = l.live, toNullable(toUInt8(1)), c.holds) AS holds_in_live
FROM
(
    SELECT quarter_start, kpi, dimension_kind, dimension,
           argMin(team, reached_at) AS first_team,
           argMin(plan_revision, reached_at) AS first_plan_revision,
           argMin(definition_version, reached_at) AS first_definition_version,
           argMin(target, reached_at) AS first_target, argMin(value, reached_at) AS first_value,
           argMin(reward, reached_at) AS first_reward, min(reached_at) AS first_at,
           argMin(reached_on, reached_at) AS first_on
    FROM {db}.achievement_log
    GROUP BY quarter_start, kpi, dimension_kind, dimension
) AS a
CROSS JOIN
(
    SELECT argMax(version, revision) AS live FROM {db}.live_version WHERE name = 'live'
) AS l
LEFT JOIN
(
    SELECT quarter_start, kpi, dimension_kind, dimension, definition_version,
           toNullable(holds) AS holds
    FROM {db}.achievement_checks FINAL
) AS c
ON c.quarter_start = a.quarter_start AND c.kpi = a.kpi AND c.dimension_kind = a.dimension_kind
   AND c.dimension = a.dimension AND c.definition_version = l.live;
