-- A day's control totals add up every credit line of a company and
-- currency. One line holds at most record.MaxMajor (10^14) in major
-- units, which Decimal(18, 4) takes, but ten such lines on one day do not
-- fit its Int64: the row could not be written, and the batch carrying it
-- would have been retried for ever. Decimal(38, 4) holds any sum matching
-- keeps: an int64 of minor units, past which matching marks the day
-- overflowed instead of adding on.
ALTER TABLE recon_control_totals MODIFY COLUMN lines_amount Decimal(38, 4), MODIFY COLUMN matched_amount Decimal(38, 4),
    MODIFY COLUMN review_amount Decimal(38, 4), MODIFY COLUMN unmatched_amount Decimal(38, 4);
