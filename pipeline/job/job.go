// Package job assembles the main pipeline from configuration: the Kafka
// source, the stages, the ClickHouse sink, the dead-letter producer and the
// HTTP endpoints, and runs it.
package job

import (
	"context"
	"errors"
	"fmt"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
	"github.com/erpflow/erpflow/transforms/decode"
	"github.com/erpflow/erpflow/transforms/mapping"
	"github.com/erpflow/erpflow/transforms/match"
)

// Options are the run's non-configuration inputs.
type Options struct {
	UntilCaughtUp bool
	Log           *slog.Logger
	// Progress, when set, is called after every offset commit with the
	// totals so far and the lag left at the start.
	Progress func(s pipeline.Stats, startLag int64)
	// Registry collects the metrics; nil makes a fresh one.
	Registry *prometheus.Registry
}

// Result is what a run did.
type Result struct {
	pipeline.Stats
	Elapsed time.Duration
}

// ClickHouseConfig converts the configuration section, reading its TLS
// files now, so that a missing certificate is an error at start naming
// its key.
func ClickHouseConfig(c config.ClickHouse) (clickhouse.Config, error) {
	out := clickhouse.Config{Addr: c.Addr, User: c.User, Password: c.Password, Database: c.Database}
	if c.TLS.Enabled {
		t, err := TLSConfig("clickhouse.tls", c.TLS)
		if err != nil {
			return out, err
		}
		out.TLS = t
	}
	return out, nil
}

// flagPreload is how many recent records of each kind and company rebuild
// the flag stage at start and after a rebalance: the stage's own window
// (clean.DefaultFlagWindow) is as many documents a company.
const flagPreload = 50_000

// newFlagStage marks near-duplicates and outlying amounts on the record. It
// loads ClickHouse's recent rows at each assignment, the first included,
// so that near-duplicates and outliers are judged against documents from
// before a restart, and those other members landed before a rebalance.
func newFlagStage(conn driver.Conn, ld *loads) *clean.FlagStage {
	return clean.NewFlagStage(clean.FlagOptions{
		Set: func(it *pipeline.Item, f clean.Flags) {
			it.Rec.Flags = record.Flags{DuplicateOf: f.DuplicateOf, Outlier: f.Outlier, OutlierScore: f.OutlierScore}
		},
		Reload: func(ctx context.Context, f func(*record.Record)) error {
			// A second attempt gives the records of the first again, which
			// the stage takes as the same versions: nothing changes.
			return ld.retry(ctx, "flags: load recent records", func() error {
				n, err := clickhouse.Recent(ctx, conn, time.Now().Add(-dedupeLookback), flagPreload, f)
				if err == nil {
					ld.log.Info("flag stage loaded from ClickHouse", "records", n)
				}
				return err
			})
		},
	})
}

// loads retries the stages' loads from Kafka or ClickHouse at an
// assignment while the servers do not answer: a server down for a while
// holds the pipeline, as a failed sink write does, instead of ending the
// run. An answer that the load cannot be done (ClickHouse refusing the
// query, Kafka refusing the group) ends it, since waiting does not mend
// it. While a load fails, /readyz says so.
type loads struct {
	log     *slog.Logger
	failing atomic.Pointer[error]
}

func (l *loads) retry(ctx context.Context, what string, f func() error) error {
	var permanent error
	err := pipeline.Retry(ctx, 200*time.Millisecond, 10*time.Second, func() error {
		err := f()
		if err != nil && refused(err) {
			permanent = err
			return nil
		}
		return err
	}, func(attempt int, err error, wait time.Duration) {
		err = fmt.Errorf("%s: %w", what, err)
		l.failing.Store(&err)
		l.log.Warn("load failed; retrying", "what", what, "attempt", attempt, "err", err, "backoff", wait)
	})
	l.failing.Store(nil)
	if permanent != nil {
		return fmt.Errorf("%s: %w", what, permanent)
	}
	return err
}

