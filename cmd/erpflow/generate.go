package main

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// generateFlags are shared by generate and demo.
type generateFlags struct {
	seed                    int64
	days, companies, perDay int
	start                   string
}

func (f *generateFlags) add(c *cobra.Command, days, companies int) {
	c.Flags().Int64Var(&f.seed, "seed", 1, "random seed; equal flags give byte-identical output")
	c.Flags().IntVar(&f.days, "days", days, "days of business to simulate")
	c.Flags().IntVar(&f.companies, "companies", companies, "number of companies")
	c.Flags().IntVar(&f.perDay, "orders-per-day", 150, "mean sales orders per company and day (sets the volume)")
	c.Flags().StringVar(&f.start, "start", "2025-01-01", "first simulated day, YYYY-MM-DD (never the wall clock)")
}

func (f *generateFlags) config() (generator.Config, error) {
	start, err := record.ParseDate(f.start)
	if err != nil {
		return generator.Config{}, usagef("--start %q: %v", f.start, err)
	}
	if f.days < 1 || f.companies < 1 || f.perDay < 1 {
		return generator.Config{}, usagef("--days, --companies and --orders-per-day must be at least 1")
	}
	cfg := generator.Config{Seed: f.seed, Days: f.days, Companies: f.companies, Start: start, OrdersPerDay: f.perDay}
	if err := cfg.Check(); err != nil {
		return generator.Config{}, usagef("%v", err)
	}
	return cfg, nil
}

func newGenerate() *cobra.Command {
	var f generateFlags
	var out string
	var raw bool
	c := &cobra.Command{
		Use:   "generate [--raw] --out DIR",
		Short: "Write a realistic, seeded company world as canonical records",
		Long: `Simulates companies with customers, suppliers and employees: orders, shipments,
invoices, receipts (on time, late, partial, batched, short by bank fees, never
paid), purchase-to-pay with approvals, and expense claims. Writes
DIR/records.ndjson (canonical records) and DIR/truth.ndjson (which bank line
settles what, and every planted anomaly). See docs/generator.md.

With --raw the same world comes as the source systems send it: DIR/raw/<source>.ndjson
for reimb_cn, erp_cn, sap_en, shop, bank_a and bank_b, with their field names and
mess; DIR/records.ndjson then holds the canonical records they must become plus
the kinds that have no raw shape (docs/sources.md).`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			cfg, err := f.config()
			if err != nil {
				return err
			}
			st, err := writeWorld(cfg, out, raw)
			if err != nil {
				return err
			}
			printWorld(cmd, st, out)
			return nil
		},
	}
	f.add(c, 90, 3)
	c.Flags().StringVar(&out, "out", "", "output directory")
	c.Flags().BoolVar(&raw, "raw", false, "write the sources' own shapes under DIR/raw/ as well")
	return c
}

func writeWorld(cfg generator.Config, out string, raw bool) (generator.Stats, error) {
	var p *progress
	write := generator.WriteFiles
	if raw {
		write = generator.WriteRawFiles
	}
	st, err := write(cfg, out, func(done, total int) {
		if p == nil {
			p = newProgress("generate", int64(total))
		}
		p.Set(int64(done))
	})
	if p != nil {
		p.Finish()
	}
	return st, err
}

func printWorld(cmd *cobra.Command, st generator.Stats, out string) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %d records (%d exact re-sends) to %s\n", st.Records, st.Duplicates, filepath.Join(out, "records.ndjson"))
	kinds := make([]string, 0, len(st.ByKind))
	for k := range st.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-16s %8d\n", k, st.ByKind[k])
	}
	n := 0
	for _, c := range st.Exceptions {
		n += c
	}
	fmt.Fprintf(w, "wrote %d truth links and %d planted exceptions to %s\n", st.Links, n, filepath.Join(out, "truth.ndjson"))
	if len(st.Raw) > 0 {
		sources := make([]string, 0, len(st.Raw))
		for s := range st.Raw {
			sources = append(sources, s)
		}
		sort.Strings(sources)
		fmt.Fprintf(w, "raw sources (lines = records + dead letters + re-sends):\n")
		for _, s := range sources {
			r := st.Raw[s]
			fmt.Fprintf(w, "  %-10s %8d = %d + %d + %d  %s\n", s, r.Lines, r.Records, r.DeadLetters, r.Duplicates, filepath.Join(out, "raw", s+".ndjson"))
		}
	}
}
