-- KPI Flow plans (docs/plans.md). `kpiflow plan apply` writes a new plan_revision of a quarter:
-- plan_targets holds the complete plan in effect from each valid_from on (the quarter's first
-- day, then each change's date), plan_changes the plan file itself (kind 'plan', on the
-- quarter's first day) and each dated change (kind 'change'). Read a quarter's latest revision
-- through the *_current views: rows of older revisions that the new one no longer has stay in
-- the tables (for audit) but are not current.
-- Columns after recorded_at are derived from the catalog and the plan, so the views need
-- nothing else: the quarter's working days, the team scope, the KPI's kind, how it accumulates
-- ('sum' over the quarter or the 'latest' value), whether lower is better, and the definition
-- version the plan refers to (0 = none given).
CREATE TABLE IF NOT EXISTS {db}.plan_targets (
  quarter_start Date, valid_from Date, plan_revision UInt32, kpi LowCardinality(String),
  is_master UInt8, focus_rank UInt8, dimension_kind LowCardinality(String), dimension String,
  target Float64, recorded_at DateTime64(3,'UTC') DEFAULT now64(3),
  working_days Array(Date) DEFAULT [], scope_teams Array(String) DEFAULT [],
  kpi_kind LowCardinality(String) DEFAULT '', accumulation LowCardinality(String) DEFAULT 'sum',
  lower_is_better UInt8 DEFAULT 0, definition_version UInt32 DEFAULT 0
) ENGINE = ReplacingMergeTree(plan_revision) ORDER BY (quarter_start, valid_from, kpi, dimension_kind, dimension);

-- dimension '' = the default for that dimension_kind; valid_from = quarter start or the change date
CREATE TABLE IF NOT EXISTS {db}.plan_changes (
  quarter_start Date, changed_on Date, plan_revision UInt32, reason String, body String,
  recorded_at DateTime64(3,'UTC') DEFAULT now64(3),
  kind LowCardinality(String) DEFAULT 'change'
) ENGINE = ReplacingMergeTree(plan_revision) ORDER BY (quarter_start, changed_on);

-- The latest revision of every quarter's plan: targets from each valid_from on.
CREATE VIEW IF NOT EXISTS {db}.plan_targets_current AS
SELECT * FROM {db}.plan_targets FINAL
WHERE (quarter_start, plan_revision) IN (
    SELECT quarter_start, max(plan_revision) FROM {db}.plan_targets GROUP BY quarter_start
);

-- The latest revision of every quarter's plan file and its changes (dashboard annotations).
CREATE VIEW IF NOT EXISTS {db}.plan_changes_current AS
SELECT * FROM {db}.plan_changes FINAL
WHERE (quarter_start, plan_revision) IN (
    SELECT quarter_start, max(plan_revision) FROM {db}.plan_changes GROUP BY quarter_start
);

-- Pacing of the plan that holds today (ClickHouse's today(), in the server's time zone), per
-- focus KPI and dimension; the same numbers as projections.plans.pacing.pace_plan (tested).
-- actual_to_date: the quarter-grain value of the current quarter (additive KPIs: the sum so far;
-- pipeline_value: the open pipeline now; insight KPIs: the ratio or median over the quarter so
-- far, NULL when there is none). Missing rows of action/result KPIs are 0.
-- Rows: 'all' when the plan has an org-wide target; every team and rep with a KPI value this
-- quarter or named by the plan (reps: not for insight KPIs), within the team scope if any,
-- that has a target (its override, else the default).
CREATE VIEW IF NOT EXISTS {db}.kpi_pacing AS
WITH
    plan AS (
        SELECT * FROM {db}.plan_targets_current
        WHERE quarter_start = toStartOfQuarter(today())
          AND valid_from = (
              SELECT max(valid_from) FROM {db}.plan_targets_current
              WHERE quarter_start = toStartOfQuarter(today()) AND valid_from <= today()
          )
    ),
    focus AS (
        SELECT DISTINCT quarter_start, valid_from, plan_revision, kpi, is_master, focus_rank,
               working_days, scope_teams, kpi_kind, accumulation, lower_is_better
        FROM plan
    ),
    quarter_values AS (
        SELECT kpi, dimension_kind, dimension, value, 1 AS found
        FROM {db}.kpi_values
        WHERE grain = 'quarter' AND period_start = toStartOfQuarter(today())
    ),
    members AS (
        SELECT DISTINCT dimension_kind, dimension FROM quarter_values
        WHERE dimension_kind IN ('team', 'rep') AND dimension != ''
        UNION DISTINCT
        SELECT 'team' AS dimension_kind, arrayJoin(scope_teams) AS dimension FROM plan
        UNION DISTINCT
        SELECT dimension_kind, dimension FROM plan
        WHERE dimension_kind IN ('team', 'rep') AND dimension != ''
    ),
    rep_teams AS (
        SELECT rep_id, argMax(team_id, (occurred_at, event_id)) AS team
        FROM {db}.raw_event_log
        WHERE rep_id != '' AND team_id != ''
        GROUP BY rep_id
    ),
    candidates AS (
        SELECT f.*, 'all' AS dimension_kind, 'all' AS dimension FROM focus AS f
        UNION ALL
        SELECT f.*, m.dimension_kind AS dimension_kind, m.dimension AS dimension
        FROM focus AS f CROSS JOIN members AS m
        WHERE m.dimension_kind = 'team' OR f.kpi_kind != 'insight'
    ),
    resolved AS (
        SELECT c.quarter_start AS quarter_start, c.valid_from AS valid_from,
               c.plan_revision AS plan_revision, c.kpi AS kpi, c.is_master AS is_master,
               c.focus_rank AS focus_rank, c.working_days AS working_days,
               c.kpi_kind AS kpi_kind, c.accumulation AS accumulation,
               c.lower_is_better AS lower_is_better,
               c.dimension_kind AS dimension_kind, c.dimension AS dimension,
               x.found AS has_override, x.target AS override_target,
               d.found AS has_default, d.target AS default_target,
               multiIf(c.dimension_kind = 'team', c.dimension,
                       c.dimension_kind = 'rep', r.team, '') AS team
        FROM candidates AS c
        LEFT JOIN (
            SELECT kpi, dimension_kind, dimension, target, 1 AS found FROM plan WHERE dimension != ''
        ) AS x ON x.kpi = c.kpi AND x.dimension_kind = c.dimension_kind AND x.dimension = c.dimension
        LEFT JOIN (
            SELECT kpi, dimension_kind, target, 1 AS found FROM plan WHERE dimension = ''
        ) AS d ON d.kpi = c.kpi AND d.dimension_kind = c.dimension_kind
        LEFT JOIN rep_teams AS r ON r.rep_id = c.dimension
        WHERE (has_override = 1 OR has_default = 1)
          AND (c.dimension_kind = 'all' OR has_override = 1 OR empty(c.scope_teams)
               OR has(c.scope_teams, team))
    )
SELECT
    s.quarter_start AS quarter_start,
    s.kpi AS kpi,
    s.is_master AS is_master,
    s.focus_rank AS focus_rank,
    s.dimension_kind AS dimension_kind,
    s.dimension AS dimension,
    if(s.has_override = 1, s.override_target, s.default_target) AS target,
    if(v.found = 1, v.value, if(s.kpi_kind = 'insight', NULL, 0.)) AS actual_to_date,
    length(s.working_days) AS working_days_total,
    length(arrayFilter(day -> day < today(), s.working_days)) AS working_days_elapsed,
    if(s.accumulation = 'sum', target * (working_days_elapsed / working_days_total), target)
        AS expected_to_date,
    multiIf(actual_to_date IS NULL, NULL,
            s.lower_is_better = 1, if(actual_to_date > 0, expected_to_date / actual_to_date, NULL),
            if(expected_to_date > 0, actual_to_date / expected_to_date, NULL)) AS pace_ratio,
    if(s.accumulation = 'sum',
       if(working_days_elapsed > 0,
          actual_to_date / (working_days_elapsed / working_days_total), NULL),
       actual_to_date) AS projected_end,
    toUInt8(ifNull(if(s.lower_is_better = 1, actual_to_date <= expected_to_date,
                      actual_to_date >= expected_to_date), 0)) AS on_track,
    s.team AS team,
    s.kpi_kind AS kpi_kind,
    s.accumulation AS accumulation,
    s.lower_is_better AS lower_is_better,
    s.plan_revision AS plan_revision,
    s.valid_from AS valid_from,
    today() AS as_of
FROM resolved AS s
LEFT JOIN quarter_values AS v
    ON v.kpi = s.kpi AND v.dimension_kind = s.dimension_kind AND v.dimension = s.dimension;
