-- The projector reads the raw log's tail (rows past its per-partition offsets) several times a
-- second. The table is ordered by event_id, so that read scanned every row; a minmax index on
-- ingested_at lets it skip the granules written before its window (recent inserts sit in their
-- own parts until merged).
ALTER TABLE {db}.raw_event_log ADD INDEX IF NOT EXISTS raw_ingested_at ingested_at TYPE minmax GRANULARITY 1;
ALTER TABLE {db}.raw_event_log MATERIALIZE INDEX raw_ingested_at;
