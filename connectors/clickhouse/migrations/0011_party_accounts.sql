-- A party's bank account (party.account in the canonical JSON) was kept only
-- on bank lines: every other kind's tables had no column for it, so it was
-- dropped on landing. Matching learns which payer account is whose from an
-- AR invoice's, and a rebuild from the tables did not know it: a line paid
-- from a customer's account under an agent's name was confirmed live and
-- unmatched after a restart. Each kind's party gets its account, in the
-- canonical table and in its _versions table.
--
-- The views copying inserts into the _versions tables are replaced by ones
-- that copy the new column too. The new view is made before the old one is
-- dropped, so an insert made meanwhile (by a member not yet restarted) is
-- copied once or twice, never not at all: a version copied twice is one row
-- to History, and merges away (the version is in the _versions key).

ALTER TABLE invoices ADD COLUMN party_account String DEFAULT '';
ALTER TABLE invoices_versions ADD COLUMN party_account String DEFAULT '';
ALTER TABLE payments ADD COLUMN party_account String DEFAULT '';
ALTER TABLE payments_versions ADD COLUMN party_account String DEFAULT '';
ALTER TABLE sales_orders ADD COLUMN customer_account String DEFAULT '';
ALTER TABLE sales_orders_versions ADD COLUMN customer_account String DEFAULT '';
ALTER TABLE shipments ADD COLUMN customer_account String DEFAULT '';
ALTER TABLE shipments_versions ADD COLUMN customer_account String DEFAULT '';
ALTER TABLE purchase_orders ADD COLUMN supplier_account String DEFAULT '';
ALTER TABLE purchase_orders_versions ADD COLUMN supplier_account String DEFAULT '';
ALTER TABLE goods_receipts ADD COLUMN supplier_account String DEFAULT '';
ALTER TABLE goods_receipts_versions ADD COLUMN supplier_account String DEFAULT '';
ALTER TABLE expense_claims ADD COLUMN employee_account String DEFAULT '';
ALTER TABLE expense_claims_versions ADD COLUMN employee_account String DEFAULT '';
ALTER TABLE approvals ADD COLUMN approver_account String DEFAULT '';
ALTER TABLE approvals_versions ADD COLUMN approver_account String DEFAULT '';

CREATE MATERIALIZED VIEW IF NOT EXISTS invoices_versions_feed TO invoices_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, direction, party_id, party_name, issue_date, due_date, currency, total,
    tax, status, order_ref, line_sku, line_description, line_quantity, line_unit_price,
    line_amount, mapping, mapping_version, party_key, duplicate_of, outlier, outlier_score, party_account
FROM invoices;
DROP TABLE IF EXISTS invoices_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS payments_versions_feed TO payments_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, direction, party_id, party_name, currency, amount, method, value_date,
    status, invoice_refs, remittance, bank_account, counterparty_account, mapping, mapping_version,
    party_key, duplicate_of, outlier, outlier_score, party_account
FROM payments;
DROP TABLE IF EXISTS payments_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS sales_orders_versions_feed TO sales_orders_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, customer_id, customer_name, order_date, status, channel, currency, total,
    line_sku, line_description, line_quantity, line_unit_price, line_amount, mapping,
    mapping_version, customer_key, duplicate_of, outlier, outlier_score, customer_account
FROM sales_orders;
DROP TABLE IF EXISTS sales_orders_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS shipments_versions_feed TO shipments_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, order_ref, customer_id, customer_name, ship_date, delivered_date, status,
    carrier, line_sku, line_quantity, mapping, mapping_version, customer_account
FROM shipments;
DROP TABLE IF EXISTS shipments_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS purchase_orders_versions_feed TO purchase_orders_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, supplier_id, supplier_name, order_date, status, currency, total, line_sku,
    line_description, line_quantity, line_unit_price, line_amount, mapping, mapping_version,
    supplier_key, duplicate_of, outlier, outlier_score, supplier_account
FROM purchase_orders;
DROP TABLE IF EXISTS purchase_orders_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS goods_receipts_versions_feed TO goods_receipts_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, po_ref, supplier_id, supplier_name, receipt_date, status, line_sku,
    line_quantity, mapping, mapping_version, supplier_account
FROM goods_receipts;
DROP TABLE IF EXISTS goods_receipts_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS expense_claims_versions_feed TO expense_claims_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, number, employee_id, employee_name, department, currency, amount, claim_date,
    expense_type, gl_account, description, approval_status, paid, paid_date, mapping,
    mapping_version, duplicate_of, outlier, outlier_score, employee_account
FROM expense_claims;
DROP TABLE IF EXISTS expense_claims_versions_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS approvals_versions_feed TO approvals_versions AS SELECT
    company, source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset,
    raw_sha256, subject_kind, subject_id, step, level, required_levels, approver_id, approver_name,
    action, acted_at, comment, mapping, mapping_version, approver_account
FROM approvals;
DROP TABLE IF EXISTS approvals_versions_mv;
