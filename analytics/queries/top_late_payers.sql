-- Customers who pay late: AR invoices whose latest version is paid. An
-- invoice is paid on the booking day of the latest bank line that matching
-- applied to it (its current match, confirmed or accepted), which is when
-- the money came; the ERP posts it days later, on a UTC day. Without such
-- a match (matching off, paid by other means) the day the ERP recorded it
-- paid stands in. Credit notes (negative totals) are not payments by the
-- customer. 18.16 fills a missing join row with zeros, hence has_match.
SELECT
    company,
    customer_id,
    any(customer) AS customer,
    count() AS paid_invoices,
    countIf(paid_day > due_date) AS paid_late,
    round(avg(dateDiff('day', due_date, paid_day)), 1) AS avg_days_late,
    max(dateDiff('day', due_date, paid_day)) AS worst_days_late
FROM
(
    SELECT company, party_id AS customer_id, party_name AS customer, due_date,
           if(has_match = 1, bank_day, toDate(event_time)) AS paid_day
    FROM
    (
        SELECT company, party_id, party_name, due_date, event_time, concat(company, '/', source, '/', id) AS target_id
        FROM invoices FINAL
        WHERE direction = 'AR' AND status = 'paid' AND total > 0
    )
    ALL LEFT JOIN
    (
        SELECT target_id, max(booking_date) AS bank_day, 1 AS has_match
        FROM
        (
            SELECT company, line_id, match_id, target_id
            FROM recon_match_lines FINAL
            WHERE target_kind = 'invoice' AND outcome IN ('confirmed', 'accepted')
        )
        ALL INNER JOIN
        (
            SELECT company, line_id, match_id, booking_date
            FROM recon_matches FINAL
            WHERE outcome IN ('confirmed', 'accepted')
        ) USING (company, line_id, match_id)
        GROUP BY target_id
    ) USING (target_id)
)
GROUP BY company, customer_id
HAVING paid_late > 0
ORDER BY avg_days_late DESC, paid_late DESC, company, customer_id
LIMIT 10
