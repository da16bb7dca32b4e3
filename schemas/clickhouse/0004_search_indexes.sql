-- Log and notification search without Elasticsearch (core/search/clickhouse). Free text is
-- matched with hasTokenCaseInsensitive, which a token bloom filter over lower(text) can answer:
-- granules without the token are skipped. Ids people paste (trace, user) get bloom filters too.
-- New parts get the indexes; for data written before, run (a mutation, it rewrites the parts):
--   ALTER TABLE <db>.events_log MATERIALIZE INDEX message_tokens
ALTER TABLE {database}.events_log ADD INDEX IF NOT EXISTS message_tokens lower(message) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1;
ALTER TABLE {database}.events_log ADD INDEX IF NOT EXISTS trace_id_bloom trace_id TYPE bloom_filter(0.01) GRANULARITY 1;
ALTER TABLE {database}.events_notification ADD INDEX IF NOT EXISTS error_message_tokens lower(error_message) TYPE tokenbf_v1(8192, 3, 0) GRANULARITY 1;
ALTER TABLE {database}.events_notification ADD INDEX IF NOT EXISTS user_id_bloom user_id TYPE bloom_filter(0.01) GRANULARITY 1;
