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
// Close the cluster when done with it: it holds connections.
func KafkaCluster(k config.Kafka) (kafka.Cluster, error) {
	var t *tls.Config
	var m sasl.Mechanism
	if k.TLS.Enabled {
		var err error
		if t, err = TLSConfig("kafka.tls", k.TLS); err != nil {
			return kafka.Cluster{}, err
		}
	}
	if k.SASL.Mechanism != "" {
		var err error
		if m, err = saslMechanism(k.SASL); err != nil {
			return kafka.Cluster{}, fmt.Errorf("kafka.sasl: %w", err)
		}
	}
	return kafka.NewCluster(k.Brokers, t, m), nil
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
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if a.Mechanism == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, a.Username, a.Password)
		if err != nil {
			// The library's error quotes the password: never passed on.
			return nil, errors.New("the user name or password is not a valid SASLprep string (a control character, or one newer than Unicode 3.2?)")
		}
		return m, nil
	}
	return nil, errors.New("mechanism " + a.Mechanism + " is not one erpflow speaks")
}
