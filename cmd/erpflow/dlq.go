package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
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
	ValueUTF8    bool   `json:"value_utf8"`          // false: value is hex
	ReplayOf     string `json:"replay_of,omitempty"` // the dead letter this one's message was replayed from
	// ValueOmitted is the size of a value too large to keep in the
	// dead-letter topic; it stays in its source topic.
	ValueOmitted string `json:"value_omitted_bytes,omitempty"`
	// KeyOmitted is the size of a key too large to keep; such a dead
	// letter keeps no value either.
	KeyOmitted string `json:"key_omitted_bytes,omitempty"`
	// ValueGone says why a dead letter has no value: its message was gone
	// from its source topic when it was dead-lettered.
	ValueGone string `json:"value_gone,omitempty"`
	headers   []kafkago.Header
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
		case kafka.HeaderReplayOf:
			d.ReplayOf = string(h.Value)
		case kafka.HeaderValueOmitted:
			d.ValueOmitted = string(h.Value)
		case kafka.HeaderKeyOmitted:
			d.KeyOmitted = string(h.Value)
		case kafka.HeaderValueGone:
			d.ValueGone = string(h.Value)
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
		Use:   "dlq list|show|replay",
		Short: "Read the dead-letter topic",
		Long: `Every record erpflow could not land is in the dead-letter topic with its
original key, bytes and headers, plus the reason, the stage and where it came
from. 'list' shows them all; 'show P:O' shows one in full; 'replay' sends
them back to where they came from once their cause is mended.`,
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
		cluster, err := job.KafkaCluster(cfg.Kafka)
		if err != nil {
			return err
		}
		defer cluster.Close()
		return kafka.ReadTopic(cmd.Context(), cluster, cfg.Kafka.Topics.DeadLetter,
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
				fmt.Fprintln(tw, "DLQ\tREASON\tSTAGE\tSOURCE\tREPLAY OF\tKEY\tVALUE")
				byReason := map[string]int{}
				n := 0
				err := read(cmd, func(d deadLetter) error {
					n++
					byReason[d.Reason]++
					fmt.Fprintf(tw, "%d:%d\t%s\t%s\t%s/%s@%s\t%s\t%s\t%s\n", d.DLQPartition, d.DLQOffset, d.Reason, d.Stage,
						d.Topic, d.Partition, d.Offset, replayOf(d), d.Key, preview(d))
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
	c.AddCommand(list, show, newDLQReplay(g, &brokers))
	return c
}

// replaySelection says which dead letters a replay takes.
type replaySelection struct {
	all     bool
	reasons []string // a reason, or its code before ':' (missing_field)
	topics  []string // the topics they came from
	at      map[dlqAt]bool
}

func (sel *replaySelection) empty() bool {
	return !sel.all && len(sel.reasons) == 0 && len(sel.topics) == 0 && len(sel.at) == 0
}

// takes says whether d is selected: every kind of selector given must
// match (all matches anything).
func (sel *replaySelection) takes(d deadLetter) bool {
	if len(sel.at) > 0 && !sel.at[dlqAt{int64(d.DLQPartition), d.DLQOffset}] {
		return false
	}
	if len(sel.topics) > 0 && !slices.Contains(sel.topics, d.Topic) {
		return false
	}
	if len(sel.reasons) > 0 {
		code, _, _ := strings.Cut(d.Reason, ":")
		if !slices.Contains(sel.reasons, d.Reason) && !slices.Contains(sel.reasons, code) {
			return false
		}
	}
	return true
}

// replayBatch is how many messages a replay sends in one write.
const replayBatch = 1000

func newDLQReplay(g *globals, brokers *string) *cobra.Command {
	var (
		sel    replaySelection
		to     string
		dryRun bool
	)
	c := &cobra.Command{
		Use:   "replay [PARTITION:OFFSET...] [--reason R]... [--source-topic T]... [--all] [--to TOPIC] [--dry-run]",
		Short: "Send dead letters back to the topics they came from, once their cause is mended",
		Long: `Sends each selected dead letter back as the message it was (its key, value
and own headers, without the erpflow-* headers dead-lettering added) to the
topic and partition it came from (by key where the topic no longer has that
partition), or to --to (by key). Use it once what refused them is mended: a
mapping file, a source system's export, a configuration. The message
carries the header erpflow-replay-of naming the dead letter it was sent
from. One that fails again is dead-lettered again, and a later replay takes
only the newest dead letter of each original message, however many
replays (or duplicate dead letters) came before.
One that landed before is a duplicate, so replaying the same dead letters
twice lands them once as readers see it (FINAL). Replayed records are old
in event time: matching takes them as late records.

Select by DLQ coordinates (from 'dlq list'), by --reason (a full reason such
as missing_field:body.total, or its code: missing_field) and by
--source-topic; several selectors must all match. --all takes every dead
letter (the newest of each message). Coordinates that are not in the topic,
or that the other selectors leave out, refuse the whole replay; named
coordinates are sent even if a newer dead letter replaces them.
The last line is replayed=N (or would_replay=N with --dry-run).`,
		Args: func(cmd *cobra.Command, a []string) error {
			for _, x := range a {
				p, o, ok := strings.Cut(x, ":")
				part, err1 := strconv.Atoi(p)
				off, err2 := strconv.ParseInt(o, 10, 64)
				if !ok || err1 != nil || err2 != nil {
					return usagef("want PARTITION:OFFSET such as 2:17, got %q", x)
				}
				if sel.at == nil {
					sel.at = map[dlqAt]bool{}
				}
				sel.at[dlqAt{int64(part), off}] = true
			}
			if sel.empty() {
				return usagef("say which dead letters to replay: coordinates, --reason, --source-topic, or --all")
			}
			if sel.all && (len(sel.reasons) > 0 || len(sel.topics) > 0 || len(sel.at) > 0) {
				return usagef("--all takes every dead letter; leave out the other selectors or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if *brokers != "" {
				cfg.Kafka.Brokers = config.SplitList(*brokers)
			}
			dlqTopic := cfg.Kafka.Topics.DeadLetter
			if to == dlqTopic {
				return usagef("--to %s is the dead-letter topic itself", to)
			}
			ctx := cmd.Context()
			// First pass: what to send (replayPlan).
			var plan replayPlan
			named := map[dlqAt]deadLetter{}
			omitted := 0
			cluster, err := job.KafkaCluster(cfg.Kafka)
			if err != nil {
				return err
			}
			defer cluster.Close()
			err = kafka.ReadTopic(ctx, cluster, dlqTopic, func(m kafkago.Message) error {
				at := dlqAt{int64(m.Partition), m.Offset}
				d := toDeadLetter(m)
				e := planEntry{time: m.Time, takes: sel.takes(d), dest: to}
				if p, o, ok := kafka.ReplayedFrom(m, dlqTopic); ok {
					e.parent, e.hasParent = dlqAt{int64(p), o}, true
				}
				if e.dest == "" {
					e.dest = d.Topic
				}
				if e.takes && e.dest == "" {
					return fmt.Errorf("dead letter %d:%d: %w; give --to", at[0], at[1], kafka.ErrNoSourceTopic)
				}
				if e.takes && (kafka.ValueOmitted(m) || kafka.ValueGone(m)) {
					// Nothing to send: the value stayed in its source
					// topic, or was gone from it already.
					e.takes = false
					omitted++
				}
				if sel.at[at] {
					named[at] = d
				}
				plan.add(at, e)
				return nil
			})
			if err != nil {
				return err
			}
			var problems []string
			for at := range sel.at {
				d, ok := named[at]
				switch {
				case !ok:
					problems = append(problems, fmt.Sprintf("no dead letter at %d:%d", at[0], at[1]))
				case !sel.takes(d):
					problems = append(problems, fmt.Sprintf("%d:%d (%s, from %s) is not what --reason or --source-topic select", at[0], at[1], d.Reason, d.Topic))
				}
			}
			if len(problems) > 0 {
				sort.Strings(problems)
				return fmt.Errorf("%s in %s: nothing replayed", strings.Join(problems, "; "), dlqTopic)
			}
			take, byTopic, replaced := plan.choose(sel.at)
			if !dryRun && len(take) > 0 {
				// Second pass: send them, a chunk at a time, and make sure
				// every one was still there.
				w := kafka.NewReplayWriter(cluster)
				defer w.Close()
				prog := newProgress("replay", int64(len(take)))
				var chunk []kafkago.Message
				sent := 0
				byTopic = map[string]int{}
				found := map[dlqAt]bool{}
				send := func() error {
					if err := w.WriteMessages(ctx, chunk...); err != nil {
						return fmt.Errorf("replay: %d of %d sent, then: %w", sent, len(take), kafka.Summarize(err))
					}
					for _, m := range chunk {
						byTopic[m.Topic]++
					}
					sent += len(chunk)
					prog.Set(int64(sent))
					chunk = chunk[:0]
					return nil
				}
				err = kafka.ReadTopic(ctx, cluster, dlqTopic, func(m kafkago.Message) error {
					at := dlqAt{int64(m.Partition), m.Offset}
					if !take[at] || found[at] {
						return nil
					}
					found[at] = true
					r, err := kafka.ReplayMessage(m, dlqTopic, to)
					if err != nil {
						return err
					}
					if chunk = append(chunk, r); len(chunk) >= replayBatch {
						return send()
					}
					return nil
				})
				if err == nil && len(chunk) > 0 {
					err = send()
				}
				prog.Finish()
				if err != nil {
					return err
				}
				if sent < len(take) {
					var gone []string
					for at := range take {
						if !found[at] {
							gone = append(gone, fmt.Sprintf("%d:%d", at[0], at[1]))
						}
					}
					sort.Strings(gone)
					if len(gone) > 10 {
						gone = append(gone[:10], "...")
					}
					return fmt.Errorf("replayed %d of %d: gone from %s since they were read (retention?): %s",
						sent, len(take), dlqTopic, strings.Join(gone, ", "))
				}
			}
			out := cmd.OutOrStdout()
			topics := make([]string, 0, len(byTopic))
			for t := range byTopic {
				topics = append(topics, t)
			}
			sort.Strings(topics)
			verb, last := "sent", "replayed"
			if dryRun {
				verb, last = "would send", "would_replay"
			}
			for _, t := range topics {
				fmt.Fprintf(out, "%s %d to %s\n", verb, byTopic[t], t)
			}
			if replaced > 0 {
				fmt.Fprintf(out, "left out %d dead letters that a newer dead letter of the same message replaces\n", replaced)
			}
			if omitted > 0 {
				fmt.Fprintf(out, "left out %d dead letters without a value: too large to keep (read them from their source topics), or gone from their source topics before they were dead-lettered\n", omitted)
			}
			fmt.Fprintf(out, "%s=%d\n", last, len(take))
			return nil
		},
	}
	c.Flags().BoolVar(&sel.all, "all", false, "replay every dead letter (the newest of each message)")
	c.Flags().StringSliceVar(&sel.reasons, "reason", nil, "only dead letters with this reason or reason code (repeatable)")
	c.Flags().StringSliceVar(&sel.topics, "source-topic", nil, "only dead letters that came from this topic (repeatable)")
	c.Flags().StringVar(&to, "to", "", "send to this topic instead of the one each came from")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be sent, send nothing")
	return c
}

// replayOf is the DLQ coordinates of the dead letter d's message was
// replayed from, or "-".
func replayOf(d deadLetter) string {
	if d.ReplayOf == "" {
		return "-"
	}
	rest := d.ReplayOf
	if i := strings.LastIndexByte(rest, '/'); i > 0 {
		if j := strings.LastIndexByte(rest[:i], '/'); j >= 0 {
			return rest[j+1:i] + ":" + rest[i+1:]
		}
	}
	return rest
}

func preview(d deadLetter) string {
	if d.KeyOmitted != "" {
		return "(key of " + d.KeyOmitted + " bytes and value of " + d.ValueOmitted + " bytes not kept: see its source topic)"
	}
	if d.ValueOmitted != "" {
		return "(value of " + d.ValueOmitted + " bytes not kept: see its source topic)"
	}
	if d.ValueGone != "" {
		return "(no value: " + d.ValueGone + ")"
	}
	v := d.Value
	if !d.ValueUTF8 {
		v = "hex:" + v
	}
	v = strconv.Quote(v)
	if len(v) > 70 {
		// Cut where a character starts: the quote keeps printable
		// non-ASCII (Chinese text) as it is, several bytes a character.
		cut := 67
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "..."
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