// healthy is nil unless a load is failing.
func (l *loads) healthy() error {
	if err := l.failing.Load(); err != nil {
		return *err
	}
	return nil
}

// refused says whether err is a server's answer that waiting does not mend.
func refused(err error) bool {
	var kerr kafkago.Error
	return clickhouse.Refused(err) || errors.As(err, &kerr) && !kerr.Temporary()
}

// landedPastCommits gives seed the place of every version that landed
// from this member's partitions past the group's committed offsets there.
func landedPastCommits(ctx context.Context, src *kafka.Source, conn driver.Conn, limit int, log *slog.Logger,
	seed func(string, int32, int64)) error {
	committed, err := src.Committed(ctx)
	if err != nil {
		return err
	}
	_, assigned := src.Assignment()
	from := map[string]map[int]int64{}
	for t, parts := range assigned {
		for _, p := range parts {
			if c, ok := committed[t][p]; ok {
				if from[t] == nil {
					from[t] = map[int]int64{}
				}
				from[t][p] = c
			}
		}
	}
	n, more, err := clickhouse.LandedAfter(ctx, conn, from, limit, seed)
	if err != nil {
		return err
	}
	log.Info("dedupe knows what landed past the committed offsets", "records", n)
	if more {
		log.Warn("more records landed past the committed offsets than dedupe remembers: the rest, read again, count as duplicates",
			"remembered", n)
	}
	return nil
}

// dedupeLookback is how far back the dedupe stage's memory is rebuilt from
// ClickHouse at start: at-least-once re-sends come within minutes or hours
// of the original, and a week covers a long outage.
const dedupeLookback = 7 * 24 * time.Hour

