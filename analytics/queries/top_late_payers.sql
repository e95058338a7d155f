-- Customers who pay late: AR invoices whose latest version is paid, with
-- the day that version was recorded taken as the payment day. Until
-- matching links receipts to invoices this is the ERP's own view of when
-- an invoice was settled.
SELECT
    company,
    party_id AS customer_id,
    any(party_name) AS customer,
    count() AS paid_invoices,
    countIf(toDate(event_time) > due_date) AS paid_late,
    round(avg(dateDiff('day', due_date, toDate(event_time))), 1) AS avg_days_late,
    max(dateDiff('day', due_date, toDate(event_time))) AS worst_days_late
FROM invoices FINAL
WHERE direction = 'AR' AND status = 'paid'
GROUP BY company, customer_id
HAVING paid_late > 0
ORDER BY avg_days_late DESC, paid_late DESC, company, customer_id
LIMIT 10
