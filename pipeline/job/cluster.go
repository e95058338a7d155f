package job

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
)

// KafkaCluster is how to reach the configured Kafka cluster: its brokers,
// with TLS and SASL as the configuration says. The files it names are
// read now, so that a missing certificate is an error at start, naming
// its key, not a failed dial later.
func KafkaCluster(k config.Kafka) (kafka.Cluster, error) {
	c := kafka.Cluster{Brokers: k.Brokers}
	if k.TLS.Enabled {
		t, err := TLSConfig("kafka.tls", k.TLS)
		if err != nil {
			return c, err
		}
		c.TLS = t
	}
	if k.SASL.Mechanism != "" {
		m, err := saslMechanism(k.SASL)
		if err != nil {
			return c, fmt.Errorf("kafka.sasl: %w", err)
		}
		c.SASL = m
	}
	return c, nil
}

// TLSConfig builds a client TLS configuration; key prefixes its errors.
func TLSConfig(key string, t config.TLS) (*tls.Config, error) {
	out := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", key, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file: %s holds no PEM certificate", key, t.CAFile)
		}
		out.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file: %w", key, err)
		}
		out.Certificates = []tls.Certificate{pair}
	}
	return out, nil
}

func saslMechanism(a config.KafkaSASL) (sasl.Mechanism, error) {
	switch a.Mechanism {
	case "PLAIN":
		return plain.Mechanism{Username: a.Username, Password: a.Password}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, a.Username, a.Password)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, a.Username, a.Password)
	}
	return nil, errors.New("mechanism " + a.Mechanism + " is not one erpflow speaks")
}
