// Package dashboards holds Grafana boards and provisioning; its tests keep
// the boards and the Prometheus rules in deploy/ in step with the metrics
// the pipeline registers, so a renamed metric cannot leave a blank panel.
package dashboards

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/transforms/match"
)

// known returns the erpflow_ metric families the pipeline registers,
// with the suffixes Prometheus derives for histograms.
func known(t *testing.T) map[string]bool {
	reg := prometheus.NewRegistry()
	m := pipeline.NewMetrics(reg)
	// Touch every vector so that it is gathered.
	m.Records.WithLabelValues("s", "k", "o")
	m.DeadLetters.WithLabelValues("s", "r")
	m.BatchSeconds.WithLabelValues("p")
	m.SinkRows.WithLabelValues("k")
	m.Commits.WithLabelValues("ok")
	m.AbortedTransactions.WithLabelValues("t")
	m.FetchErrors.WithLabelValues("t", "0")
	m.SetLag("t", 0, 0)
	// Matching's vectors cannot be touched from here: their names come
	// from the descriptions the stage registers.
	descs := &describing{}
	if _, err := match.NewStage(match.StageOptions{Topics: []string{"t"}, Registerer: descs}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range descs.names {
		out[n] = true
	}
	for _, mf := range mfs {
		n := mf.GetName()
		out[n] = true
		if mf.GetType().String() == "HISTOGRAM" {
			out[n+"_bucket"], out[n+"_sum"], out[n+"_count"] = true, true, true
		}
	}
	return out
}

var metricName = regexp.MustCompile(`erpflow_[a-z_]+`)

// describing is a Registerer that keeps the metric names of what is
// registered with it.
type describing struct{ names []string }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describing) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return nil
}

func (d *describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}

func (d *describing) Unregister(prometheus.Collector) bool { return false }

func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	found := metricName.FindAllString(expr, -1)
	if len(found) == 0 && !strings.Contains(expr, "process_") {
		t.Errorf("%s: expression uses no erpflow metric: %s", where, expr)
	}
	for _, n := range found {
		if !names[n] {
			t.Errorf("%s: %s is not a metric erpflow exports", where, n)
		}
	}
}

func TestBoardsUseExportedMetrics(t *testing.T) {
	names := known(t)
	files, _ := os.ReadDir(".")
	boards := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".json") {
			continue
		}
		boards++
		raw, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title      string `json:"title"`
				Datasource struct {
					Type string `json:"type"`
				} `json:"datasource"`
				Targets []struct {
					Expr   string `json:"expr"`
					RawSQL string `json:"rawSql"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if b.UID == "" || len(b.Panels) == 0 {
			t.Errorf("%s: no uid or no panels", f.Name())
		}
		for _, p := range b.Panels {
			for _, tg := range p.Targets {
				if p.Datasource.Type == ClickHouseDatasource {
					// SQL: analytics' tests run it against ClickHouse.
					if tg.RawSQL == "" || tg.Expr != "" {
						t.Errorf("%s: %s: a ClickHouse panel's target needs rawSql, and no expr", f.Name(), p.Title)
					}
					continue
				}
				checkExpr(t, f.Name()+": "+p.Title, tg.Expr, names)
			}
		}
	}
	if boards == 0 {
		t.Fatal("no boards")
	}
}

func TestAlertRulesUseExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/prometheus/erpflow-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	names := known(t)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			checkExpr(t, r.Alert, r.Expr, names)
		}
	}
	if n == 0 {
		t.Fatal("no rules")
	}
}

func TestDeployConfigIsValid(t *testing.T) {
	for _, env := range []string{config.EnvKafkaBrokers, config.EnvClickHouseAddr, config.EnvClickHouseDatabase, config.EnvClickHouseUser} {
		t.Setenv(env, "")
	}
	c, err := config.Load("../deploy/erpflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.Partitions != 12 || c.Log.Format != "json" {
		t.Errorf("deploy config not read as written: %+v", c)
	}
}
