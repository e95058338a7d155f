package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
	"github.com/erpflow/erpflow/transforms/match"
)

func newRecon(g *globals) *cobra.Command {
	var database string
	c := group(&cobra.Command{
		Use:   "recon matches|exceptions|explain|score|accept|reject|unmatch",
		Short: "Read and act on what matching made of the records",
		Long: `Matching (transforms/match) writes every bank line's outcome, what each match
applies to which document, the open items and the exceptions to ClickHouse.
These commands read them in the terminal (a table by default, --format json or
csv for scripts), record review decisions, and score a run against a
generated world's truth.`,
	})
	c.PersistentFlags().StringVar(&database, "database", "", "ClickHouse database (default: clickhouse.database of the configuration)")
	connect := func(cmd *cobra.Command) (driver.Conn, error) {
		cfg, err := g.load()
		if err != nil {
			return nil, err
		}
		ch, err := job.ClickHouseConfig(cfg.ClickHouse)
		if err != nil {
			return nil, err
		}
		if database != "" {
			ch.Database = database
		}
		return clickhouse.Open(cmd.Context(), ch, ch.Database)
	}
	c.AddCommand(newReconScore(connect), newReconMatches(connect), newReconExceptions(connect), newReconExplain(connect),
		newReconDecide(g, connect, "accept"), newReconDecide(g, connect, "reject"), newReconDecide(g, connect, "unmatch"))
	return c
}

type connectFunc func(*cobra.Command) (driver.Conn, error)

func newReconScore(connect connectFunc) *cobra.Command {
	var truthPath string
	var misses bool
	c := &cobra.Command{
		Use:   "score --truth DIR/truth.ndjson",
		Short: "Score matching against a generated world's truth",
		Long: `Compares what matching stored in ClickHouse with the truth file the generator
wrote beside the world. A link is a (bank line, invoice / claim / payment) pair
of the truth; precision and recall are over the links of confirmed matches,
review is the share of bank lines with a truth link left in review, and an
exception counts as found when an open one has the planted type and subject.
With --misses, every missed and every wrong link comes first, one per line:
  missed|wrong LINE_ID TARGET_ID OUTCOME RULE
(OUTCOME and RULE are the line's current ones). The last line is for scripts:
  precision=P recall=R review=S exceptions_found=F exceptions_planted=T`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if truthPath == "" {
				return usagef("--truth is required")
			}
			truth, err := readTruthFile(truthPath)
			if err != nil {
				return err
			}
			conn, err := connect(cmd)
			if err != nil {
				return err
			}
			defer conn.Close()
			s, err := scoreFromClickHouse(cmd.Context(), conn, truth)
			if err != nil {
				return err
			}
			if misses {
				rules := map[string][2]string{}
				err := eachRow(cmd.Context(), conn, `SELECT line_id, outcome, rule FROM recon_matches FINAL`, func(r driver.Rows) error {
					var line, outcome, rule string
					err := r.Scan(&line, &outcome, &rule)
					rules[line] = [2]string{outcome, rule}
					return err
				})
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				for _, set := range []struct {
					name  string
					links []match.Link
				}{{"missed", s.Missed}, {"wrong", s.Wrong}} {
					for _, l := range set.links {
						o := rules[l.Line]
						fmt.Fprintf(w, "%s %s %s %s %s\n", set.name, l.Line, l.Target, orDash(o[0]), orDash(o[1]))
					}
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), s)
			return nil
		},
	}
	c.Flags().StringVar(&truthPath, "truth", "", "the truth.ndjson of the generated world")
	c.Flags().BoolVar(&misses, "misses", false, "list every missed and wrong link first")
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readTruthFile reads a generated world's truth.ndjson.
func readTruthFile(path string) (match.Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return match.Truth{}, usagef("--truth: %v", err)
	}
	defer f.Close()
	return match.ReadTruth(f)
}

