package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
)

// deadLetter is one dead-letter message as the CLI shows it.
type deadLetter struct {
	DLQPartition int    `json:"dlq_partition"`
	DLQOffset    int64  `json:"dlq_offset"`
	Reason       string `json:"reason"`
	Stage        string `json:"stage"`
	Message      string `json:"message"`
	Topic        string `json:"topic"`
	Partition    string `json:"partition"`
	Offset       string `json:"offset"`
	Key          string `json:"key"`
	Value        string `json:"value"`
	ValueUTF8    bool   `json:"value_utf8"` // false: value is hex
	headers      []kafkago.Header
}

func toDeadLetter(m kafkago.Message) deadLetter {
	d := deadLetter{DLQPartition: m.Partition, DLQOffset: m.Offset, Key: string(m.Key), headers: m.Headers}
	for _, h := range m.Headers {
		switch h.Key {
		case kafka.HeaderReason:
			d.Reason = string(h.Value)
		case kafka.HeaderStage:
			d.Stage = string(h.Value)
		case kafka.HeaderMessage:
			d.Message = string(h.Value)
		case kafka.HeaderTopic:
			d.Topic = string(h.Value)
		case kafka.HeaderPartition:
			d.Partition = string(h.Value)
		case kafka.HeaderOffset:
			d.Offset = string(h.Value)
		}
	}
	if d.ValueUTF8 = utf8.Valid(m.Value); d.ValueUTF8 {
		d.Value = string(m.Value)
	} else {
		d.Value = hex.EncodeToString(m.Value)
	}
	return d
}

func newDLQ(g *globals) *cobra.Command {
	var brokers, format string
	c := group(&cobra.Command{
		Use:   "dlq list|show",
		Short: "Read the dead-letter topic",
		Long: `Every record erpflow could not land is in the dead-letter topic with its
original key, bytes and headers, plus the reason, the stage and where it came
from. 'list' shows them all; 'show P:O' shows one in full.`,
	})
	c.PersistentFlags().StringVar(&brokers, "brokers", "", "comma-separated Kafka host:port list (overrides "+config.EnvKafkaBrokers+")")
	read := func(cmd *cobra.Command, f func(deadLetter) error) error {
		cfg, err := g.load()
		if err != nil {
			return err
		}
		if brokers != "" {
			cfg.Kafka.Brokers = config.SplitList(brokers)
		}
		return kafka.ReadTopic(cmd.Context(), cfg.Kafka.Brokers, cfg.Kafka.Topics.DeadLetter,
			func(m kafkago.Message) error { return f(toDeadLetter(m)) })
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters: reason, source coordinates, original bytes",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				return read(cmd, func(d deadLetter) error { return enc.Encode(d) })
			case "table":
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DLQ\tREASON\tSTAGE\tSOURCE\tKEY\tVALUE")
				byReason := map[string]int{}
				n := 0
				err := read(cmd, func(d deadLetter) error {
					n++
					byReason[d.Reason]++
					fmt.Fprintf(tw, "%d:%d\t%s\t%s\t%s/%s@%s\t%s\t%s\n", d.DLQPartition, d.DLQOffset, d.Reason, d.Stage,
						d.Topic, d.Partition, d.Offset, d.Key, preview(d))
					return nil
				})
				tw.Flush()
				if err != nil {
					return err
				}
				printReasons(out, n, byReason)
				return nil
			}
			return usagef("--format must be table or json, got %q", format)
		},
	}
	list.Flags().StringVar(&format, "format", "table", "table or json (one object a line)")
	show := &cobra.Command{
		Use:   "show PARTITION:OFFSET",
		Short: "Show one dead letter in full (the DLQ coordinates from 'list')",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			p, o, ok := strings.Cut(a[0], ":")
			part, err1 := strconv.Atoi(p)
			off, err2 := strconv.ParseInt(o, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return usagef("want PARTITION:OFFSET such as 2:17, got %q", a[0])
			}
			errFound := errors.New("found")
			err := read(cmd, func(d deadLetter) error {
				if d.DLQPartition != part || d.DLQOffset != off {
					return nil
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "dead letter %d:%d\nreason:  %s\nstage:   %s\nmessage: %s\nsource:  %s partition %s offset %s\nkey:     %q\nheaders:\n",
					part, off, d.Reason, d.Stage, d.Message, d.Topic, d.Partition, d.Offset, d.Key)
				for _, h := range d.headers {
					fmt.Fprintf(w, "  %s: %q\n", h.Key, h.Value)
				}
				if d.ValueUTF8 {
					fmt.Fprintf(w, "value (%d bytes):\n%s\n", len(d.Value), d.Value)
				} else {
					raw, _ := hex.DecodeString(d.Value)
					fmt.Fprintf(w, "value (%d bytes, not UTF-8):\n%s", len(raw), hex.Dump(raw))
				}
				return errFound
			})
			if errors.Is(err, errFound) {
				return nil
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("no dead letter at %s", a[0])
		},
	}
	c.AddCommand(list, show)
	return c
}

func preview(d deadLetter) string {
	v := d.Value
	if !d.ValueUTF8 {
		v = "hex:" + v
	}
	v = strconv.Quote(v)
	if len(v) > 70 {
		v = v[:67] + "..."
	}
	return v
}

func printReasons(w io.Writer, n int, byReason map[string]int) {
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		return byReason[reasons[i]] > byReason[reasons[j]] || (byReason[reasons[i]] == byReason[reasons[j]] && reasons[i] < reasons[j])
	})
	fmt.Fprintf(w, "\n%d dead letters\n", n)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-40s %d\n", r, byReason[r])
	}
}
