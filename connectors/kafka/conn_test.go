package kafka

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// countingConn counts the reads that reach the connection.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

func loopback(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestBufferedConnReadsInBlocks reads a 1 MiB response as kafka-go does,
// through a 4 KiB bufio.Reader in pieces of every size: every byte comes
// through in order, in far fewer reads of the socket than 4 KiB ones.
func TestBufferedConnReadsInBlocks(t *testing.T) {
	client, server := loopback(t)
	want := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	go func() {
		wrng := rand.New(rand.NewPCG(3, 4)) // the writer's own: rand.Rand is not safe to share
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+wrng.IntN(300<<10))
			if _, err := server.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	counted := &countingConn{Conn: client}
	r := bufio.NewReaderSize(newBufferedConn(counted), 4096)
	got := make([]byte, 0, len(want))
	for len(got) < len(want) {
		p := make([]byte, min(len(want)-len(got), 1+rng.IntN(9000)))
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from those sent")
	}
	// 16 KiB a read on average at least; 4 KiB reads would take 256.
	if max := len(want) / (16 << 10); counted.reads > max {
		t.Errorf("%d reads of the socket for 1 MiB, want at most %d", counted.reads, max)
	}
}

// TestBufferedConnKeepsDeadlines: kafka-go bounds every fetch with a read
// deadline. What the buffer holds is returned even past the deadline (it
// was received in time); a read with nothing buffered times out; and a
// later deadline lets reading go on.
func TestBufferedConnKeepsDeadlines(t *testing.T) {
	client, server := loopback(t)
	c := newBufferedConn(client)
	if _, err := server.Write([]byte("abcdef")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 3)
	if _, err := io.ReadFull(c, p); err != nil || string(p) != "abc" {
		t.Fatalf("read %q, %v", p, err)
	}
	if c.r.Buffered() != 3 {
		t.Fatalf("%d bytes buffered after the first read, want the other 3", c.r.Buffered())
	}
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, p); err != nil || string(p) != "def" {
		t.Fatalf("buffered bytes past the deadline: %q, %v", p, err)
	}
	_, err := c.Read(p)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("ghi")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, p); err != nil || string(p) != "ghi" {
		t.Fatalf("after the deadline moved: %q, %v", p, err)
	}
}
