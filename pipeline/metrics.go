package pipeline

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runner's Prometheus series. Labels stay bounded: stage,
// kind, outcome, reason code, topic and partition number; never record ids.
type Metrics struct {
	Records      *prometheus.CounterVec   // stage, kind, outcome
	DeadLetters  *prometheus.CounterVec   // stage, reason
	Duplicates   prometheus.Counter       //
	BatchSeconds *prometheus.HistogramVec // phase: process, sink, total
	BatchSize    prometheus.Histogram     //
	SinkRows     *prometheus.CounterVec   // kind
	SinkErrors   prometheus.Counter       //
	SinkWrites   *prometheus.CounterVec   // batches: 1, 2, 3
	Commits      *prometheus.CounterVec   // outcome
	Lag          *prometheus.GaugeVec     // topic, partition
	InFlight     prometheus.Gauge         //
	// AbortedTransactions counts abort markers on input topics: the
	// aborted transaction's records were read as data (kafka-go cannot
	// filter them), so each one needs a person.
	AbortedTransactions *prometheus.CounterVec // topic
	// FetchErrors counts fetches of an input partition the broker or the
	// network failed. kafka-go tries again by itself, so a partition whose
	// fetches fail for good shows only here (and in its lag): the run goes
	// on, and commits nothing past it.
	FetchErrors *prometheus.CounterVec // topic, partition
}

// NewMetrics creates the series and registers them on reg when reg is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_records_total",
			Help: "Records leaving each stage, by kind and outcome: ok; duplicate (taken out as already landed); dead_letter (of kind unknown); control_record (transaction markers, at the source).",
		}, []string{"stage", "kind", "outcome"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_dead_letters_total",
			Help: "Messages sent to the dead-letter topic, by stage and reason code.",
		}, []string{"stage", "reason"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "erpflow_duplicates_total",
			Help: "Records recognised as already landed and not written again.",
		}),
		BatchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "erpflow_batch_duration_seconds",
			Help:    "Time a batch spends in each phase: process (the stages at work on it, queues between them left out), sink (write until acknowledged), total (fetch to acknowledgement).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"phase"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "erpflow_batch_messages",
			Help:    "Messages per batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		SinkRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_sink_rows_total",
			Help: "Rows acknowledged by the sink, by kind.",
		}, []string{"kind"}),
		SinkErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "erpflow_sink_errors_total",
			Help: "Failed sink or dead-letter writes (each is retried).",
		}),
		AbortedTransactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_source_aborted_transactions_total",
			Help: "Abort markers of transactional producers read on input topics; the aborted records were read as data (kafka-go does not filter them).",
		}, []string{"topic"}),
		FetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_source_fetch_errors_total",
			Help: "Failed fetches of an input partition (kafka-go tries again); one that keeps failing holds its records back.",
		}, []string{"topic", "partition"}),
		SinkWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_sink_writes_total",
			Help: "Sink writes, by how many batches went together (batches waiting when a writer was free).",
		}, []string{"batches"}),
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpflow_offset_commits_total",
			Help: "Offset commits, by outcome.",
		}, []string{"outcome"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "erpflow_consumer_lag_messages",
			Help: "Messages between the committed offset and the end of each input partition.",
		}, []string{"topic", "partition"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "erpflow_batches_in_flight",
			Help: "Batches fetched but not yet acknowledged.",
		}),
	}
	// Series that exist from the start: an alert's increase() or rate()
	// sees nothing of a series' first sample, so a commit outcome or
	// dead-letter series first created by the event it counts would not
	// fire the alert on it (ErpflowNoCommits found no "ok" series at all
	// after a restart whose commits all failed).
	m.Commits.WithLabelValues("ok")
	m.Commits.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.Records, m.DeadLetters, m.Duplicates, m.BatchSeconds, m.BatchSize,
			m.SinkRows, m.SinkErrors, m.SinkWrites, m.Commits, m.Lag, m.InFlight, m.AbortedTransactions, m.FetchErrors)
	}
	return m
}

// SetLag records one partition's lag.
func (m *Metrics) SetLag(topic string, partition int32, lag int64) {
	m.Lag.WithLabelValues(topic, strconv.Itoa(int(partition))).Set(float64(lag))
}
