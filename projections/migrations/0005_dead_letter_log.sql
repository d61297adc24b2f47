-- Dead letters the dead-letter topic refused (a record too large for it, or any other refusal):
-- the message unchanged (bytes, in a String), the reason it is invalid, where it was read, and why
-- the topic refused it. One row per source message (ReplacingMergeTree on its coordinates; read
-- with FINAL or through the dead_letters view). Together with the dead-letter topic it holds
-- every reject: `kpiflow verify` reads both.
CREATE TABLE IF NOT EXISTS {db}.dead_letter_log
(
    topic           LowCardinality(String),
    partition       UInt32,
    offset          UInt64,
    reason          String,
    value           String,
    value_bytes     UInt64,
    refused_by      String,
    stored_at       DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree
ORDER BY (topic, partition, offset)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS {db}.dead_letters AS
SELECT topic, partition, offset, reason, value, value_bytes, refused_by, stored_at
FROM {db}.dead_letter_log FINAL;
