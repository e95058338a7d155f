-- The views of migration 0008 selected *: a column added to a canonical
-- table (by a later migration, or by hand) made every insert into it fail
-- while pushing to the view, and the sink retried for ever. They name
-- their columns now, so a column added to a canonical table is simply not
-- copied until its _versions table and view are given it too. A column a
-- migration changes the type of must still change in both tables.

DROP TABLE IF EXISTS invoices_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS invoices_versions_mv TO invoices_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, direction, party_id, party_name, issue_date, due_date, currency, total,
    tax, status, order_ref, line_sku, line_description, line_quantity, line_unit_price,
    line_amount, mapping, mapping_version, party_key, duplicate_of, outlier, outlier_score
FROM invoices;

DROP TABLE IF EXISTS payments_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS payments_versions_mv TO payments_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, direction, party_id, party_name, currency, amount, method, value_date,
    status, invoice_refs, remittance, bank_account, counterparty_account, mapping, mapping_version,
    party_key, duplicate_of, outlier, outlier_score
FROM payments;

DROP TABLE IF EXISTS bank_txns_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS bank_txns_versions_mv TO bank_txns_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, account, booking_date, value_date, direction, currency, amount, charges,
    counterparty_name, counterparty_account, remittance, bank_ref, mapping, mapping_version,
    counterparty_key, duplicate_of, outlier, outlier_score
FROM bank_txns;

DROP TABLE IF EXISTS sales_orders_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS sales_orders_versions_mv TO sales_orders_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, customer_id, customer_name, order_date, status, channel, currency, total,
    line_sku, line_description, line_quantity, line_unit_price, line_amount, mapping,
    mapping_version, customer_key, duplicate_of, outlier, outlier_score
FROM sales_orders;

DROP TABLE IF EXISTS shipments_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS shipments_versions_mv TO shipments_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, order_ref, customer_id, customer_name, ship_date, delivered_date, status,
    carrier, line_sku, line_quantity, mapping, mapping_version
FROM shipments;

DROP TABLE IF EXISTS purchase_orders_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS purchase_orders_versions_mv TO purchase_orders_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, supplier_id, supplier_name, order_date, status, currency, total, line_sku,
    line_description, line_quantity, line_unit_price, line_amount, mapping, mapping_version,
    supplier_key, duplicate_of, outlier, outlier_score
FROM purchase_orders;

DROP TABLE IF EXISTS goods_receipts_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS goods_receipts_versions_mv TO goods_receipts_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, po_ref, supplier_id, supplier_name, receipt_date, status, line_sku,
    line_quantity, mapping, mapping_version
FROM goods_receipts;

DROP TABLE IF EXISTS expense_claims_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS expense_claims_versions_mv TO expense_claims_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, employee_id, employee_name, department, currency, amount, claim_date,
    expense_type, gl_account, description, approval_status, paid, paid_date, mapping,
    mapping_version, duplicate_of, outlier, outlier_score
FROM expense_claims;

DROP TABLE IF EXISTS approvals_versions_mv;
CREATE MATERIALIZED VIEW IF NOT EXISTS approvals_versions_mv TO approvals_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, subject_kind, subject_id, step, level, required_levels, approver_id, approver_name,
    action, acted_at, comment, mapping, mapping_version
FROM approvals;
