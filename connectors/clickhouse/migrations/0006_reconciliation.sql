-- What the matching stage (transforms/match) made of the records. Every
-- row is derived deterministically from the records and their event times,
-- so a replay writes the same rows again; version is the event time (in
-- microseconds) of the record that caused the row, so the latest state of a
-- line, item or exception wins. Read with FINAL or argMax.

-- One row per bank line: its current outcome (confirmed, review, unmatched,
-- or after a person's decision accepted, rejected, reversed), the rule and
-- score behind it and the explanation, criterion by criterion.
CREATE TABLE IF NOT EXISTS recon_matches (
    company String, line_id String, match_id String,
    direction String, currency String, amount Decimal(18, 4), charges Decimal(18, 4), booking_date Date,
    outcome String, rule String, rules_version UInt32, score Float64, candidates UInt32,
    criterion_name Array(String), criterion_pass Array(UInt8), criterion_detail Array(String),
    alternatives Array(String),
    decided_by String, decision_reason String,
    event_time DateTime('UTC'), version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, line_id);

-- What a bank line's match applies to each document (invoice, expense
-- claim, payment), in the line's currency.
CREATE TABLE IF NOT EXISTS recon_match_lines (
    company String, line_id String, match_id String, outcome String,
    target_kind String, target_id String, currency String, amount Decimal(18, 4),
    version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, line_id, target_kind, target_id);

-- The open-item book as matching holds it: what is still open of each
-- invoice, outgoing payment and approved claim. status is open, settled or
-- removed (cancelled, returned).
CREATE TABLE IF NOT EXISTS recon_open_items (
    company String, kind String, source String, id String, number String,
    direction String, party_key String, currency String,
    total Decimal(18, 4), open Decimal(18, 4), due_date Date, status String,
    event_time DateTime('UTC'), version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, kind, source, id);

-- Exceptions for finance operations: type, subject, what was checked and
-- the next step a clerk can take. status is open or resolved.
CREATE TABLE IF NOT EXISTS recon_exceptions (
    company String, exception_id String, type String, reason String,
    subject_kind String, subject_id String, related_id String,
    currency String, amount Decimal(18, 4), status String,
    criterion_name Array(String), criterion_pass Array(UInt8), criterion_detail Array(String),
    next_step String, event_date Date, event_time DateTime('UTC'), version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, exception_id);

-- Per company, currency and booking day: the bank credit lines against
-- what became of them. lines_amount = matched + review + unmatched, to the
-- cent, or the day is an exception.
CREATE TABLE IF NOT EXISTS recon_control_totals (
    company String, currency String, day Date, lines UInt32,
    lines_amount Decimal(18, 4), matched_amount Decimal(18, 4),
    review_amount Decimal(18, 4), unmatched_amount Decimal(18, 4), balanced UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, currency, day);

-- Review decisions (accept, reject, unmatch): who, when and why. Decisions
-- are records, never edits: a reversal is a new row here and a new version
-- of the line in recon_matches.
CREATE TABLE IF NOT EXISTS recon_reviews (
    company String, line_id String, match_id String, action String,
    actor String, reason String, decided_at DateTime('UTC'), version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, line_id, decided_at, action);
