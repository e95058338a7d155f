package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
)

// serverFlags are the two server addresses most commands let flags override.
type serverFlags struct{ brokers, clickhouse string }

func (s *serverFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&s.brokers, "brokers", "", "comma-separated Kafka host:port list (overrides "+config.EnvKafkaBrokers+")")
	c.Flags().StringVar(&s.clickhouse, "clickhouse", "", "ClickHouse native host:port (overrides "+config.EnvClickHouseAddr+")")
}

func (s *serverFlags) apply(cfg *config.Config) error {
	if s.brokers != "" {
		cfg.Kafka.Brokers = config.SplitList(s.brokers)
	}
	if s.clickhouse != "" {
		cfg.ClickHouse.Addr = s.clickhouse
	}
	if err := cfg.Check(); err != nil {
		return usageError{err}
	}
	return nil
}

func newRun(g *globals) *cobra.Command {
	var sf serverFlags
	var untilCaughtUp, matching bool
	var httpListen, cpuProfile, memProfile, group string
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline: Kafka topics to ClickHouse",
		Long: `Consumes every canonical topic as a member of the consumer group, decodes and
checks each record, lands it in ClickHouse and commits offsets only after that.
Records that fail go to the dead-letter topic with a reason.

Settings come from defaults, then --config, then the environment, then flags.
On SIGINT or SIGTERM the batch in flight is finished or left uncommitted, and
erpflow exits 0. With --until-caught-up it exits once every input partition is
consumed to its end and committed; its last line is
consumed=N landed=N dead_lettered=N duplicates=N`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if err := sf.apply(&cfg); err != nil {
				return err
			}
			if cmd.Flags().Changed("http-listen") {
				cfg.HTTP.Listen = httpListen
			}
			if cmd.Flags().Changed("matching") {
				cfg.Matching.Enabled = matching
			}
			if group != "" {
				cfg.Kafka.GroupID = group
			}
			log := logger(cfg.Log)
			ceiling := memoryCeiling(os.ReadFile)
			if ceiling > 0 {
				log.Info("memory limit of the control group read", "soft_limit_ceiling_mib", ceiling>>20)
			}
			if paceCollector(os.Getenv, ceiling) {
				go followLiveHeap(cmd.Context(), log, time.Second/4, ceiling)
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if memProfile != "" {
				stop, err := startPeakHeapProfile(memProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			var p *progress
			opt := job.Options{UntilCaughtUp: untilCaughtUp, Log: log}
			if untilCaughtUp {
				began := time.Now()
				opt.Progress = func(s pipeline.Stats, startLag int64) {
					if p == nil {
						// The first report comes after the first batch: the
						// rate counts from the start of the run.
						p = newProgressSince("run", startLag, began)
					}
					p.Set(s.Consumed)
				}
			}
			res, err := job.Run(cmd.Context(), cfg, opt)
			if p != nil {
				p.Finish()
			}
			if err != nil {
				return err
			}
			if untilCaughtUp && cmd.Context().Err() != nil {
				// Still exit 0 (a clean stop), but say it was not the end.
				fmt.Fprintln(cmd.ErrOrStderr(), "erpflow: interrupted before catching up; what was not committed is read again next time")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "consumed=%d landed=%d dead_lettered=%d duplicates=%d\n",
				res.Consumed, res.Landed, res.DeadLettered, res.Duplicates)
			return nil
		},
	}
	sf.add(c)
	c.Flags().BoolVar(&untilCaughtUp, "until-caught-up", false, "exit once every input partition is consumed and committed")
	c.Flags().BoolVar(&matching, "matching", true, "run the matching stage (overrides matching.enabled)")
	c.Flags().StringVar(&group, "group", "", "consumer group id (overrides kafka.group_id)")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for go tool pprof)")
	c.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile taken at the run's largest live heap to this file (for go tool pprof)")
	c.Flags().StringVar(&httpListen, "http-listen", "", "host:port for /metrics, /healthz, /readyz (overrides http.listen; empty disables)")
	return c
}

// startPeakHeapProfile samples the heap every quarter second and writes,
// at stop, the profile of the moment the live heap (what the last
// collection kept) was largest: what a run holds at its peak, not what is
// left at its end. Live bytes, not in-use ones: a heap profile describes
// the last collection, and in-use bytes peak with garbage between them.
func startPeakHeapProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	done, finished := make(chan struct{}), make(chan struct{})
	var best []byte
	var peak uint64
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(live)
			if live[0].Value.Kind() != metrics.KindUint64 || live[0].Value.Uint64() <= peak {
				continue
			}
			peak = live[0].Value.Uint64()
			var buf bytes.Buffer
			if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
				best = buf.Bytes()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		if best == nil {
			// No collection ran (a short run): the heap as it is now.
			var buf bytes.Buffer
			if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
				best = buf.Bytes()
			}
		}
		f.Write(best)
		f.Close()
	}, nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