// LoadMappings loads the mapping of every configured source, by raw topic.
// A mapping named by a path (it has a / or ends in .yaml) is read from
// that file; otherwise it is one of the mappings shipped with erpflow.
func LoadMappings(cfg config.Config) (map[string]*mapping.Mapping, error) {
	out := map[string]*mapping.Mapping{}
	var errs []error
	for i, s := range cfg.Sources {
		name := s.MappingName()
		var m *mapping.Mapping
		var err error
		if strings.Contains(name, "/") || strings.HasSuffix(name, ".yaml") {
			m, err = mapping.Load(name)
		} else {
			m, err = mapping.LoadShipped(name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sources[%d] (%s): %w", i, s.Name, err))
			continue
		}
		out[s.TopicName()] = m
	}
	return out, errors.Join(errs...)
}

// Run migrates ClickHouse, then consumes until ctx ends or, with
// UntilCaughtUp, until every input partition is consumed and committed.
// ctx ending is a clean stop at any point, start-up included: a SIGTERM
// while the dedupe seed loads is a deploy, not a failure. What a step cut
// short by it returns is not always a context error (a broker answers a
// request abandoned half way with an error of its own), so once ctx has
// ended, nothing is reported; nothing was committed that had not landed.
func Run(ctx context.Context, cfg config.Config, opt Options) (Result, error) {
	res, err := run(ctx, cfg, opt)
	if err != nil && ctx.Err() != nil {
		if opt.Log != nil {
			opt.Log.Info("stopped while starting or stopping", "err", err)
		}
		return res, nil
	}
	return res, err
}

func run(ctx context.Context, cfg config.Config, opt Options) (Result, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cluster, err := KafkaCluster(cfg.Kafka)
	if err != nil {
		return Result{}, err
	}
	defer cluster.Close()
	if cfg.Kafka.TLS.InsecureSkipVerify {
		log.Warn("kafka.tls.insecure_skip_verify is on: any certificate is taken, so anyone between erpflow and the brokers can read and change the records")
	}
	if cfg.ClickHouse.TLS.InsecureSkipVerify {
		log.Warn("clickhouse.tls.insecure_skip_verify is on: any certificate is taken, so anyone between erpflow and ClickHouse can read and change what lands")
	}
	reg := opt.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	metrics := pipeline.NewMetrics(reg)
	chCfg, err := ClickHouseConfig(cfg.ClickHouse)
	if err != nil {
		return Result{}, err
	}

	applied, err := clickhouse.Migrate(ctx, chCfg)
	if err != nil {
		return Result{}, err
	}
	for _, m := range applied {
		log.Info("migration applied", "version", m.Version, "name", m.Name)
	}
	conn, err := clickhouse.Open(ctx, chCfg, chCfg.Database)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()

	mappings, err := LoadMappings(cfg)
	if err != nil {
		return Result{}, err
	}
	dedupe := clean.NewDedupe(0)
	// What landed lately, newest first, each kind its share of the window.
	landed := func(ctx context.Context, seed func(*record.Record)) (int, error) {
		return clickhouse.Landed(ctx, conn, time.Now().Add(-dedupeLookback), dedupe.Window()/len(record.Kinds), seed)
	}
	seeded, err := landed(ctx, dedupe.Seed)
	if err != nil {
		return Result{}, fmt.Errorf("seed dedupe: %w", err)
	}
	log.Info("dedupe seeded from ClickHouse", "records", seeded, "since", dedupeLookback)
	// The flag stage's memory is rebuilt the same way, at its first batch
	// (see newFlagStage).
	ld := &loads{log: log}
	flags := newFlagStage(conn, ld)
	inputs := cfg.InputTopics()
	if cfg.Matching.Enabled {
		// Review decisions come in beside the records, co-partitioned by
		// company, so the member that matches a company sees them.
		inputs = append(inputs, cfg.Kafka.Topics.Reviews)
	}
	src, err := kafka.NewSource(kafka.SourceConfig{
		Cluster:          cluster,
		GroupID:          cfg.Kafka.GroupID,
		Topics:           inputs,
		SessionTimeout:   cfg.Kafka.SessionTimeout.D(),
		RebalanceTimeout: cfg.Kafka.RebalanceTimeout.D(),
		MaxWait:          cfg.Kafka.MaxWait.D(),
		MinBytes:         cfg.Kafka.MinBytes,
		MaxBytes:         cfg.Kafka.MaxBytes,
		EventTimeOrder:   cfg.Kafka.EventTimeOrder,
		Log:              log,
		Metrics:          metrics,
	})
	if err != nil {
		return Result{}, err
	}
	defer src.Close()
	// What landed past the committed offsets (a crash or a rebalance came
	// between the write and the commit) is read again at each assignment:
	// dedupe must take it for the records themselves, not for duplicates.
	dedupe.OnAssignment(func(ctx context.Context, seed func(string, int32, int64)) error {
		return ld.retry(ctx, "dedupe: read what landed past the committed offsets", func() error {
			return landedPastCommits(ctx, src, conn, dedupe.Window(), log, seed)
		})
	})
	// A rebalance may bring companies other members landed records of
	// since this one started: dedupe adds what ClickHouse holds to its
	// memory at each later generation. A read broken part way is read
	// again whole; a version it has is taken as the same version.
	dedupe.ReseedOnAssignment(func(ctx context.Context, seed func(*record.Record)) error {
		return ld.retry(ctx, "dedupe: read what landed lately", func() error {
			n, err := landed(ctx, seed)
			if err == nil {
				log.Info("dedupe seeded from ClickHouse for a new assignment", "records", n)
			}
			return err
		})
	})
	dlq := kafka.NewDeadLetters(cluster, cfg.Kafka.Topics.DeadLetter)
	defer dlq.Close()

	stages := []pipeline.Stage{decode.New(mappings).PassThrough(cfg.Kafka.Topics.Reviews).ReleaseValues(), dedupe, clean.NewKeys(), flags}
	var sink pipeline.Sink = clickhouse.NewSink(conn)
	if cfg.Matching.Enabled {
		// The first lag check tells matching which partitions are empty.
		if _, err := src.Lag(ctx); err != nil {
			return Result{}, fmt.Errorf("matching: read partition ends: %w", err)
		}
		ms, err := newMatchStage(cfg, conn, reg, src, ld)
		if err != nil {
			return Result{}, err
		}
		stages = append(stages, ms)
		notes := kafka.NewNotes(cluster)
		defer notes.Close()
		if gs, ok := sink.(pipeline.GroupSink); ok {
			sink = publishingGroupSink{publishingSink{sink, notes}, gs}
		} else {
			sink = publishingSink{sink, notes}
		}
	}

	var startLag int64
	if opt.Progress != nil {
		if startLag, err = src.Lag(ctx); err != nil {
			log.Warn("cannot read lag for progress", "err", err)
		}
	}
	runner := pipeline.NewRunner(pipeline.Config{
		BatchSize:       cfg.Pipeline.BatchSize,
		BatchWait:       cfg.Pipeline.BatchWait.D(),
		SinkConcurrency: cfg.Pipeline.SinkConcurrency,
		SinkLinger:      cfg.Pipeline.SinkLinger.D(),
		DrainTimeout:    cfg.Pipeline.DrainTimeout.D(),
		UntilCaughtUp:   opt.UntilCaughtUp,
	}, src, stages, sink, dlq, metrics, log)
	if opt.Progress != nil {
		runner.Progress = func(s pipeline.Stats) { opt.Progress(s, startLag) }
	}

	var consuming atomic.Bool
	stopHTTP, err := serveHTTP(cfg.HTTP.Listen, reg, log, func(ctx context.Context) error {
		if !consuming.Load() {
			return errors.New("not consuming")
		}
		if err := runner.Healthy(); err != nil {
			return err
		}
		if err := ld.healthy(); err != nil {
			return err
		}
		if err := conn.Ping(ctx); err != nil {
			return fmt.Errorf("clickhouse: %w", err)
		}
		if err := cluster.Ping(ctx, cfg.Kafka.Topics.DeadLetter); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	defer stopHTTP()

	// Lag gauges are refreshed on a timer: the source computes them from
	// the group's committed offsets, which is a broker round trip.
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-lagCtx.Done():
				return
			case <-t.C:
				if _, err := src.Lag(lagCtx); err != nil && lagCtx.Err() == nil {
					log.Warn("lag check failed", "err", err)
				}
			}
		}
	}()

	start := time.Now()
	consuming.Store(true)
	err = runner.Run(ctx)
	consuming.Store(false)
	return Result{Stats: runner.Stats(), Elapsed: time.Since(start)}, err
}

