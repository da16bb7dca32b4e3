-- Window state of each processor job per input partition, with the offset it reflects (distributed
-- mode; the embedded mode keeps checkpoints as files). The newest row per partition wins.

CREATE TABLE IF NOT EXISTS {database}.processor_checkpoints
(
    job         LowCardinality(String),
    topic       LowCardinality(String),
    partition   UInt32,
    next_offset UInt64,
    state       String, -- base64 of the snapshot bytes
    saved_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(saved_at)
ORDER BY (job, topic, partition);
