-- Open receivables by age past due, as of the latest booking day seen in
-- the data (not the wall clock, so a replayed history ages the same way).
-- Partly paid invoices count at their full total until matching knows the
-- residual.
SELECT
    company,
    currency,
    multiIf(age <= 0, 'not due', age <= 30, '1-30', age <= 60, '31-60', age <= 90, '61-90', '90+') AS bucket,
    count() AS invoices,
    sum(total) AS amount
FROM
(
    SELECT company, currency, total,
           dateDiff('day', due_date, (SELECT max(booking_date) FROM bank_txns)) AS age
    FROM invoices FINAL
    WHERE direction = 'AR' AND status IN ('open', 'partially_paid')
)
GROUP BY company, currency, bucket
ORDER BY company, currency, bucket
