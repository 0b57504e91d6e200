package st2110

import (
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mediamesh/internal/netio"
	"mediamesh/internal/pixfmt"
)

// drain receives and discards everything sent to a loopback socket, on a
// locked OS thread so its CPU can be read with RUSAGE_THREAD and told
// apart from the sender's: on loopback the kernel's receive work is done
// in the sender's system call.
type drain struct {
	conn *netio.Conn
	cpu  chan time.Duration
	pkts uint64
}

func newDrain(tb testing.TB) *drain {
	tb.Helper()
	c, err := netio.Listen(netio.Config{Local: netip.AddrPortFrom(loopback, 0), GRO: true, RecvBuffer: 64 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	d := &drain{conn: c, cpu: make(chan time.Duration, 1)}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := threadCPU()
		rb := netio.NewRecvBatch(64, 64<<10)
		for {
			msgs, err := c.Recv(rb)
			if err != nil {
				d.cpu <- threadCPU() - start
				return
			}
			for i := range msgs {
				d.pkts += uint64(msgs[i].NumSegments())
			}
		}
	}()
	return d
}

// stop closes the socket and returns the drain thread's CPU time.
func (d *drain) stop() time.Duration {
	_ = d.conn.Close()
	return <-d.cpu
}

func threadCPU() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func processCPU() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSend1080p sends unpaced 1080p59.94 frames to a loopback
// receiver and reports the sending side's CPU per frame (process CPU
// minus the receiving thread's) and what that makes streams per core.
func BenchmarkSend1080p(b *testing.B) {
	burst := 16
	if v := os.Getenv("BURST"); v != "" {
		burst, _ = strconv.Atoi(v)
	}
	for _, tc := range []struct {
		name string
		f    pixfmt.Format
		mode netio.Mode
	}{
		{"format=yuv422p10rfc4175/gso", pixfmt.PGroup10, netio.SendGSO},
		{"format=yuv422p10rfc4175/mmsg", pixfmt.PGroup10, netio.SendMmsg},
		{"format=yuv422p10rfc4175/each", pixfmt.PGroup10, netio.SendEach},
		{"format=yuv422p10le/gso", pixfmt.YUV422P10LE, netio.SendGSO},
		{"format=v210/gso", pixfmt.V210, netio.SendGSO},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := videoConfig(b, tc.f, 1920, 1080, true)
			cfg.Mode = tc.mode
			cfg.Video.Burst = burst
			d := newDrain(b)
			cfg.Net = netio.Config{Remote: d.conn.LocalAddr(), Local: netip.AddrPortFrom(loopback, 0)}
			tx, err := NewSender(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			src := newFakeSource()
			if err := tx.Start(b.Context(), src); err != nil {
				b.Fatal(err)
			}
			buf := slot(b, cfg.Layout, videoFrame(b, tc.f, 1920, 1080, 1), 0)
			b.SetBytes(int64(cfg.Layout.Payload.Size))
			b.ReportAllocs()
			cpu0 := processCPU()
			start := time.Now()
			n := 0
			for b.Loop() {
				src.put(buf)
				n++
				src.waitDone(n - 2) // keep two frames queued
			}
			src.waitDone(n)
			el := time.Since(start)
			_ = tx.Close()
			cpu := processCPU() - cpu0
			rxCPU := d.stop()
			txCPU := cpu - rxCPU
			perFrame := txCPU / time.Duration(n)
			b.ReportMetric(float64(perFrame.Microseconds()), "tx-cpu-µs/frame")
			b.ReportMetric(float64(rxCPU.Microseconds())/float64(n), "rx-cpu-µs/frame")
			b.ReportMetric((1e9/59.94)/float64(perFrame.Nanoseconds()), "streams/core")
			b.ReportMetric(float64(tx.Stats().Packets.Load())/el.Seconds(), "pkts/s")
		})
	}
}
