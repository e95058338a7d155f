package kafka

import (
	"bufio"
	"net"
)

// fetchReadSize is how much a reader's connection takes from the socket
// at a time. kafka-go reads a fetch response through a 4 KiB bufio.Reader,
// one read system call per 4 KiB: 49,353 reads in the 90-day bench run,
// 8,312 through 64 KiB (6,185 through 256 KiB, whose buffers, one a
// partition reader, held 14 MB of the heap).
const fetchReadSize = 64 << 10

func newBufferedConn(c net.Conn) *bufferedConn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, fetchReadSize)}
}

// bufferedConn is a connection read through a buffer; deadlines and
// writes go to the connection itself. What the buffer holds is returned
// whatever the deadline, as data already received should be.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
