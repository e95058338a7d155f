package kafka

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/erpflow/erpflow/connectors/kafka/kafkatest"
)

// roundTrip writes a message through c and reads it back through a group
// source on c, the paths erpflow run and erpflow produce take.
func roundTrip(t *testing.T, c Cluster, group string) error {
	return roundTripOn(t, c, group, "erp.invoices")
}

// roundTripOn is roundTrip through topic.
func roundTripOn(t *testing.T, c Cluster, group, topic string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := NewWriter(c)
	defer w.Close()
	if err := w.WriteMessages(ctx, kafkago.Message{Topic: topic, Key: []byte("SH01"), Value: []byte(`{"x":1}`)}); err != nil {
		return err
	}
	if err := c.Ping(ctx, topic); err != nil {
		return err
	}
	read := 0
	if err := ReadTopic(ctx, c, topic, func(m kafkago.Message) error {
		if string(m.Value) == `{"x":1}` {
			read++
		}
		return nil
	}); err != nil || read != 1 {
		t.Fatalf("ReadTopic: %d messages read back, %v", read, err)
	}
	s, err := NewSource(SourceConfig{Cluster: c, GroupID: group, Topics: []string{topic},
		SessionTimeout: time.Second, HeartbeatInterval: 100 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
		JoinGroupBackoff: 100 * time.Millisecond, MaxWait: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	defer s.Close()
	for ctx.Err() == nil {
		msgs, err := s.Fetch(ctx, 10, 200*time.Millisecond)
		if err != nil {
			return err
		}
		if len(msgs) == 1 && string(msgs[0].Value) == `{"x":1}` {
			return nil
		}
	}
	t.Fatal("the message written did not come back through the source")
	return nil
}

// TestTLSAndSASL: erpflow reaches a broker that speaks TLS only, and one
// that asks for SASL (PLAIN, SCRAM), as configured; without them, or with
// a wrong password or an untrusted certificate, it does not get through.
func TestTLSAndSASL(t *testing.T) {
	cert, pool, _ := kafkatest.SelfSigned(t)
	secure, err := StartBroker(BrokerConfig{Topics: []string{"erp.invoices", "erp.payments"}, Partitions: 1,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	c := NewCluster([]string{secure.Addr()}, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil)
	if err := roundTrip(t, c, "g-tls"); err != nil {
		t.Errorf("over TLS: %v", err)
	}
	c.Close()
	// A cluster written as a literal is no less secure for it.
	if err := roundTripOn(t, Cluster{Brokers: []string{secure.Addr()}, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, "g-tls-literal", "erp.payments"); err != nil {
		t.Errorf("a literal TLS cluster: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	untrusted := NewCluster([]string{secure.Addr()}, &tls.Config{MinVersion: tls.VersionTLS12}, nil)
	if err := untrusted.Ping(ctx, "erp.invoices"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a certificate nobody vouched for was taken: %v", err)
	}
	untrusted.Close()

	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		b, err := StartBroker(BrokerConfig{Topics: []string{"erp.invoices"}, Partitions: 1,
			Users: []SASLUser{{Mechanism: mech, Name: "erpflow", Password: "s3cret"}}})
		if err != nil {
			t.Fatal(err)
		}
		as := func(password string) Cluster {
			var m sasl.Mechanism = plain.Mechanism{Username: "erpflow", Password: password}
			switch mech {
			case "SCRAM-SHA-256":
				m, err = scram.Mechanism(scram.SHA256, "erpflow", password)
			case "SCRAM-SHA-512":
				m, err = scram.Mechanism(scram.SHA512, "erpflow", password)
			}
			if err != nil {
				t.Fatal(err)
			}
			return NewCluster([]string{b.Addr()}, nil, m)
		}
		c := as("s3cret")
		if err := roundTrip(t, c, "g-"+mech); err != nil {
			t.Errorf("%s: %v", mech, err)
		}
		c.Close()
		// Refused, and at once: not a dial left to time out.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		wrong := as("guess")
		if err := wrong.Ping(ctx, "erp.invoices"); err == nil || ctx.Err() != nil {
			t.Errorf("%s: a wrong password was not refused: %v", mech, err)
		}
		wrong.Close()
		if err := Plaintext(b.Addr()).Ping(ctx, "erp.invoices"); err == nil || ctx.Err() != nil {
			t.Errorf("%s: no authentication was not refused: %v", mech, err)
		}
		cancel()
		b.Close()
	}
}

// TestPingReachesTheBroker: a broker gone fails the check, however often
// it answered before: the metadata the transport keeps does not stand in
// for it.
func TestPingReachesTheBroker(t *testing.T) {
	b, err := StartBroker(BrokerConfig{Topics: []string{"erp.invoices"}, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := Plaintext(b.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 3 {
		if err := c.Ping(ctx, "erp.invoices"); err != nil {
			t.Fatalf("a live broker: %v", err)
		}
	}
	if err := c.Ping(ctx, "erp.nowhere"); err == nil {
		t.Error("a topic the cluster does not have passed")
	}
	b.Close()
	gone, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if err := c.Ping(gone, "erp.invoices"); err == nil {
		t.Error("a broker that is gone passed the check")
	}
}
