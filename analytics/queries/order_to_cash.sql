-- Order to cash: each sales order's way to cash, as matching's tracker
-- works it out (docs/matching.md, "Order to cash"), one row a chain: the
-- furthest step reached, the day each step was first reached, the days
-- each step took, and the AR invoices on it. A chain is a sales order with
-- the shipments and AR invoices that name it; an AR invoice that bills no
-- order is a chain of its own (order_number empty). Latest versions only.
--
-- shipped: the first shipment shipped or delivered; delivered: the first
-- delivery signed off; invoiced: the first invoice issued (cancelled ones
-- do not count). Money on an invoice is what current confirmed or accepted
-- matches applied to it, in its own currency, on the bank line's booking
-- day (matching's tracker also counts the ERP's receipts of drafts, cheques
-- and cash, which no bank line brings; here such an invoice is paid once
-- the ERP marks it so). A chain is paid when, currency by currency, its invoices net of
-- credit notes have nothing left to come, or when the ERP marked every
-- invoice paid (finance writing off a bank fee); paid_on is then the day
-- the last money came (a receipt, or the ERP's marking). A step not
-- reached is NULL, and so are the days of a step that needs it.
--
-- 18.16: one JOIN a SELECT, USING only, and a missing join row filled
-- with zeros, not NULL (hence toDate(0) for "none"); a currency whose
-- invoices are all cancelled has no issue date or ERP marking to count.
SELECT
    company,
    order_number,
    order_id,
    multiIf(order_cancelled = 1, 'cancelled',
            billed = 0, multiIf(delivered != toDate(0), 'delivered', shipped != toDate(0), 'shipped', 'ordered'),
            unpaid_currencies = 0 OR all_by_erp = 1, 'paid',
            some_money = 1, 'partially_paid',
            'invoiced') AS status,
    if(ordered = toDate(0), NULL, ordered) AS ordered_on,
    if(shipped = toDate(0), NULL, shipped) AS shipped_on,
    if(delivered = toDate(0), NULL, delivered) AS delivered_on,
    if(invoiced = toDate(0), NULL, invoiced) AS invoiced_on,
    if(status = 'paid' AND last_money != toDate(0), last_money, NULL) AS paid_on,
    if(ordered_on IS NULL OR shipped_on IS NULL, NULL, dateDiff('day', ordered, shipped)) AS days_to_ship,
    if(shipped_on IS NULL OR delivered_on IS NULL, NULL, dateDiff('day', shipped, delivered)) AS days_to_deliver,
    if(delivered_on IS NULL OR invoiced_on IS NULL, NULL, dateDiff('day', delivered, invoiced)) AS days_to_invoice,
    if(invoiced_on IS NULL OR paid_on IS NULL, NULL, dateDiff('day', invoiced, last_money)) AS days_to_cash,
    arraySort(invoice_ids) AS invoice_ids
FROM
(
    SELECT *
    FROM
    (
        SELECT *
        FROM
        (
            SELECT company, chain, any(order_number) AS order_number
            FROM
            (
                SELECT company, number AS chain, number AS order_number FROM sales_orders FINAL
                UNION ALL
                SELECT company, order_ref AS chain, order_ref AS order_number FROM shipments FINAL WHERE order_ref != ''
                UNION ALL
                SELECT company, if(order_ref = '', concat('\0', source, '/', id), order_ref) AS chain, order_ref AS order_number
                FROM invoices FINAL WHERE direction = 'AR'
            )
            GROUP BY company, chain
        )
        ANY LEFT JOIN
        (
            SELECT company, number AS chain, concat(company, '/', source, '/', id) AS order_id, order_date AS ordered,
                   toUInt8(status = 'cancelled') AS order_cancelled
            FROM sales_orders FINAL
        ) USING (company, chain)
    )
    ANY LEFT JOIN
    (
        SELECT company, order_ref AS chain,
               minIf(ship_date, status IN ('shipped', 'delivered')) AS shipped,
               minIf(assumeNotNull(delivered_date), status = 'delivered' AND delivered_date IS NOT NULL) AS delivered
        FROM shipments FINAL
        WHERE order_ref != ''
        GROUP BY company, chain
    ) USING (company, chain)
)
ANY LEFT JOIN
(
    SELECT company, chain,
           sum(billed_c) AS billed,
           minIf(invoiced_c, billed_c > 0) AS invoiced,
           countIf(left_c > 0) AS unpaid_currencies,
           max(some_c) AS some_money,
           minIf(all_by_erp_c, billed_c > 0) AS all_by_erp,
           max(last_money_c) AS last_money,
           groupArrayArray(ids_c) AS invoice_ids
    FROM
    (
        SELECT company, chain, currency,
               countIf(cancelled = 0) AS billed_c,
               minIf(issue_date, cancelled = 0) AS invoiced_c,
               sumIf(total - received, cancelled = 0) AS left_c,
               maxIf(toUInt8(received > 0 OR erp_paid = 1), cancelled = 0) AS some_c,
               minIf(toUInt8(erp_paid = 1 OR total <= 0), cancelled = 0) AS all_by_erp_c,
               maxIf(paid_day, cancelled = 0) AS last_money_c,
               groupArray(target_id) AS ids_c
        FROM
        (
            SELECT company, target_id, if(order_ref = '', concat('\0', source, '/', id), order_ref) AS chain, currency, total,
                   issue_date, toUInt8(status = 'cancelled') AS cancelled, toUInt8(status = 'paid') AS erp_paid,
                   received,
                   greatest(if(status = 'paid', toDate(event_time), toDate(0)), if(has_match = 1, bank_day, toDate(0))) AS paid_day
            FROM
            (
                SELECT company, source, id, concat(company, '/', source, '/', id) AS target_id, order_ref, currency, total,
                       issue_date, status, event_time
                FROM invoices FINAL
                WHERE direction = 'AR'
            )
            ANY LEFT JOIN
            (
                SELECT target_id, currency, sum(amount) AS received, max(booking_date) AS bank_day, 1 AS has_match
                FROM
                (
                    SELECT company, line_id, match_id, target_id, currency, amount
                    FROM recon_match_lines FINAL
                    WHERE target_kind = 'invoice' AND outcome IN ('confirmed', 'accepted')
                )
                ALL INNER JOIN
                (
                    SELECT company, line_id, match_id, booking_date
                    FROM recon_matches FINAL
                    WHERE outcome IN ('confirmed', 'accepted')
                ) USING (company, line_id, match_id)
                GROUP BY target_id, currency
            ) USING (target_id, currency)
        )
        GROUP BY company, chain, currency
    )
    GROUP BY company, chain
) USING (company, chain)
ORDER BY company, order_number, invoice_ids
