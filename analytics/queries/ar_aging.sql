-- Open receivables by age past due, as of the latest day seen in the data
-- (not the wall clock, so a replayed history ages the same way): the
-- latest bank booking or invoice change, whichever is later, so that a
-- company without bank lines yet still ages. An invoice counts at what
-- matching says is still open of it (recon_open_items) where matching has
-- it, else at its total; one matching has settled is not open, whatever
-- the ERP's status still says. 18.16 fills a missing join row with zeros,
-- not NULL, hence has_item.
SELECT
    company,
    currency,
    multiIf(age <= 0, 'not due', age <= 30, '1-30', age <= 60, '31-60', age <= 90, '61-90', '90+') AS bucket,
    count() AS invoices,
    sum(amount_open) AS amount
FROM
(
    SELECT company, currency,
           if(has_item = 1, open, total) AS amount_open,
           dateDiff('day', due_date, (SELECT greatest((SELECT max(booking_date) FROM bank_txns), (SELECT max(toDate(event_time)) FROM invoices)))) AS age
    FROM
    (
        SELECT company, source, id, currency, total, due_date
        FROM invoices FINAL
        WHERE direction = 'AR' AND status IN ('open', 'partially_paid')
    )
    ALL LEFT JOIN
    (
        SELECT company, source, id, open, status AS item_status, 1 AS has_item
        FROM recon_open_items FINAL
        WHERE kind = 'invoice'
    ) USING (company, source, id)
    WHERE NOT (has_item = 1 AND item_status = 'settled')
)
GROUP BY company, currency, bucket
ORDER BY company, currency, bucket
