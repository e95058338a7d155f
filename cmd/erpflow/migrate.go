package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/pipeline/job"
)

func newMigrate(g *globals) *cobra.Command {
	var sf serverFlags
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update erpflow's ClickHouse database and tables",
		Long: `Applies, in order, every numbered migration not yet recorded in
schema_migrations. Safe to run again; 'erpflow run' does it at start too.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if err := sf.apply(&cfg); err != nil {
				return err
			}
			chCfg, err := job.ClickHouseConfig(cfg.ClickHouse)
			if err != nil {
				return err
			}
			applied, err := clickhouse.Migrate(cmd.Context(), chCfg)
			if err != nil {
				return err
			}
			for _, m := range applied {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %04d_%s\n", m.Version, m.Name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database %s is up to date (%d applied now)\n", cfg.ClickHouse.Database, len(applied))
			return nil
		},
	}
	sf.add(c)
	return c
}
