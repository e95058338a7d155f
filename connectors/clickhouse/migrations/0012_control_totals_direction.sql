-- Control totals count money out as well as money in: a day's debit lines
-- (payments, reimbursements, bank charges) against what matching made of
-- them, apart from its credit lines, so direction joins the key. 18.16
-- can add a column to the end of the sorting key only as it adds the
-- column, and only without a default; the rows from before have it empty,
-- so they are copied as credit rows (which they were) and then deleted.
-- A second run of this file (a crash before it was recorded) copies them
-- again, under the same key and version: one row to FINAL, merged away.
ALTER TABLE recon_control_totals ADD COLUMN direction String AFTER company, MODIFY ORDER BY (company, currency, day, direction);
INSERT INTO recon_control_totals (company, direction, currency, day, lines, lines_amount, matched_amount, review_amount, unmatched_amount, balanced, version)
    SELECT company, 'credit', currency, day, lines, lines_amount, matched_amount, review_amount, unmatched_amount, balanced, version
    FROM recon_control_totals WHERE direction = '';
ALTER TABLE recon_control_totals DELETE WHERE direction = '';
