-- One ReplacingMergeTree(version) table per kind, ordered by the natural
-- key: a record delivered twice, or replayed after a crash, collapses to its
-- highest version, so readers using FINAL or argMax see each record once.
-- No PARTITION BY: replacing only works inside a partition, and a record's
-- newer version may carry another event date.
-- Money is Decimal(18,4) next to its ISO 4217 currency; times are UTC.

CREATE TABLE IF NOT EXISTS invoices (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, direction String, party_id String, party_name String,
    issue_date Date, due_date Date, currency String,
    total Decimal(18, 4), tax Decimal(18, 4), status String, order_ref String,
    line_sku Array(String), line_description Array(String), line_quantity Array(Decimal(18, 4)),
    line_unit_price Array(Decimal(18, 4)), line_amount Array(Decimal(18, 4))
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS payments (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, direction String, party_id String, party_name String,
    currency String, amount Decimal(18, 4), method String, value_date Date, status String,
    invoice_refs Array(String), remittance String, bank_account String, counterparty_account String
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS bank_txns (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    account String, booking_date Date, value_date Date, direction String,
    currency String, amount Decimal(18, 4), charges Decimal(18, 4),
    counterparty_name String, counterparty_account String, remittance String, bank_ref String
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS sales_orders (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, customer_id String, customer_name String, order_date Date, status String,
    channel String, currency String, total Decimal(18, 4),
    line_sku Array(String), line_description Array(String), line_quantity Array(Decimal(18, 4)),
    line_unit_price Array(Decimal(18, 4)), line_amount Array(Decimal(18, 4))
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS shipments (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, order_ref String, customer_id String, customer_name String,
    ship_date Date, delivered_date Nullable(Date), status String, carrier String,
    line_sku Array(String), line_quantity Array(Decimal(18, 4))
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS purchase_orders (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, supplier_id String, supplier_name String, order_date Date, status String,
    currency String, total Decimal(18, 4),
    line_sku Array(String), line_description Array(String), line_quantity Array(Decimal(18, 4)),
    line_unit_price Array(Decimal(18, 4)), line_amount Array(Decimal(18, 4))
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS goods_receipts (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, po_ref String, supplier_id String, supplier_name String,
    receipt_date Date, status String,
    line_sku Array(String), line_quantity Array(Decimal(18, 4))
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS expense_claims (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    number String, employee_id String, employee_name String, department String,
    currency String, amount Decimal(18, 4), claim_date Date, expense_type String, gl_account String,
    description String, approval_status String, paid UInt8, paid_date Nullable(Date)
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);

CREATE TABLE IF NOT EXISTS approvals (
    company String, source String, id String, version UInt64,
    event_time DateTime('UTC'), ingest_time DateTime('UTC'),
    src_topic String, src_partition UInt32, src_offset UInt64, raw_sha256 String,
    subject_kind String, subject_id String, step UInt32, level UInt32, required_levels UInt32,
    approver_id String, approver_name String, action String, acted_at DateTime('UTC'), comment String
) ENGINE = ReplacingMergeTree(version) ORDER BY (company, source, id);
