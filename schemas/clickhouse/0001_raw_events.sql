-- Raw events, one table per stream. ReplacingMergeTree keyed on event_id deduplicates replays and
-- client retries (queries read with FINAL or count distinct event_id). The sort key starts with
-- project and day, the filter of nearly every query; the TTL is kept equal to EDDY_RETENTION_DAYS
-- by `eddy migrate`.

CREATE TABLE IF NOT EXISTS {database}.events_click
(
    event_id        UUID,
    project_id      LowCardinality(String),
    type            LowCardinality(String),
    name            String,
    ts              DateTime64(3, 'UTC'),
    received_at     DateTime64(3, 'UTC'),
    anonymous_id    String,
    user_id         String,
    session_id      String,
    url             String,
    path            String,
    title           String,
    referrer        String,
    referrer_domain LowCardinality(String),
    utm_source      LowCardinality(String),
    utm_medium      LowCardinality(String),
    utm_campaign    LowCardinality(String),
    utm_term        String,
    utm_content     String,
    browser         LowCardinality(String),
    os              LowCardinality(String),
    device_type     LowCardinality(String),
    country         LowCardinality(String),
    screen          LowCardinality(String),
    locale          LowCardinality(String),
    properties      Map(LowCardinality(String), String),
    visitor_hash    String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (project_id, toDate(ts), event_id)
TTL toDateTime(ts) + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.events_log
(
    event_id    UUID,
    project_id  LowCardinality(String),
    ts          DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    service     LowCardinality(String),
    host        LowCardinality(String),
    level       LowCardinality(String),
    message     String,
    logger      String,
    trace_id    String,
    span_id     String,
    attributes  Map(LowCardinality(String), String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (project_id, toDate(ts), service, event_id)
TTL toDateTime(ts) + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS {database}.events_notification
(
    event_id        UUID,
    project_id      LowCardinality(String),
    ts              DateTime64(3, 'UTC'),
    received_at     DateTime64(3, 'UTC'),
    notification_id String,
    channel         LowCardinality(String),
    provider        LowCardinality(String),
    template        LowCardinality(String),
    user_id         String,
    status          LowCardinality(String),
    error_code      LowCardinality(String),
    error_message   String,
    attributes      Map(LowCardinality(String), String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (project_id, toDate(ts), notification_id, event_id)
TTL toDateTime(ts) + toIntervalDay(400);
