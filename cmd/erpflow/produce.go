package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
)

func newProduce(g *globals) *cobra.Command {
	var brokers, topic, source string
	c := &cobra.Command{
		Use:   "produce [--topic T] FILE...",
		Short: "Send NDJSON records to Kafka",
		Long: `Sends canonical records (one JSON object a line) to their kind's topic, keyed
by company, with murmur2 partitioning as Kafka's own clients use. A file with a
line that cannot be routed is refused whole, naming the line.

With --topic, every line goes verbatim to that topic, readable or not, so that
hostile input can be tried on the pipeline.

With --source NAME, every line is a record as that source sends it and goes
verbatim to the source's raw topic (raw.NAME unless configured otherwise),
keyed by the company code its mapping reads.`,
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
			opt := kafka.ProduceOptions{Topic: topic, TopicFor: cfg.Kafka.Topics.ForKind}
			if source != "" {
				if topic != "" {
					return usagef("give --topic or --source, not both")
				}
				if opt.Topic, opt.KeyFor, opt.TimeFor, err = sourceRoute(cfg, source); err != nil {
					return err
				}
			}
			cluster, err := job.KafkaCluster(cfg.Kafka)
			if err != nil {
				return err
			}
			defer cluster.Close()
			w := kafka.NewWriter(cluster)
			defer w.Close()
			for _, f := range files {
				p := newProgress("produce "+f, 0)
				opt.Progress = p.Set
				n, err := kafka.ProduceFile(cmd.Context(), w, f, opt)
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
	c.Flags().StringVar(&source, "source", "", "the lines are records of this configured source (reimb_cn, erp_cn, sap_en, shop, bank_a, bank_b ...)")
	return c
}

// sourceRoute returns a configured source's raw topic, and functions
// reading the company code (the key) and the event time (a header) the way
// its mapping does. A record the mapping would refuse is still sent, keyed
// if its company can be read, so that it reaches the dead-letter topic
// with its reason.
func sourceRoute(cfg config.Config, name string) (string, func([]byte) []byte, func([]byte) (time.Time, bool), error) {
	mappings, err := job.LoadMappings(cfg)
	if err != nil {
		return "", nil, nil, err
	}
	for _, s := range cfg.Sources {
		if s.Name != name {
			continue
		}
		// Two mappers: each reuses its parser, and ProduceFile reads the
		// key and the time of a line one after the other.
		m := mappings[s.TopicName()]
		return s.TopicName(), m.NewMapper().Company, m.NewMapper().EventTime, nil
	}
	names := make([]string, len(cfg.Sources))
	for i, s := range cfg.Sources {
		names[i] = s.Name
	}
	return "", nil, nil, usagef("--source %q is not a configured source (%s)", name, strings.Join(names, ", "))
}
