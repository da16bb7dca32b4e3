-- Aggregates written by the processors. Each processor task owns one input partition and writes
-- partial aggregates for it (source_partition); a query sums the partitions. Rows are replaced by
-- revision (ReplacingMergeTree(revision)): a later firing of the same window and key carries more
-- events and a higher revision, so reading with FINAL gives the newest. Retracted session shapes
-- are deleted through is_deleted.

CREATE TABLE IF NOT EXISTS {database}.clicks_1m
(
    project_id       LowCardinality(String),
    window_start     DateTime('UTC'),
    dimension        LowCardinality(String),
    value            String,
    source_partition UInt16,
    pageviews        UInt64,
    visitors         UInt64,
    revision         UInt64,
    final            UInt8
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, dimension, window_start, value, source_partition)
TTL window_start + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.sessions
(
    project_id       LowCardinality(String),
    anonymous_id     String,
    session_start    DateTime64(3, 'UTC'),
    session_end      DateTime64(3, 'UTC'),
    source_partition UInt16,
    duration_ms      UInt64,
    pageviews        UInt32,
    events           UInt32,
    entry_path       String,
    exit_path        String,
    referrer_domain  LowCardinality(String),
    utm_source       LowCardinality(String),
    utm_medium       LowCardinality(String),
    utm_campaign     LowCardinality(String),
    device_type      LowCardinality(String),
    browser          LowCardinality(String),
    os               LowCardinality(String),
    country          LowCardinality(String),
    bounced          UInt8,
    revision         UInt64,
    final            UInt8,
    is_deleted       UInt8
)
ENGINE = ReplacingMergeTree(revision, is_deleted)
PARTITION BY toYYYYMM(session_start)
ORDER BY (project_id, toDate(session_start), anonymous_id, session_start)
TTL toDateTime(session_start) + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.page_transitions_1h
(
    project_id       LowCardinality(String),
    window_start     DateTime('UTC'),
    from_path        String,
    to_path          String,
    source_partition UInt16,
    transitions      UInt64,
    revision         UInt64,
    final            UInt8
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, window_start, from_path, to_path, source_partition)
TTL window_start + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.active_visitors_5m
(
    project_id       LowCardinality(String),
    window_start     DateTime('UTC'),
    window_end       DateTime('UTC'),
    source_partition UInt16,
    visitors         UInt64,
    pageviews        UInt64,
    revision         UInt64,
    final            UInt8
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, window_start, source_partition)
TTL window_start + toIntervalDay(30);

CREATE TABLE IF NOT EXISTS {database}.logs_1m
(
    project_id       LowCardinality(String),
    window_start     DateTime('UTC'),
    service          LowCardinality(String),
    level            LowCardinality(String),
    source_partition UInt16,
    lines            UInt64,
    revision         UInt64,
    final            UInt8
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, window_start, service, level, source_partition)
TTL window_start + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.error_fingerprints_1h
(
    project_id       LowCardinality(String),
    window_start     DateTime('UTC'),
    service          LowCardinality(String),
    fingerprint      String,
    template         String,
    source_partition UInt16,
    occurrences      UInt64,
    first_seen       DateTime64(3, 'UTC'),
    last_seen        DateTime64(3, 'UTC'),
    sample_message   String,
    revision         UInt64,
    final            UInt8
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, window_start, service, fingerprint, source_partition)
TTL window_start + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.log_anomalies
(
    project_id   LowCardinality(String),
    service      LowCardinality(String),
    window_start DateTime('UTC'),
    lines        UInt64,
    errors       UInt64,
    error_rate   Float64,
    baseline     Float64,
    factor       Float64,
    direction    LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, service, window_start)
TTL window_start + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.notifications_1m
(
    project_id       LowCardinality(String),
    window_start     DateTime('UTC'),
    channel          LowCardinality(String),
    provider         LowCardinality(String),
    template         LowCardinality(String),
    status           LowCardinality(String),
    source_partition UInt16,
    notifications    UInt64,
    revision         UInt64,
    final            UInt8
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, window_start, channel, provider, template, status, source_partition)
TTL window_start + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.notification_lifecycle
(
    project_id             LowCardinality(String),
    notification_id        String,
    channel                LowCardinality(String),
    provider               LowCardinality(String),
    template               LowCardinality(String),
    user_id                String,
    first_seen             DateTime64(3, 'UTC'),
    sent_at                Nullable(DateTime64(3, 'UTC')),
    delivered_at           Nullable(DateTime64(3, 'UTC')),
    opened_at              Nullable(DateTime64(3, 'UTC')),
    clicked_at             Nullable(DateTime64(3, 'UTC')),
    failed_at              Nullable(DateTime64(3, 'UTC')),
    final_status           LowCardinality(String),
    error_code             LowCardinality(String),
    sent_to_delivered_ms   Nullable(Int64),
    delivered_to_opened_ms Nullable(Int64),
    revision               UInt64
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY (project_id, notification_id)
TTL toDateTime(first_seen) + toIntervalDay(400);
