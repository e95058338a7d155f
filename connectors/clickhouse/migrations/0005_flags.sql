-- The cleaning stage's advisory marks (transforms/clean FlagStage), which
-- never drop a record: duplicate_of names an earlier record that looks like
-- the same document under another id (a duplicate invoice, claim or payment
-- candidate); outlier marks an amount far from the party's usual ones, and
-- outlier_score says how far, in hundredths of a robust spread.
ALTER TABLE invoices ADD COLUMN duplicate_of String DEFAULT '', ADD COLUMN outlier UInt8 DEFAULT 0, ADD COLUMN outlier_score Int32 DEFAULT 0;
ALTER TABLE payments ADD COLUMN duplicate_of String DEFAULT '', ADD COLUMN outlier UInt8 DEFAULT 0, ADD COLUMN outlier_score Int32 DEFAULT 0;
ALTER TABLE bank_txns ADD COLUMN duplicate_of String DEFAULT '', ADD COLUMN outlier UInt8 DEFAULT 0, ADD COLUMN outlier_score Int32 DEFAULT 0;
ALTER TABLE sales_orders ADD COLUMN duplicate_of String DEFAULT '', ADD COLUMN outlier UInt8 DEFAULT 0, ADD COLUMN outlier_score Int32 DEFAULT 0;
ALTER TABLE purchase_orders ADD COLUMN duplicate_of String DEFAULT '', ADD COLUMN outlier UInt8 DEFAULT 0, ADD COLUMN outlier_score Int32 DEFAULT 0;
ALTER TABLE expense_claims ADD COLUMN duplicate_of String DEFAULT '', ADD COLUMN outlier UInt8 DEFAULT 0, ADD COLUMN outlier_score Int32 DEFAULT 0;
