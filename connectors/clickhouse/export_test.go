package clickhouse

// InKeyOrder is inKeyOrder, for the external tests.
var InKeyOrder = inKeyOrder
