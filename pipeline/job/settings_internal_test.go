package job

import (
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/transforms/match"
)

// TestMatchSettingsThreeWay: the configuration's three-way tolerances are
// the ones the reconciler checks supplier invoices with, the defaults
// included; so is the party rules' date window.
func TestMatchSettingsThreeWay(t *testing.T) {
	if got := matchSettings(config.Default().Matching.Rules).Rules.WindowDays; got != 180 {
		t.Errorf("party window: %d days, want 180", got)
	}
	if got := matchSettings(config.Default().Matching.Rules).ThreeWay; got != match.DefaultThreeWayTolerance() {
		t.Errorf("defaults: %+v, want %+v", got, match.DefaultThreeWayTolerance())
	}
	r := config.Default().Matching.Rules
	r.ThreeWay = &config.ThreeWayRules{QuantityBasisPoints: 200, PriceBasisPoints: 10, PriceAbs: "0.05"}
	want := match.ThreeWayTolerance{QuantityBP: 200, PriceBP: 10, PriceAbs: 500}
	if got := matchSettings(r).ThreeWay; got != want {
		t.Errorf("configured: %+v, want %+v", got, want)
	}
}

// TestKafkaClusterKeepsThePasswordOut: a password SCRAM cannot prepare is
// refused without being quoted, as the SCRAM library's own error does.
func TestKafkaClusterKeepsThePasswordOut(t *testing.T) {
	k := config.Default().Kafka
	k.SASL = config.KafkaSASL{Mechanism: "SCRAM-SHA-256", Username: "erpflow", Password: "tab\there"}
	_, err := KafkaCluster(k)
	if err == nil || strings.Contains(err.Error(), "tab") || !strings.Contains(err.Error(), "kafka.sasl") {
		t.Errorf("a password SASLprep refuses: %v", err)
	}
	k.SASL.Password = "fine"
	c, err := KafkaCluster(k)
	if err != nil || c.SASL == nil {
		t.Fatalf("a good password: %v", err)
	}
	c.Close()
}

// TestClickHouseTLSFromTheConfiguration: clickhouse.tls gives the
// connection its TLS configuration, the CA read at start; a missing CA
// file is an error naming its key.
func TestClickHouseTLSFromTheConfiguration(t *testing.T) {
	c := config.Default().ClickHouse
	if ch, err := ClickHouseConfig(c); err != nil || ch.TLS != nil {
		t.Fatalf("plaintext by default: %+v %v", ch.TLS, err)
	}
	c.TLS = config.TLS{Enabled: true, ServerName: "clickhouse.internal"}
	if ch, err := ClickHouseConfig(c); err != nil || ch.TLS == nil || ch.TLS.ServerName != "clickhouse.internal" {
		t.Fatalf("with TLS: %+v %v", ch.TLS, err)
	}
	c.TLS.CAFile = "/nonexistent/ca.pem"
	if _, err := ClickHouseConfig(c); err == nil || !strings.Contains(err.Error(), "clickhouse.tls.ca_file") {
		t.Errorf("a missing CA file: %v", err)
	}
}
