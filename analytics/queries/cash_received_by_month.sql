-- Cash received per company, month and currency: incoming bank statement
-- lines, net of nothing (the amount the bank credited). FINAL collapses
-- replayed or re-sent lines to one.
SELECT
    company,
    toStartOfMonth(booking_date) AS month,
    currency,
    count() AS receipts,
    sum(amount) AS received
FROM bank_txns FINAL
WHERE direction = 'credit'
GROUP BY company, month, currency
ORDER BY company, month, currency
