-- Records recognised as already landed and not written again (exact
-- re-sends, older versions), one row per Kafka message: duplicates are
-- counted, not dead-lettered, and the counts must survive restarts. The
-- key is the message's coordinates, so a replay after a crash lands on the
-- same rows; count with FINAL.
CREATE TABLE IF NOT EXISTS duplicates (
    kind String, company String, source String, id String, version UInt64,
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    ingest_time DateTime('UTC')
) ENGINE = ReplacingMergeTree ORDER BY (src_topic, src_partition, src_offset);
