package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"mediamesh/internal/proxy"
	"mediamesh/sdk"
)

// startProxy runs an in-process media-proxy on a fresh run directory.
func startProxy(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp("/tmp", "mm-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	p, err := proxy.New(proxy.Config{RunDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	return "unix:" + filepath.Join(dir, proxy.SDKSocketName)
}

func client(b *testing.B, addr string) *sdk.Client {
	b.Helper()
	c, err := sdk.NewClientJSON([]byte(fmt.Sprintf(`{"apiConnectionString":"Server=%s; Port="}`, addr)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

func blobJSON(group string, size, queue int) []byte {
	return []byte(fmt.Sprintf(`{"bufferQueueCapacity":%d,"maxPayloadSize":%d,
		"connection":{"multipointGroup":{"urn":%q}},"payload":{"blob":{}}}`, queue, size, group))
}

// reliableJSON is a blob group that waits for its receivers: a benchmark
// that counts every buffer must not race the slow-receiver drop rule.
func reliableJSON(group string, size, queue int) []byte {
	return []byte(fmt.Sprintf(`{"bufferQueueCapacity":%d,"maxPayloadSize":%d,"options":{"reliable":true},
		"connection":{"multipointGroup":{"urn":%q}},"payload":{"blob":{}}}`, queue, size, group))
}

const frame2160p = 3840 * 2160 * 4 // yuv422p10le

var sizes = []struct {
	name string
	n    int
}{
	{"64B", 64}, {"4KiB", 4096}, {"1MiB", 1 << 20}, {"1080p", 1920 * 1080 * 4},
}

// BenchmarkLatency measures one-way latency from the sender's PutBuffer to
// the receiver's GetBuffer through media-proxy, one buffer in flight, and
// the same transfer over a unix stream socket in the same run.
func BenchmarkLatency(b *testing.B) {
	for _, path := range []string{"native", "copy"} {
		for _, mode := range []string{"interrupt", "poll"} {
			for _, sz := range sizes {
				b.Run("path="+path+"/mode="+mode+"/size="+sz.name, func(b *testing.B) {
					benchLatency(b, sz.n, mode == "poll", path == "copy")
				})
			}
		}
	}
}

// rxOptions is the receiver's "options" object: busy-poll and copy mode.
func rxOptions(poll, copyMode bool) string {
	return fmt.Sprintf(`{"busyPoll":%v,"copy":%v}`, poll, copyMode)
}

func benchLatency(b *testing.B, size int, poll, copyMode bool) {
	{
		{
			addr := startProxy(b)
			c := client(b, addr)
			ctx := context.Background()
			group := "urn:bench:lat"
			rxCfg := []byte(fmt.Sprintf(`{"bufferQueueCapacity":4,"maxPayloadSize":%d,"options":%s,
				"connection":{"multipointGroup":{"urn":%q}},"payload":{"blob":{}}}`, size, rxOptions(poll, copyMode), group))
			rx, err := c.CreateRxConnectionJSON(ctx, rxCfg)
			if err != nil {
				b.Fatal(err)
			}
			defer rx.Close()
			tx, err := c.CreateTxConnectionJSON(ctx, blobJSON(group, size, 4))
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			lat := make([]float64, 0, 1<<16)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf, err := tx.GetBufferTimeout(time.Second)
				if err != nil {
					b.Fatal(err)
				}
				buf.PayloadCap()[0] = 1 // the sender writes, nothing more: no copy on our side
				t0 := time.Now()
				buf.SetTimestamp(t0)
				if err := tx.PutBuffer(buf); err != nil {
					b.Fatal(err)
				}
				got, err := rx.GetBufferTimeout(time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if len(lat) < cap(lat) {
					lat = append(lat, float64(time.Since(got.Timestamp()).Nanoseconds())/1e3)
				}
				_ = rx.PutBuffer(got)
			}
			p50, p99 := pct(lat, 50), pct(lat, 99)
			b.ReportMetric(p50, "p50-µs")
			b.ReportMetric(p99, "p99-µs")
			u50, u99 := unixLatency(b, size, min(len(lat), 2000))
			b.ReportMetric(u50, "unix-p50-µs")
			b.ReportMetric(u99, "unix-p99-µs")
			if p50 > 0 {
				b.ReportMetric(u50/p50, "speedup-vs-unix")
			}
		}
	}
}

// unixLatency sends n-byte messages over a unix stream socket pair, one in
// flight, and returns p50/p99 one-way latency in µs: the baseline an app
// would get by pushing buffers through a socket instead of shared memory.
func unixLatency(b *testing.B, n, count int) (float64, float64) {
	b.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	fa, fb := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	ca, err := net.FileConn(fa)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := net.FileConn(fb)
	if err != nil {
		b.Fatal(err)
	}
	_ = fa.Close()
	_ = fb.Close()
	defer ca.Close()
	defer cb.Close()
	msg := make([]byte, n)
	in := make([]byte, n)
	lat := make([]float64, 0, count)
	done := make(chan error, 1)
	stamps := make(chan time.Time, 1)
	go func() {
		for range count {
			if _, err := io.ReadFull(cb, in); err != nil {
				done <- err
				return
			}
			lat = append(lat, float64(time.Since(<-stamps).Nanoseconds())/1e3)
			done <- nil
		}
	}()
	for range count {
		stamps <- time.Now()
		if _, err := ca.Write(msg); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	return pct(lat, 50), pct(lat, 99)
}

func pct(v []float64, p int) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

// BenchmarkThroughput measures buffers/s of 64-byte blobs through the
// proxy on one connection pair, sender and receiver running freely.
func BenchmarkThroughput(b *testing.B) {
	addr := startProxy(b)
	c := client(b, addr)
	ctx := context.Background()
	rx, err := c.CreateRxConnectionJSON(ctx, reliableJSON("urn:bench:tput", 64, 128))
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	tx, err := c.CreateTxConnectionJSON(ctx, reliableJSON("urn:bench:tput", 64, 128))
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	n := b.N
	errc := make(chan error, 1)
	go func() {
		for range n {
			buf, err := rx.GetBufferTimeout(5 * time.Second)
			if err != nil {
				errc <- err
				return
			}
			_ = rx.PutBuffer(buf)
		}
		errc <- nil
	}()
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range n {
		buf, err := tx.GetBufferTimeout(5 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.PutBuffer(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "buffers/s")
}

// BenchmarkFanOut2160p measures the CPU the whole process (proxy, sender,
// 8 receivers) spends per 2160p yuv422p10le frame delivered to 8 receivers.
func BenchmarkFanOut2160p(b *testing.B) {
	for _, path := range []string{"native", "copy"} {
		b.Run("path="+path, func(b *testing.B) { benchFanOut(b, path == "copy") })
	}
}

func benchFanOut(b *testing.B, copyMode bool) {
	const receivers = 8
	addr := startProxy(b)
	c := client(b, addr)
	ctx := context.Background()
	var rxs []*sdk.Connection
	for range receivers {
		rx, err := c.CreateRxConnectionJSON(ctx, []byte(fmt.Sprintf(`{"bufferQueueCapacity":4,"maxPayloadSize":%d,
			"options":{"reliable":true,"copy":%v},"connection":{"multipointGroup":{"urn":"urn:bench:fan"}},"payload":{"blob":{}}}`,
			frame2160p, copyMode)))
		if err != nil {
			b.Fatal(err)
		}
		defer rx.Close()
		rxs = append(rxs, rx)
	}
	tx, err := c.CreateTxConnectionJSON(ctx, reliableJSON("urn:bench:fan", frame2160p, 4))
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	n := b.N
	errc := make(chan error, receivers)
	for _, rx := range rxs {
		go func() {
			for range n {
				buf, err := rx.GetBufferTimeout(10 * time.Second)
				if err != nil {
					errc <- err
					return
				}
				_ = rx.PutBuffer(buf)
			}
			errc <- nil
		}()
	}
	b.SetBytes(frame2160p)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range n {
		// Real time, 60 fps: the cost of a live stream, not of a saturated loop.
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / 60)))
		buf, err := tx.GetBufferTimeout(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.PutBuffer(buf); err != nil {
			b.Fatal(err)
		}
	}
	for range receivers {
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	perFrame := (cpuTime() - cpu0).Seconds() / float64(n)
	b.ReportMetric(perFrame*1e3, "cpu-ms/frame")
	b.ReportMetric(perFrame*60*100, "%core@60fps")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
