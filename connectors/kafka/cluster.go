package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
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
	// tr is the writers' and clients' transport, one for the cluster: a
	// kafka-go transport keeps a connection and a metadata poller until
	// its idle connections are closed, and one made per client (a
	// readiness probe every few seconds) piled them up.
	tr *kafkago.Transport
}

// NewCluster returns a cluster with its transport; Close lets go of
// the transport's connections.
func NewCluster(brokers []string, t *tls.Config, m sasl.Mechanism) Cluster {
	c := Cluster{Brokers: brokers, TLS: t, SASL: m}
	if t != nil || m != nil {
		c.tr = &kafkago.Transport{TLS: t, SASL: m, DialTimeout: 10 * time.Second}
	}
	return c
}

// Plaintext is a cluster reached without TLS or SASL.
func Plaintext(brokers ...string) Cluster { return NewCluster(brokers, nil, nil) }

// Close closes the idle connections of the cluster's own transport (a
// plaintext cluster shares kafka-go's default one, which stays).
func (c Cluster) Close() {
	if c.tr != nil {
		c.tr.CloseIdleConnections()
	}
}

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

// transport is for writers and clients: the cluster's own, or kafka-go's
// default one for a plaintext cluster without authentication.
func (c Cluster) transport() kafkago.RoundTripper {
	switch {
	case c.tr != nil:
		return c.tr
	case c.TLS == nil && c.SASL == nil:
		// A plaintext cluster shares kafka-go's default, as erpflow
		// always did.
		return kafkago.DefaultTransport
	}
	// A secure cluster written as a literal rather than by NewCluster:
	// never plaintext for want of its transport, though this one is
	// never closed. erpflow's own code makes its clusters with NewCluster.
	return &kafkago.Transport{TLS: c.TLS, SASL: c.SASL, DialTimeout: 10 * time.Second}
}

// client is a request client of the cluster.
func (c Cluster) client(timeout time.Duration) *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Timeout: timeout, Transport: c.transport()}
}

// Ping asks a broker of the cluster for its API versions: a request a
// broker answers itself, over the connection's TLS and SASL. (A metadata
// request is answered from the transport's cache, which keeps answering
// once the brokers are gone.) topic is the one erpflow needs; Ping
// fails if the cluster does not know it, from the cache as it stands.
func (c Cluster) Ping(ctx context.Context, topic string) error {
	cl := c.client(10 * time.Second)
	if _, err := cl.ApiVersions(ctx, &kafkago.ApiVersionsRequest{}); err != nil {
		return err
	}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return err
	}
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("topic %s: %w", topic, t.Error)
		}
	}
	return nil
}
