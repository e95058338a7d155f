-- Every version of every record that landed. The canonical tables keep
-- only a record's newest version once ClickHouse has merged their parts,
-- but matching's rebuild (after a restart or a rebalance) must replay the
-- versions it matched on: an expense claim approved, paid by a bank debit,
-- then marked paid by the ERP is otherwise replayed as paid before the
-- debit came, and the debit goes unmatched. A materialized view copies
-- each insert on the server, so the pipeline sends every row once; the
-- version is part of the key, so only a version landed twice (a replayed
-- batch) collapses. The copy of what landed before this migration keeps
-- the versions not yet merged away.
--
-- (Migration 0009 replaces the views with ones that name their columns.)

CREATE TABLE IF NOT EXISTS invoices_versions AS invoices
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS invoices_versions_mv TO invoices_versions AS SELECT * FROM invoices;
INSERT INTO invoices_versions SELECT * FROM invoices;

CREATE TABLE IF NOT EXISTS payments_versions AS payments
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS payments_versions_mv TO payments_versions AS SELECT * FROM payments;
INSERT INTO payments_versions SELECT * FROM payments;

CREATE TABLE IF NOT EXISTS bank_txns_versions AS bank_txns
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS bank_txns_versions_mv TO bank_txns_versions AS SELECT * FROM bank_txns;
INSERT INTO bank_txns_versions SELECT * FROM bank_txns;

CREATE TABLE IF NOT EXISTS sales_orders_versions AS sales_orders
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS sales_orders_versions_mv TO sales_orders_versions AS SELECT * FROM sales_orders;
INSERT INTO sales_orders_versions SELECT * FROM sales_orders;

CREATE TABLE IF NOT EXISTS shipments_versions AS shipments
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS shipments_versions_mv TO shipments_versions AS SELECT * FROM shipments;
INSERT INTO shipments_versions SELECT * FROM shipments;

CREATE TABLE IF NOT EXISTS purchase_orders_versions AS purchase_orders
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS purchase_orders_versions_mv TO purchase_orders_versions AS SELECT * FROM purchase_orders;
INSERT INTO purchase_orders_versions SELECT * FROM purchase_orders;

CREATE TABLE IF NOT EXISTS goods_receipts_versions AS goods_receipts
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS goods_receipts_versions_mv TO goods_receipts_versions AS SELECT * FROM goods_receipts;
INSERT INTO goods_receipts_versions SELECT * FROM goods_receipts;

CREATE TABLE IF NOT EXISTS expense_claims_versions AS expense_claims
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS expense_claims_versions_mv TO expense_claims_versions AS SELECT * FROM expense_claims;
INSERT INTO expense_claims_versions SELECT * FROM expense_claims;

CREATE TABLE IF NOT EXISTS approvals_versions AS approvals
    ENGINE = ReplacingMergeTree() ORDER BY (company, source, id, version);
CREATE MATERIALIZED VIEW IF NOT EXISTS approvals_versions_mv TO approvals_versions AS SELECT * FROM approvals;
INSERT INTO approvals_versions SELECT * FROM approvals;