// serveHTTP serves /metrics, /healthz (the process is alive) and /readyz
// (ready answers nil) on listen; an empty listen serves nothing.
func serveHTTP(listen string, reg *prometheus.Registry, log *slog.Logger, ready func(context.Context) error) (stop func(), err error) {
	if listen == "" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		// Within the 2 s a shutdown waits for, so that no check is still
		// using the cluster after the run has closed it.
		ctx, cancel := context.WithTimeout(r.Context(), 1500*time.Millisecond)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz, /readyz", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// newMatchStage builds the matching stage from the configuration, with
// its state rebuilt from what landed in ClickHouse.
func newMatchStage(cfg config.Config, conn driver.Conn, reg prometheus.Registerer, src *kafka.Source, ld *loads) (*match.Stage, error) {
	opt := match.StageOptions{Topics: cfg.InputTopics(), Lateness: cfg.Matching.Lateness.D(), Workers: cfg.Matching.Workers, Drained: src.Drained,
		Assignment: src.Assignment,
		Default:    matchSettings(cfg.Matching.Rules), Settings: map[string]match.Settings{},
		History: retryingHistory{clickhouse.NewHistory(conn), ld}, MatchesTopic: cfg.Kafka.Topics.Matches,
		ExceptionsTopic: cfg.Kafka.Topics.Exceptions, ReviewsTopic: cfg.Kafka.Topics.Reviews, Registerer: reg}
	for c := range cfg.Matching.Companies {
		opt.Settings[c] = matchSettings(cfg.Matching.For(c))
	}
	return match.NewStage(opt)
}

// retryingHistory retries matching's reads from ClickHouse (at an
// assignment, and for a company seen first): a server down for a while
// holds the pipeline instead of ending the run. A read that fails after
// some of a company's records came is read again from the first, and the
// stage told to forget the records of the failed read (restart).
type retryingHistory struct {
	match.History
	loads *loads
}

func (h retryingHistory) Companies(ctx context.Context, parts map[string][]int) (out map[string][]int32, err error) {
	err = h.loads.retry(ctx, "matching: list the companies of the partitions", func() error {
		out, err = h.History.Companies(ctx, parts)
		return err
	})
	return out, err
}

func (h retryingHistory) Records(ctx context.Context, company string, add func(*record.Record), restart func()) error {
	came := false
	return h.loads.retry(ctx, "matching: read the history of "+company, func() error {
		if came {
			restart()
			came = false
		}
		return h.History.Records(ctx, company, func(r *record.Record) { came = true; add(r) }, restart)
	})
}

func (h retryingHistory) Decisions(ctx context.Context, company string) (out []match.Decision, err error) {
	err = h.loads.retry(ctx, "matching: read the decisions of "+company, func() error {
		out, err = h.History.Decisions(ctx, company)
		return err
	})
	return out, err
}

func matchSettings(r config.MatchRules) match.Settings {
	s := match.DefaultSettings()
	s.Rules = match.Config{Confirm: r.Confirm, Review: r.Review, Margin: r.Margin, FeeMinor: r.FeeMaxMinor, FeeBP: r.FeeBasisPoints,
		MaxSubset: r.MaxSubset, TieOldestDue: r.TieOldestDue != nil && *r.TieOldestDue, Order: r.Order, Off: r.Off, WindowDays: r.PartyWindowDays}
	if len(r.RefPatterns) > 0 {
		s.RefPatterns = r.RefPatterns
	}
	s.UnmatchedDays, s.DuplicateDays, s.RetainDays, s.ClearedDays = r.UnmatchedDays, r.DuplicateDays, r.RetainDays, r.ClearedDays
	for _, l := range r.ApprovalLevels {
		m, _ := l.Money() // checked with the configuration
		s.ApprovalLevels = append(s.ApprovalLevels, match.LevelRule{Above: m, Levels: l.Levels})
	}
	if t := r.ThreeWay; t != nil {
		abs, _ := t.Fixed() // checked with the configuration
		s.ThreeWay = match.ThreeWayTolerance{QuantityBP: t.QuantityBasisPoints, PriceBP: t.PriceBasisPoints, PriceAbs: abs}
	}
	return s
}

// publishingSink lands a batch in ClickHouse, then publishes its notes:
// a note goes out only about rows that are stored, and a failed publish
// fails the write, so the batch is retried and nothing is committed.
type publishingSink struct {
	pipeline.Sink
	notes *kafka.Notes
}

func (p publishingSink) Write(ctx context.Context, b *pipeline.Batch) error {
	if err := p.Sink.Write(ctx, b); err != nil {
		return err
	}
	return p.notes.Publish(ctx, b.Notes)
}

// publishingGroupSink is publishingSink over a sink that can land batches
// together.
type publishingGroupSink struct {
	publishingSink
	group pipeline.GroupSink
}

// WriteGroup lands the batches together, then publishes their notes in
// batch order. A failure leaves the runner to write and publish each batch
// again on its own: notes already out go out twice, which their readers
// take (they dedupe on ids, as after any retry).
func (p publishingGroupSink) WriteGroup(ctx context.Context, bs []*pipeline.Batch) error {
	if err := p.group.WriteGroup(ctx, bs); err != nil {
		return err
	}
	for _, b := range bs {
		if err := p.notes.Publish(ctx, b.Notes); err != nil {
			return err
		}
	}
	return nil
}
