package bridgetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// Dialer opens a TCP connection to addr: from the test's own network
// namespace, or (through testutil.NS.Do) another's.
type Dialer func(ctx context.Context, addr string) (net.Conn, error)

// LocalDial is a Dialer from the caller's namespace.
func LocalDial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// PlainTCP is the baseline the bridge benchmarks compare against: n writes
// of size bytes over one TCP stream from dial to ln, read with
// io.ReadFull into one buffer at the other end. It returns how long the
// n writes took to arrive.
func PlainTCP(ctx context.Context, ln net.Listener, dial Dialer, n, size int) (time.Duration, error) {
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		buf := make([]byte, size)
		for range n {
			if _, err := io.ReadFull(c, buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	c, err := dial(ctx, ln.Addr().String())
	if err != nil {
		_ = ln.Close() // ends the accept
		<-done
		return 0, fmt.Errorf("plain tcp: %w", err)
	}
	defer c.Close()
	buf := make([]byte, size)
	start := time.Now()
	for range n {
		if _, err := c.Write(buf); err != nil {
			_ = c.Close()
			<-done
			return 0, fmt.Errorf("plain tcp: %w", err)
		}
	}
	if err := <-done; err != nil {
		return 0, fmt.Errorf("plain tcp: %w", err)
	}
	return time.Since(start), nil
}
