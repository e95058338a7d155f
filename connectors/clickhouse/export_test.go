package clickhouse

import (
	"fmt"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// SentKeys lists, in the order the sink sends them, the keys of the rows
// of kind k that one insert of the batches holds: company|source|id|version.
func SentKeys(bs []*pipeline.Batch, k record.Kind) []string {
	rows, lines := countRows(bs)
	t := kindBuffer(bs, k, rows[k], lines[k])
	out := make([]string, t.rows)
	for i := range out {
		out[i] = fmt.Sprintf("%s|%s|%s|%d", t.company[i], t.source[i], t.id[i], t.version[i])
	}
	return out
}
