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
