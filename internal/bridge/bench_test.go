package bridge_test

import (
	"context"
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
	benchSizes(b, []int{64 << 10, 1 << 20, 5_000_000}, link{addr: "127.0.0.1:0",
		inB: func(fn func() error) error { return fn() }, dial: bridgetest.LocalDial})
}

// link is where a benchmark's two ends are: the listener's address, how
// to run code at its end (to bind there), and how the sender dials.
type link struct {
	addr string
	inB  func(fn func() error) error
	dial bridgetest.Dialer
}

func benchSizes(b *testing.B, sizes []int, l link) {
	for _, n := range sizes {
		name := map[int]string{64 << 10: "64KiB", 1 << 20: "1MiB", 5_000_000: "5MB"}[n]
		b.Run("size="+name, func(b *testing.B) {
			payload := make([]byte, n)
			for i := range payload {
				payload[i] = byte(i)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			bridgeRate := benchBridge(b, l, payload)
			plainRate := benchPlainTCP(b, l, bridge.HeaderSize+n)
			b.ReportMetric(plainRate/1e6, "tcp-MB/s")
			b.ReportMetric(bridgeRate/plainRate, "ratio")
		})
	}
}

// benchBridge moves b.N frames of payload and returns payload bytes/s.
func benchBridge(b *testing.B, lk link, payload []byte) float64 {
	log := slog.New(slog.DiscardHandler)
	sink := bridgetest.NewSink(len(payload), 0, nil)
	l, err := bridge.NewListener(bridge.ListenerConfig{Addr: lk.addr, Token: token},
		func(string, int, int) (bridge.Sink, error) { return sink, nil }, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := lk.inB(func() error { return l.Start(context.Background()) }); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	src := bridgetest.NewSource(func(uint32) ([]byte, []byte) { return payload, nil })
	s, err := bridge.NewSender(bridge.SenderConfig{Addr: l.Addr().String(), URN: urn, Token: token,
		MaxPayload: len(payload), Dial: lk.dial}, src, log)
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

// benchPlainTCP sends b.N frames of frame bytes over one plain TCP stream
// between the same ends and returns payload bytes/s on the bridge's scale
// (the header's bytes are carried, not counted).
func benchPlainTCP(b *testing.B, lk link, frame int) float64 {
	var ln net.Listener
	if err := lk.inB(func() (err error) { ln, err = net.Listen("tcp", lk.addr); return err }); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	elapsed, err := bridgetest.PlainTCP(b.Context(), ln, lk.dial, b.N, frame)
	if err != nil {
		b.Fatal(err)
	}
	return float64(b.N) * float64(frame-bridge.HeaderSize) / elapsed.Seconds()
}
