package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
)

func newConfig() *cobra.Command {
	c := group(&cobra.Command{Use: "config", Short: "Work with the configuration file"})
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Check a configuration file; exit 0 only when it is valid",
		Long: `Reads FILE over the defaults and the environment and reports every problem,
each naming its key (and line, for YAML errors), then loads the mapping file of
every source. Exit 0 valid, 1 invalid, 2 when FILE cannot be opened.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := openable(a[0]); err != nil {
				return err
			}
			cfg, err := config.Load(a[0])
			if err != nil {
				return err
			}
			if _, err := job.LoadMappings(cfg); err != nil {
				return err
			}
			// The certificates and the SASL credentials, as a run takes them.
			cluster, err := job.KafkaCluster(cfg.Kafka)
			if err != nil {
				return err
			}
			cluster.Close()
			if _, err := job.ClickHouseConfig(cfg.ClickHouse); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", a[0])
			return nil
		},
	})
	return c
}
