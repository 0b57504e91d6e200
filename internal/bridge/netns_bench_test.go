//go:build linux

package bridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"mediamesh/internal/bridge"
	"mediamesh/internal/bridge/bridgetest"
	"mediamesh/internal/testutil"
)

// BenchmarkBridgeNetns is BenchmarkBridge between two network namespaces
// joined by a veth pair, as two nodes are: the bridge's throughput, and a
// plain single TCP stream between the same namespaces right after it
// (tcp-MB/s); ratio = bridge / plain, target ≥ 0.8. Needs root.
func BenchmarkBridgeNetns(b *testing.B) {
	testutil.RequireRoot(b)
	nsA, nsB := testutil.NetNS(b, "bra"), testutil.NetNS(b, "brb")
	testutil.Veth(b, nsA, "10.91.0.1", nsB, "10.91.0.2")
	for _, size := range []struct {
		name string
		n    int
	}{{"1MiB", 1 << 20}, {"5MB", 5_000_000}} {
		b.Run("size="+size.name, func(b *testing.B) {
			payload := make([]byte, size.n)
			for i := range payload {
				payload[i] = byte(i)
			}
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			bridgeRate := benchBridgeNS(b, nsA, nsB, payload)
			plainRate := benchPlainTCPNS(b, nsA, nsB, bridge.HeaderSize+size.n)
			b.ReportMetric(plainRate/1e6, "tcp-MB/s")
			b.ReportMetric(bridgeRate/plainRate, "ratio")
		})
	}
}

// dialFrom dials addr from inside ns.
func dialFrom(ns *testutil.NS) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	}
}

func benchBridgeNS(b *testing.B, nsA, nsB *testutil.NS, payload []byte) float64 {
	log := slog.New(slog.DiscardHandler)
	sink := bridgetest.NewSink(len(payload), 0, nil)
	l, err := bridge.NewListener(bridge.ListenerConfig{Addr: "10.91.0.2:0", Token: token},
		func(string, int, int) (bridge.Sink, error) { return sink, nil }, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := nsB.Do(func() error { return l.Start(context.Background()) }); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	src := bridgetest.NewSource(func(uint32) ([]byte, []byte) { return payload, nil })
	s, err := bridge.NewSender(bridge.SenderConfig{Addr: l.Addr().String(), URN: urn, Token: token,
		MaxPayload: len(payload), Dial: dialFrom(nsA)}, src, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	for !s.Stats().Connected {
		if ctx.Err() != nil {
			b.Fatal("bridge never connected")
		}
		time.Sleep(time.Millisecond)
	}
	src.Allow(1) // warm up: the connection's first frame
	if err := sink.WaitFrames(ctx, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	src.Allow(b.N)
	if err := sink.WaitFrames(ctx, uint64(b.N)+1); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	return float64(b.N) * float64(len(payload)) / elapsed.Seconds()
}

func benchPlainTCPNS(b *testing.B, nsA, nsB *testutil.NS, frame int) float64 {
	var ln net.Listener
	if err := nsB.Do(func() (err error) { ln, err = net.Listen("tcp", "10.91.0.2:0"); return err }); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		buf := make([]byte, frame)
		for range b.N {
			if _, err := io.ReadFull(c, buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	c, err := dialFrom(nsA)(b.Context(), ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, frame)
	start := time.Now()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(fmt.Errorf("plain tcp: %w", err))
	}
	elapsed := time.Since(start)
	return float64(b.N) * float64(frame-bridge.HeaderSize) / elapsed.Seconds()
}
