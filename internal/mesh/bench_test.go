package mesh

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"mediamesh/internal/bridge/bridgetest"
	"mediamesh/internal/testutil"
)

// BenchmarkJoinToFirstBuffer: a sender streams on proxy A; each
// iteration a receiver joins the group on proxy B and waits for its first
// buffer, which needs the whole control loop (B reports the connection,
// the agent replans and pushes both configs, A and B open the bridge)
// and the first frame across it. On loopback, with the agent's store
// fsyncing every event as in production. Reports the median and p90
// join time (target ≤ 10 ms); between iterations the receiver leaves and
// the bridge is torn down.
func BenchmarkJoinToFirstBuffer(b *testing.B) {
	addr := testutil.FreeTCPAddr(b)
	startAgent(b, addr, b.TempDir())
	a, nb := startNode(b, addr), startNode(b, addr)
	cfg := fmt.Appendf(nil, `{"bufferQueueCapacity": 16, "maxPayloadSize": 4096,
		"connection": {"multipointGroup": {"urn": "urn:bench:join"}}, "payload": {"blob": {}}}`)
	tx := a.connect(b, true, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // a 5 kHz stream: a first buffer is at most 200 µs away
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for ctx.Err() == nil {
			if buf, err := tx.GetBuffer(ctx); err == nil {
				_ = buf.SetPayloadLen(1024)
				_ = tx.PutBuffer(buf)
			}
			<-t.C
		}
	}()
	var joins []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rx, err := nb.sdk.CreateRxConnectionJSON(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		buf, err := rx.GetBufferTimeout(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		joins = append(joins, time.Since(start))
		_ = rx.PutBuffer(buf)
		b.StopTimer()
		_ = rx.Close()
		waitNoBridges(b, a, nb)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(joins)
	b.ReportMetric(float64(joins[len(joins)/2].Microseconds()), "join-µs/median")
	b.ReportMetric(float64(joins[len(joins)*9/10].Microseconds()), "join-µs/p90")
	b.ReportMetric(float64(joins[len(joins)/2].Microseconds())/10e3, "median/target")
}

func waitNoBridges(b *testing.B, nodes ...*node) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, nd := range nodes {
			n += len(nd.m.BridgeStats())
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("bridges not torn down")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkAcrossProxies is the whole path of a group spanning two
// proxies on loopback: app sender → proxy A's group → egress bridge
// (zero-copy from the sender's memory) → TCP → ingress bridge → proxy
// B's group → app receiver, reliable, 5 MB frames (a 1080p 4:2:2 10-bit
// frame), against a plain single TCP stream on loopback carrying the
// same bytes right after it (tcp-MB/s); ratio = mesh / plain.
func BenchmarkAcrossProxies(b *testing.B) {
	const size = 5_000_000
	addr := testutil.FreeTCPAddr(b)
	startAgent(b, addr, b.TempDir())
	// Metrics at the production rate: the control plane's allocations
	// are not the data path's.
	prod := func(c *Config) { c.MetricsInterval = DefaultMetricsInterval }
	a, nb := startNode(b, addr, prod), startNode(b, addr, prod)
	cfg := fmt.Appendf(nil, `{"bufferQueueCapacity": 8, "maxPayloadSize": %d, "options": {"reliable": true},
		"connection": {"multipointGroup": {"urn": "urn:bench:across"}}, "payload": {"blob": {}}}`, size)
	rx := nb.connect(b, false, cfg)
	tx := a.connect(b, true, cfg) // its activation waits for the bridge
	b.SetBytes(size)
	b.ReportAllocs()
	done := make(chan error, 1)
	n := b.N
	b.ResetTimer()
	start := time.Now()
	go func() {
		for range n {
			buf, err := rx.GetBufferTimeout(10 * time.Second)
			if err != nil {
				done <- err
				return
			}
			_ = rx.PutBuffer(buf)
		}
		done <- nil
	}()
	for range n {
		buf, err := tx.GetBufferTimeout(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		_ = buf.SetPayloadLen(size)
		if err := tx.PutBuffer(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	rate := float64(n) * size / time.Since(start).Seconds()
	b.StopTimer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	took, err := bridgetest.PlainTCP(b.Context(), ln, bridgetest.LocalDial, n, size)
	if err != nil {
		b.Fatal(err)
	}
	plain := float64(n) * size / took.Seconds()
	b.ReportMetric(plain/1e6, "tcp-MB/s")
	b.ReportMetric(rate/plain, "ratio")
}
