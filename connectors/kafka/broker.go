package kafka

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is the embedded Kafka-protocol broker (franz-go's kfake) that the
// demo and the tests run in-process. Clients reach it over TCP exactly as
// they reach Kafka; nothing in erpflow knows it is not Kafka.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// BrokerConfig says where the broker listens and which topics exist from
// the start.
type BrokerConfig struct {
	Listen     string   // host:port; port 0 picks a free one
	Topics     []string // created with Partitions partitions each
	Partitions int
	DataDir    string // empty keeps everything in memory
	// TLS, when set, is the listener's: the broker speaks TLS only.
	TLS *tls.Config
	// Users, when set, turn SASL on: every client must authenticate as
	// one of them (mechanism, user name and password each).
	Users []SASLUser
}

// SASLUser is a user the embedded broker knows, for one mechanism
// (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512).
type SASLUser struct{ Mechanism, Name, Password string }

// StartBroker starts the embedded broker.
func StartBroker(cfg BrokerConfig) (*Broker, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 4
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, cfg.Listen) }),
		kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.AllowAutoTopicCreation(),
		// Let tests and restarts use short group sessions.
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}
	if len(cfg.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.Users {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", cfg.Listen, err)
	}
	addrs := c.ListenAddrs()
	return &Broker{c: c, addr: addrs[0]}, nil
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker.
func (b *Broker) Close() { b.c.Close() }
