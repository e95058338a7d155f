-- Party names reduced for matching (transforms/clean MatchKey: case,
-- punctuation and legal suffixes dropped), so that analysts and the
-- matching stage can group 上海华东贸易有限公司 with 上海华东贸易.
ALTER TABLE invoices ADD COLUMN party_key String DEFAULT '';
ALTER TABLE payments ADD COLUMN party_key String DEFAULT '';
ALTER TABLE bank_txns ADD COLUMN counterparty_key String DEFAULT '';
ALTER TABLE sales_orders ADD COLUMN customer_key String DEFAULT '';
ALTER TABLE purchase_orders ADD COLUMN supplier_key String DEFAULT '';
