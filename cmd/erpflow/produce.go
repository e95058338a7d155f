package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
)

func newProduce(g *globals) *cobra.Command {
	var brokers, topic string
	c := &cobra.Command{
		Use:   "produce [--topic T] FILE...",
		Short: "Send NDJSON records to Kafka",
		Long: `Sends canonical records (one JSON object a line) to their kind's topic, keyed
by company, with murmur2 partitioning as Kafka's own clients use. A file with a
line that cannot be routed is refused whole, naming the line.

With --topic, every line goes verbatim to that topic, readable or not, so that
hostile input can be tried on the pipeline.`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if brokers != "" {
				cfg.Kafka.Brokers = config.SplitList(brokers)
			}
			for _, f := range files {
				if _, err := os.Stat(f); err != nil {
					return usagef("%v", err)
				}
			}
			w := kafka.NewWriter(cfg.Kafka.Brokers)
			defer w.Close()
			for _, f := range files {
				p := newProgress("produce "+f, 0)
				n, err := kafka.ProduceFile(cmd.Context(), w, f, kafka.ProduceOptions{
					Topic: topic, TopicFor: cfg.Kafka.Topics.ForKind, Progress: p.Set})
				p.Finish()
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "sent %d records from %s\n", n, f)
			}
			return nil
		},
	}
	c.Flags().StringVar(&brokers, "brokers", "", "comma-separated host:port list (overrides "+config.EnvKafkaBrokers+")")
	c.Flags().StringVar(&topic, "topic", "", "send every line verbatim to this topic")
	return c
}