func scoreFromClickHouse(ctx context.Context, conn driver.Conn, truth match.Truth) (match.Scored, error) {
	var confirmed []match.Link
	err := eachRow(ctx, conn, `SELECT line_id, target_id FROM recon_match_lines FINAL
		WHERE outcome = 'confirmed' AND (company, line_id, match_id) IN (SELECT company, line_id, match_id FROM recon_matches FINAL WHERE outcome = 'confirmed')`,
		func(r driver.Rows) error {
			var l match.Link
			err := r.Scan(&l.Line, &l.Target)
			confirmed = append(confirmed, l)
			return err
		})
	if err != nil {
		return match.Scored{}, err
	}
	outcomes := map[string]match.Outcome{}
	err = eachRow(ctx, conn, `SELECT line_id, outcome FROM recon_matches FINAL`, func(r driver.Rows) error {
		var line, outcome string
		err := r.Scan(&line, &outcome)
		outcomes[line] = match.Outcome(outcome)
		return err
	})
	if err != nil {
		return match.Scored{}, err
	}
	found := map[match.Finding]bool{}
	err = eachRow(ctx, conn, `SELECT type, subject_id FROM recon_exceptions FINAL WHERE status = 'open'`, func(r driver.Rows) error {
		var f match.Finding
		err := r.Scan(&f.Type, &f.Subject)
		found[f] = true
		return err
	})
	if err != nil {
		return match.Scored{}, err
	}
	return match.Score(truth, confirmed, outcomes, found), nil
}

func eachRow(ctx context.Context, conn driver.Conn, q string, f func(driver.Rows) error, params ...any) error {
	rows, err := conn.Query(ctx, q, params...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return fmt.Errorf("read row: %w", err)
		}
	}
	return rows.Err()
}

// table is what the listing commands print: a header and string cells.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) print(w io.Writer, format string) error {
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.header, "\t")))
		for _, r := range t.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "%d rows\n", len(t.rows))
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(t.header)
		cw.WriteAll(t.rows)
		return cw.Error()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range t.rows {
			obj := make(map[string]string, len(r))
			for i, v := range r {
				obj[t.header[i]] = v
			}
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
		return nil
	}
	return usagef("--format must be table, json or csv, got %q", format)
}

type listFlags struct {
	company, format string
	limit           int
}

func (f *listFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.company, "company", "", "only this company code")
	c.Flags().StringVar(&f.format, "format", "table", "table, json (one object a line) or csv")
	c.Flags().IntVar(&f.limit, "limit", 100, "at most this many rows (0: all)")
}

func (f *listFlags) where(conds []string, params []any) (string, []any) {
	if f.company != "" {
		conds = append(conds, "company = ?")
		params = append(params, f.company)
	}
	q := ""
	if len(conds) > 0 {
		q = " WHERE " + strings.Join(conds, " AND ")
	}
	return q, params
}

func (f *listFlags) limitSQL() string {
	if f.limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", f.limit)
}

func newReconMatches(connect connectFunc) *cobra.Command {
	var lf listFlags
	var outcome string
	c := &cobra.Command{
		Use:   "matches",
		Short: "List bank lines with their outcome, rule, score and what they settle",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var conds []string
			var params []any
			if outcome != "" {
				if !slices.Contains(match.LineOutcomes, outcome) {
					return usagef("--outcome %q: not an outcome (%s)", outcome, strings.Join(match.LineOutcomes, ", "))
				}
				conds, params = append(conds, "outcome = ?"), append(params, outcome)
			}
			where, params := lf.where(conds, params)
			conn, err := connect(cmd)
			if err != nil {
				return err
			}
			defer conn.Close()
			t := &table{header: []string{"match_id", "line_id", "booking_date", "amount", "currency", "outcome", "rule", "score", "applied_to"}}
			q := `SELECT m.match_id, m.line_id, toString(m.booking_date), toString(m.amount), m.currency, m.outcome, m.rule, m.score, l.targets
				FROM (SELECT * FROM recon_matches FINAL` + where + `) AS m
				LEFT JOIN (SELECT company, line_id, match_id, groupArray(concat(target_id, ' ', toString(amount))) AS targets
				           FROM recon_match_lines FINAL GROUP BY company, line_id, match_id) AS l
				USING (company, line_id, match_id)
				ORDER BY m.booking_date, m.line_id` + lf.limitSQL()
			err = eachRow(cmd.Context(), conn, q, func(r driver.Rows) error {
				var id, line, day, amount, cur, out, rule string
				var score float64
				var targets []string
				if err := r.Scan(&id, &line, &day, &amount, &cur, &out, &rule, &score, &targets); err != nil {
					return err
				}
				t.rows = append(t.rows, []string{id, line, day, trimDec(amount), cur, out, rule, fmt.Sprintf("%.2f", score), strings.Join(targets, "; ")})
				return nil
			}, params...)
			if err != nil {
				return err
			}
			return t.print(cmd.OutOrStdout(), lf.format)
		},
	}
	lf.add(c)
	c.Flags().StringVar(&outcome, "outcome", "", "only this outcome: "+strings.Join(match.LineOutcomes, ", "))
	return c
}

