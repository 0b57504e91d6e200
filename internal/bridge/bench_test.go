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
)

// BenchmarkBridge is the bridge's throughput over loopback TCP, Source to
// Sink, against a plain TCP stream carrying the same bytes (header and
// payload per frame) measured right after it in the same run: MB/s is the
// bridge's, tcp-MB/s the plain stream's, ratio bridge / plain (target
// ≥ 0.8), and allocs/op is per frame, both ends together.
//
// The work is asynchronous (the sender's and the listener's goroutines move
// the frames), so the loop is b.N frames released to the source and waited
// for at the sink rather than b.Loop.
func BenchmarkBridge(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"64KiB", 64 << 10}, {"1MiB", 1 << 20}, {"5MB", 5_000_000}} {
		b.Run("size="+size.name, func(b *testing.B) {
			payload := make([]byte, size.n)
			for i := range payload {
				payload[i] = byte(i)
			}
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			bridgeRate := benchBridge(b, payload)
			plainRate := benchPlainTCP(b, bridge.HeaderSize+size.n)
			b.ReportMetric(plainRate/1e6, "tcp-MB/s")
			b.ReportMetric(bridgeRate/plainRate, "ratio")
		})
	}
}

// benchBridge moves b.N frames of payload and returns payload bytes/s.
func benchBridge(b *testing.B, payload []byte) float64 {
	log := slog.New(slog.DiscardHandler)
	sink := bridgetest.NewSink(len(payload), 0, nil)
	l, err := bridge.NewListener(bridge.ListenerConfig{Addr: "127.0.0.1:0", Token: token},
		func(string, int, int) (bridge.Sink, error) { return sink, nil }, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	src := bridgetest.NewSource(func(uint32) ([]byte, []byte) { return payload, nil })
	s, err := bridge.NewSender(bridge.SenderConfig{Addr: l.Addr().String(), URN: urn, Token: token,
		MaxPayload: len(payload)}, src, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for !s.Stats().Connected {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
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

// benchPlainTCP sends b.N writes of frame bytes over one loopback TCP
// stream, read with io.ReadFull into one buffer, and returns payload
// bytes/s on the bridge's scale (the header's bytes are carried, not
// counted).
func benchPlainTCP(b *testing.B, frame int) float64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
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
	c, err := net.Dial("tcp", ln.Addr().String())
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
