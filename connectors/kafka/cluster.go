package kafka

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// Cluster says how to reach a Kafka cluster: its bootstrap brokers, and
// the TLS and SASL a managed cluster asks for. The zero TLS and SASL are
// a plaintext connection without authentication, as the embedded broker
// takes.
type Cluster struct {
	Brokers []string
	TLS     *tls.Config    // nil: plaintext
	SASL    sasl.Mechanism // nil: no authentication
}

// Plaintext is a cluster reached without TLS or SASL.
func Plaintext(brokers ...string) Cluster { return Cluster{Brokers: brokers} }

// dialer is for connections erpflow reads through (readers and the
// group): TLS and SASL as configured, over a connection read through a
// large buffer (fetchReadSize).
func (c Cluster) dialer() *kafkago.Dialer {
	return &kafkago.Dialer{
		Timeout:       10 * time.Second,
		TLS:           c.TLS,
		SASLMechanism: c.SASL,
		DialFunc: func(ctx context.Context, network, address string) (net.Conn, error) {
			conn, err := (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}).DialContext(ctx, network, address)
			if err != nil {
				return nil, err
			}
			return newBufferedConn(conn), nil
		},
	}
}

// transport is for writers and clients: kafka-go's default transport,
// with the cluster's TLS and SASL.
func (c Cluster) transport() *kafkago.Transport {
	return &kafkago.Transport{TLS: c.TLS, SASL: c.SASL, DialTimeout: 10 * time.Second}
}

// client is a request client of the cluster.
func (c Cluster) client(timeout time.Duration) *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Timeout: timeout, Transport: c.transport()}
}

// Ping asks the cluster for a topic's metadata: the brokers answer, and
// take the connection's TLS and SASL.
func (c Cluster) Ping(ctx context.Context, topic string) error {
	_, err := c.client(10*time.Second).Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	return err
}
