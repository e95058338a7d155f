-- The mapping that turned a source record into the row (name and version
-- of the file in transforms/mapping/sources/); empty and 0 for records that
-- arrived canonical.
ALTER TABLE invoices ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE payments ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE bank_txns ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE sales_orders ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE shipments ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE purchase_orders ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE goods_receipts ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE expense_claims ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
ALTER TABLE approvals ADD COLUMN mapping String DEFAULT '', ADD COLUMN mapping_version UInt32 DEFAULT 0;