// trimDec shows a Decimal(18,4) at two places when the rest are zeros.
func trimDec(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	if d.Equal(d.Round(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

func newReconExceptions(connect connectFunc) *cobra.Command {
	var lf listFlags
	var typ, status string
	c := &cobra.Command{
		Use:   "exceptions",
		Short: "List exceptions with their subject and the next step",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var conds []string
			var params []any
			if typ != "" {
				if !slices.Contains(match.ExceptionTypes, typ) {
					return usagef("--type %q: not an exception type (%s)", typ, strings.Join(match.ExceptionTypes, ", "))
				}
				conds, params = append(conds, "type = ?"), append(params, typ)
			}
			switch status {
			case "all":
			case match.StatusOpen, match.StatusResolved:
				conds, params = append(conds, "status = ?"), append(params, status)
			default:
				return usagef("--status %q: open, resolved or all", status)
			}
			where, params := lf.where(conds, params)
			conn, err := connect(cmd)
			if err != nil {
				return err
			}
			defer conn.Close()
			t := &table{header: []string{"exception_id", "date", "type", "reason", "subject", "related", "amount", "currency", "status", "next_step"}}
			q := `SELECT exception_id, toString(event_date), type, reason, subject_id, related_id, toString(amount), currency, status, next_step
				FROM recon_exceptions FINAL` + where + ` ORDER BY event_date, type, subject_id` + lf.limitSQL()
			err = eachRow(cmd.Context(), conn, q, func(r driver.Rows) error {
				row := make([]string, 10)
				dest := make([]any, 10)
				for i := range row {
					dest[i] = &row[i]
				}
				if err := r.Scan(dest...); err != nil {
					return err
				}
				row[6] = trimDec(row[6])
				t.rows = append(t.rows, row)
				return nil
			}, params...)
			if err != nil {
				return err
			}
			return t.print(cmd.OutOrStdout(), lf.format)
		},
	}
	lf.add(c)
	c.Flags().StringVar(&typ, "type", "", "only this type, e.g. duplicate_payment, three_way_mismatch, approval_breach")
	c.Flags().StringVar(&status, "status", "open", "open, resolved or all")
	return c
}

var errNotFound = errors.New("not found")

func newReconExplain(connect connectFunc) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "explain ID",
		Short: "Explain a match (by match id or bank line id) or an exception, criterion by criterion",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			conn, err := connect(cmd)
			if err != nil {
				return err
			}
			defer conn.Close()
			e, err := explain(cmd.Context(), conn, a[0])
			if errors.Is(err, errNotFound) {
				return fmt.Errorf("no match, bank line or exception with id %q", a[0])
			}
			if err != nil {
				return err
			}
			switch format {
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(e)
			case "csv":
				return e.csv(cmd.OutOrStdout())
			case "text", "table":
				e.print(cmd.OutOrStdout())
				return nil
			}
			return usagef("--format must be text, json or csv, got %q", format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "text, json or csv (a row per field, document and criterion, for a spreadsheet)")
	return c
}

// maxAlternatives is how many other candidates the text form shows.
const maxAlternatives = 5

// explanation is a match or an exception as explain shows it.
type explanation struct {
	What     string            `json:"what"` // match or exception
	ID       string            `json:"id"`
	Fields   [][2]string       `json:"fields"`
	Criteria []match.Criterion `json:"criteria"`
	Applied  []string          `json:"applied,omitempty"`
	Other    []string          `json:"alternatives,omitempty"`
}

func (e *explanation) print(w io.Writer) {
	fmt.Fprintf(w, "%s %s\n", e.What, e.ID)
	for _, f := range e.Fields {
		if f[1] != "" {
			fmt.Fprintf(w, "  %-14s %s\n", f[0]+":", f[1])
		}
	}
	verb := "applies"
	for _, f := range e.Fields {
		if f[0] == "outcome" && f[1] != "confirmed" && f[1] != "accepted" {
			verb = "proposes"
		}
	}
	for _, a := range e.Applied {
		fmt.Fprintf(w, "  %-14s %s\n", verb, a)
	}
	for i, a := range e.Other {
		if i == maxAlternatives && len(e.Other) > i+1 {
			fmt.Fprintf(w, "  or             ... %d more (--format json lists them all)\n", len(e.Other)-i)
			break
		}
		fmt.Fprintf(w, "  or             %s\n", a)
	}
	if len(e.Criteria) > 0 {
		fmt.Fprintln(w, "  criteria:")
		for _, c := range e.Criteria {
			mark := "fail"
			if c.Pass {
				mark = "pass"
			}
			fmt.Fprintf(w, "    %-4s %-12s %s\n", mark, c.Name, c.Detail)
		}
	}
}

// csv writes the explanation a row per part: its fields, the documents it
// applies or proposes, the alternatives, and each criterion with whether
// it passed, under a header, so that a spreadsheet can filter them.
func (e *explanation) csv(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(part, name, pass, value string) { _ = cw.Write([]string{e.What, e.ID, part, name, pass, value}) }
	_ = cw.Write([]string{"what", "id", "part", "name", "pass", "value"})
	verb := "applies"
	for _, f := range e.Fields {
		row("field", f[0], "", f[1])
		if f[0] == "outcome" && f[1] != "confirmed" && f[1] != "accepted" {
			verb = "proposes"
		}
	}
	for _, a := range e.Applied {
		row(verb, "", "", a)
	}
	for _, a := range e.Other {
		row("alternative", "", "", a)
	}
	for _, c := range e.Criteria {
		row("criterion", c.Name, strconv.FormatBool(c.Pass), c.Detail)
	}
	cw.Flush()
	return cw.Error()
}

func criteriaOf(names []string, pass []uint8, detail []string) []match.Criterion {
	out := make([]match.Criterion, len(names))
	for i := range names {
		out[i] = match.Criterion{Name: names[i], Pass: pass[i] != 0, Detail: detail[i]}
	}
	return out
}

func explain(ctx context.Context, conn driver.Conn, id string) (*explanation, error) {
	var e *explanation
	err := eachRow(ctx, conn, `SELECT company, line_id, match_id, direction, toString(amount), currency, toString(charges), toString(booking_date),
			outcome, rule, rules_version, score, candidates, criterion_name, criterion_pass, criterion_detail, alternatives, decided_by, decision_reason
		FROM recon_matches FINAL WHERE match_id = ? OR line_id = ? LIMIT 1`, func(r driver.Rows) error {
		var company, line, mid, dir, amount, cur, charges, day, outcome, rule, by, why string
		var rv, cands uint32
		var score float64
		var names, detail, alts []string
		var pass []uint8
		if err := r.Scan(&company, &line, &mid, &dir, &amount, &cur, &charges, &day, &outcome, &rule, &rv, &score, &cands,
			&names, &pass, &detail, &alts, &by, &why); err != nil {
			return err
		}
		e = &explanation{What: "match", ID: mid, Criteria: criteriaOf(names, pass, detail), Other: alts, Fields: [][2]string{
			{"bank line", line}, {"direction", dir}, {"amount", trimDec(amount) + " " + cur}, {"charges", trimDec(charges)},
			{"booked", day}, {"outcome", outcome}, {"rule", fmt.Sprintf("%s (rules version %d)", rule, rv)},
			{"score", fmt.Sprintf("%.2f", score)}, {"candidates", fmt.Sprint(cands)}, {"decided by", by}, {"reason", why}}}
		return nil
	}, id, id)
	if err != nil {
		return nil, err
	}
	if e != nil {
		line := e.Fields[0][1]
		err = eachRow(ctx, conn, `SELECT target_kind, target_id, toString(amount), currency FROM recon_match_lines FINAL
			WHERE line_id = ? AND match_id = ? ORDER BY target_id`, func(r driver.Rows) error {
			var kind, target, amount, cur string
			if err := r.Scan(&kind, &target, &amount, &cur); err != nil {
				return err
			}
			e.Applied = append(e.Applied, fmt.Sprintf("%s %s %s %s", kind, target, trimDec(amount), cur))
			return nil
		}, line, e.ID)
		return e, err
	}
	err = eachRow(ctx, conn, `SELECT exception_id, type, reason, status, subject_kind, subject_id, related_id, toString(amount), currency,
			toString(event_date), next_step, criterion_name, criterion_pass, criterion_detail
		FROM recon_exceptions FINAL WHERE exception_id = ? LIMIT 1`, func(r driver.Rows) error {
		var xid, typ, reason, status, kind, subject, related, amount, cur, day, next string
		var names, detail []string
		var pass []uint8
		if err := r.Scan(&xid, &typ, &reason, &status, &kind, &subject, &related, &amount, &cur, &day, &next, &names, &pass, &detail); err != nil {
			return err
		}
		e = &explanation{What: "exception", ID: xid, Criteria: criteriaOf(names, pass, detail), Fields: [][2]string{
			{"type", typ}, {"reason", reason}, {"status", status}, {"subject", strings.TrimSpace(kind + " " + subject)},
			{"related", related}, {"amount", strings.TrimSpace(trimDec(amount) + " " + cur)}, {"date", day}, {"next step", next}}}
		return nil
	}, id)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errNotFound
	}
	return e, nil
}

