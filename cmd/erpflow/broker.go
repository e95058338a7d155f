package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/kafka"
)

func newBroker(g *globals) *cobra.Command {
	var listen, dataDir string
	var partitions int
	c := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker until interrupted",
		Long: `Runs an in-process Kafka-protocol broker (franz-go's kfake) with every topic of
the configuration created, all with the same partition count. Any Kafka client
can use it; it is meant for the demo, tests and trying erpflow out, not for
production. Stops on SIGINT or SIGTERM.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("partitions") {
				cfg.Kafka.Partitions = partitions
			}
			if cfg.Kafka.Partitions < 1 {
				return usagef("--partitions must be at least 1")
			}
			b, err := kafka.StartBroker(kafka.BrokerConfig{Listen: listen, Topics: cfg.AllTopics(),
				Partitions: cfg.Kafka.Partitions, DataDir: dataDir})
			if err != nil {
				return err
			}
			defer b.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "broker listening on %s (%d topics, %d partitions each)\nexport ERPFLOW_KAFKA_BROKERS=%s\n",
				b.Addr(), len(cfg.AllTopics()), cfg.Kafka.Partitions, b.Addr())
			<-cmd.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:9092", "host:port to listen on (port 0 picks a free one)")
	c.Flags().IntVar(&partitions, "partitions", 4, "partitions per topic (overrides kafka.partitions)")
	c.Flags().StringVar(&dataDir, "data-dir", "", "keep topics on disk here (default: memory only)")
	return c
}
