-- Dashboard panels that show recent events (the wallboard's recent activity, the leaderboards'
-- rep -> team) read a bounded time range of the raw log every 10 s. The table is ordered by
-- event_id; a minmax index on occurred_at lets those reads skip the granules outside the range
-- (events arrive roughly in time order, so a part's granules cover short spans).
ALTER TABLE {db}.raw_event_log ADD INDEX IF NOT EXISTS raw_occurred_at occurred_at TYPE minmax GRANULARITY 1;
ALTER TABLE {db}.raw_event_log MATERIALIZE INDEX raw_occurred_at;