// newReconDecide records a person's decision on a match.
func newReconDecide(g *globals, connect connectFunc, action string) *cobra.Command {
	var by, reason, brokers string
	publish := true
	short := map[string]string{
		"accept":  "Accept a match proposed for review: it is confirmed",
		"reject":  "Reject a match proposed for review: the line goes back to unmatched",
		"unmatch": "Reverse a confirmed match (a reversal is recorded; nothing is deleted)",
	}[action]
	c := &cobra.Command{
		Use:   action + " MATCH_ID",
		Short: short,
		Long: short + `.

The decision is checked against the line's current outcome and published to
the reviews topic (kafka.topics.reviews), where the running pipeline applies
it to its state and records what it changed (recon_reviews, a new version of
the line): an accepted match settles its documents and teaches the payer's
name, a rejected or reversed pair is never proposed again, and a reversal
reopens what the match settled. Without Kafka, --publish=false records the
decision in ClickHouse only; the pipeline takes it up when it next rebuilds
its state (a restart or rebalance).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if by == "" {
				by = os.Getenv("USER")
			}
			if by == "" {
				return usagef("--by is required: every decision records who made it")
			}
			if action != "accept" && strings.TrimSpace(reason) == "" {
				return usagef("--reason is required for %s", action)
			}
			conn, err := connect(cmd)
			if err != nil {
				return err
			}
			defer conn.Close()
			now := time.Now().UTC().Truncate(time.Second)
			if !publish {
				d, err := decide(cmd.Context(), conn, a[0], action, by, reason, now, true)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: line %s is now %s (by %s), recorded in ClickHouse only\n", a[0], d.line, d.outcome, by)
				return nil
			}
			// The pipeline applies the decision and writes what it changed;
			// writing the outcome here too could show a decision the stream
			// then refuses (the documents settled by another line since).
			d, err := decide(cmd.Context(), conn, a[0], action, by, reason, now, false)
			if err != nil {
				return err
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if brokers != "" {
				cfg.Kafka.Brokers = config.SplitList(brokers)
			}
			note := match.DecisionNote{Company: d.company, MatchID: a[0], Action: action, By: by, Reason: reason, DecidedAt: now}
			cluster, err := job.KafkaCluster(cfg.Kafka)
			if err != nil {
				return err
			}
			defer cluster.Close()
			w := kafka.NewWriter(cluster)
			defer w.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			if err := w.WriteMessages(ctx, kafkago.Message{Topic: cfg.Kafka.Topics.Reviews, Key: []byte(d.company), Value: note.Encode()}); err != nil {
				return fmt.Errorf("not published to %s, nothing recorded (try again, or --publish=false to record it in ClickHouse only): %w",
					cfg.Kafka.Topics.Reviews, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s by %s published to %s; the pipeline applies it (line %s, now %s)\n",
				a[0], action, by, cfg.Kafka.Topics.Reviews, d.line, d.outcome)
			return nil
		},
	}
	c.Flags().StringVar(&by, "by", "", "who decides (default: $USER)")
	c.Flags().StringVar(&reason, "reason", "", "why (required for reject and unmatch)")
	c.Flags().BoolVar(&publish, "publish", true, "publish the decision to the reviews topic for the pipeline")
	c.Flags().StringVar(&brokers, "brokers", "", "comma-separated Kafka host:port list (overrides "+config.EnvKafkaBrokers+")")
	return c
}

type decision struct{ company, line, outcome string }

// decide checks that a decision fits the line's current outcome and, with
// record, records it: a row in recon_reviews, and a new version of the
// line's match (and its match lines) with the new outcome, so the decision
// wins over what the stream wrote before it.
func decide(ctx context.Context, conn driver.Conn, matchID, action, by, reason string, now time.Time, record bool) (decision, error) {
	var company, line, outcome string
	var version uint64
	err := eachRow(ctx, conn, `SELECT company, line_id, outcome, version FROM recon_matches FINAL WHERE match_id = ?`,
		func(r driver.Rows) error { return r.Scan(&company, &line, &outcome, &version) }, matchID)
	if err != nil {
		return decision{}, err
	}
	if line == "" {
		return decision{}, fmt.Errorf("no match with id %q (a line that moved on to another match has a new id: see erpflow recon matches)", matchID)
	}
	allowed := map[string][]string{"accept": {"review"}, "reject": {"review"}, "unmatch": {"confirmed", "accepted"}}[action]
	ok := false
	for _, o := range allowed {
		ok = ok || o == outcome
	}
	if !ok {
		return decision{}, fmt.Errorf("cannot %s match %s: it is %s (%s needs %s)", action, matchID, outcome, action, strings.Join(allowed, " or "))
	}
	if !record {
		return decision{company, line, outcome}, nil
	}
	next := map[string]string{"accept": "accepted", "reject": "rejected", "unmatch": "reversed"}[action]
	v := max(version+1, uint64(now.UnixMicro())*1000)
	// A native INSERT takes its rows as a data block, never as bound
	// VALUES: clickhouse-go's Exec would wait for a block that never comes.
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO recon_reviews (company, line_id, match_id, action, actor, reason, decided_at, version)")
	if err != nil {
		return decision{}, fmt.Errorf("record decision: %w", err)
	}
	if err := batch.Append(company, line, matchID, action, by, reason, now.Truncate(time.Second), v); err != nil {
		batch.Abort()
		return decision{}, fmt.Errorf("record decision: %w", err)
	}
	if err := batch.Send(); err != nil {
		return decision{}, fmt.Errorf("record decision: %w", err)
	}
	cols := strings.Join(match.MatchesTable.Columns, ", ")
	sel := strings.NewReplacer("outcome", "? AS outcome", "decided_by", "? AS decided_by", "decision_reason", "? AS decision_reason",
		", version", ", toUInt64(?) AS version").Replace(cols)
	if err := conn.Exec(ctx, "INSERT INTO recon_matches ("+cols+") SELECT "+sel+" FROM recon_matches FINAL WHERE company = ? AND line_id = ?",
		next, by, reason, v, company, line); err != nil {
		return decision{}, fmt.Errorf("record decision: %w", err)
	}
	lcols := strings.Join(match.MatchLinesTable.Columns, ", ")
	lsel := strings.NewReplacer("outcome", "? AS outcome", ", version", ", toUInt64(?) AS version").Replace(lcols)
	if err := conn.Exec(ctx, "INSERT INTO recon_match_lines ("+lcols+") SELECT "+lsel+" FROM recon_match_lines FINAL WHERE company = ? AND line_id = ? AND match_id = ?",
		next, v, company, line, matchID); err != nil {
		return decision{}, fmt.Errorf("record decision: %w", err)
	}
	return decision{company, line, next}, nil
}
