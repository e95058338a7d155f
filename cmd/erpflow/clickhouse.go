package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/clickhouse/localch"
)

const defaultCHDir = ".erpflow/clickhouse"

func newClickHouse() *cobra.Command {
	var dir string
	c := group(&cobra.Command{
		Use:   "clickhouse start|stop|status",
		Short: "Run a local ClickHouse server for the demo and tests",
		Long: `Starts a ClickHouse server of its own under --dir, using a 'clickhouse' binary on
PATH or Debian's clickhouse-server (18.16), on free loopback ports. 'status'
prints the native address so scripts can export it:

  export ERPFLOW_CLICKHOUSE_ADDR=$(erpflow clickhouse status --addr)`,
	})
	c.PersistentFlags().StringVar(&dir, "dir", defaultCHDir, "data directory of the local server")
	c.AddCommand(&cobra.Command{
		Use:   "start",
		Short: "Start the local server (or report the one already running)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := localch.Start(cmd.Context(), localch.Options{Dir: dir})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", s, s.ConnectHint())
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "stop",
		Short: "Stop the local server",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := localch.Stop(cmd.Context(), dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r)
			return nil
		},
	})
	var addrOnly bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the local server runs, and where (exit 1 when it does not)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := localch.Status(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if !s.Running {
				if !addrOnly {
					fmt.Fprintln(cmd.OutOrStdout(), s)
				}
				return fmt.Errorf("local clickhouse is not running")
			}
			if addrOnly {
				fmt.Fprintln(cmd.OutOrStdout(), s.NativeAddr())
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", s, s.ConnectHint())
			return nil
		},
	}
	status.Flags().BoolVar(&addrOnly, "addr", false, "print only the native host:port")
	c.AddCommand(status)
	return c
}
