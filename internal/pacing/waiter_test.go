package pacing

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"mediamesh/internal/mediaclock"
)

// sleepers are the two ways a Waiter sleeps: the timerfd and the portable
// runtime timer it falls back to.
var sleepers = []struct {
	name      string
	noTimerfd bool
}{{"timerfd", false}, {"runtime-timer", true}}

func TestUntilNotEarly(t *testing.T) {
	t.Parallel()
	clock := mediaclock.System()
	for _, s := range sleepers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			w := &Waiter{Clock: clock, noTimerfd: s.noTimerfd}
			defer w.Close()
			waits := []time.Duration{-time.Millisecond, 0, time.Microsecond, 20 * time.Microsecond,
				60 * time.Microsecond, 200 * time.Microsecond, 2 * time.Millisecond, 10 * time.Millisecond}
			for _, d := range waits {
				deadline := clock.Now() + int64(d)
				late, err := w.Until(t.Context(), deadline)
				now := clock.Now()
				if err != nil {
					t.Fatalf("wait %v: %v", d, err)
				}
				if now < deadline || late < 0 {
					t.Errorf("wait %v: returned %d ns before the deadline (late %d)", d, deadline-now, late)
				}
			}
			l := w.Lateness()
			if total := l.UpTo1us + l.UpTo10us + l.UpTo50us + l.UpTo200us + l.Over200us; total != uint64(len(waits)) {
				t.Errorf("lateness counts %+v, want %d wake-ups", l, len(waits))
			}
		})
	}
}

func TestUntilCancel(t *testing.T) {
	t.Parallel()
	clock := mediaclock.System()
	for _, s := range sleepers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			w := &Waiter{Clock: clock, noTimerfd: s.noTimerfd}
			defer w.Close()
			far := clock.Now() + int64(time.Hour)

			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, err := w.Until(ctx, far); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled ctx: %v", err)
			}
			// Cancelled while asleep, twice over with the same Waiter.
			for range 2 {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
				_, err := w.Until(ctx, far)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("timed-out ctx: %v", err)
				}
			}
			// And a cancelled ctx does not spoil the next wait.
			if _, err := w.Until(t.Context(), clock.Now()+int64(100*time.Microsecond)); err != nil {
				t.Errorf("wait after cancel: %v", err)
			}
			if l := w.Lateness(); l.UpTo1us+l.UpTo10us+l.UpTo50us+l.UpTo200us+l.Over200us != 1 {
				t.Errorf("cancelled waits were counted: %+v", l)
			}
		})
	}
}

func TestUntilFixedClock(t *testing.T) {
	t.Parallel()
	var now int64
	clock := mediaclock.NewFixed(func() int64 { now += 1000; return now })
	w := &Waiter{Clock: clock, Spin: time.Millisecond}
	defer w.Close()
	// The fake clock moves 1 µs a read: all spin, exact wake-up.
	late, err := w.Until(context.Background(), 500_000)
	if err != nil || late != 0 || now != 500_000 {
		t.Errorf("Until = %d, %v at %d", late, err, now)
	}
	if got := w.Lateness().UpTo1us; got != 1 {
		t.Errorf("UpTo1us = %d", got)
	}
}

func TestUntilNoClock(t *testing.T) {
	t.Parallel()
	var w Waiter
	if _, err := w.Until(context.Background(), 0); !errors.Is(err, ErrNoClock) {
		t.Errorf("Until without a clock: %v", err)
	}
}

func TestWaiterClose(t *testing.T) {
	t.Parallel()
	clock := mediaclock.System()
	w := &Waiter{Clock: clock}
	if err := w.Close(); err != nil { // before any wait
		t.Fatal(err)
	}
	w = &Waiter{Clock: clock}
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := w.Until(ctx, clock.Now()+int64(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	cancel() // the context watch is gone: wake on a closed sleeper is a no-op
	if _, err := w.Until(t.Context(), clock.Now()+int64(time.Millisecond)); err != nil {
		t.Errorf("Until after Close: %v", err)
	}
}

func TestUntilAllocs(t *testing.T) {
	clock := mediaclock.System()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range sleepers {
		for _, c := range []context.Context{context.Background(), ctx} {
			w := &Waiter{Clock: clock, Spin: 20 * time.Microsecond, noTimerfd: s.noTimerfd}
			wait := func() {
				if _, err := w.Until(c, clock.Now()+int64(100*time.Microsecond)); err != nil {
					t.Fatal(err)
				}
			}
			wait() // opens the timer and watches the ctx
			if n := testing.AllocsPerRun(20, wait); n != 0 {
				t.Errorf("%s: Until allocates %v times per wait", s.name, n)
			}
			w.Close()
		}
	}
}

// BenchmarkWaiter measures how late 60 µs waits (a 16-packet burst at
// 1080p59.94 is due every 62 µs) and 1 ms waits wake, and the CPU each
// costs, for both sleeps. The numbers depend on the machine's load; they
// are for comparing, never asserted.
func BenchmarkWaiter(b *testing.B) {
	clock := mediaclock.System()
	for _, wait := range []time.Duration{60 * time.Microsecond, time.Millisecond} {
		for _, s := range sleepers {
			b.Run("wait="+wait.String()+"/sleep="+s.name, func(b *testing.B) {
				w := &Waiter{Clock: clock, noTimerfd: s.noTimerfd}
				defer w.Close()
				ctx := b.Context()
				var hist [20_001]uint32 // lateness in 100 ns bins, up to 2 ms
				var ru0, ru1 syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				b.ReportAllocs()
				for b.Loop() {
					late, err := w.Until(ctx, clock.Now()+int64(wait))
					if err != nil {
						b.Fatal(err)
					}
					hist[min(late/100, int64(len(hist)-1))]++
				}
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
				cpu := float64(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / float64(b.N)
				b.ReportMetric(histPercentile(hist[:], b.N, 50)/1e3, "p50-late-µs")
				b.ReportMetric(histPercentile(hist[:], b.N, 99)/1e3, "p99-late-µs")
				b.ReportMetric(cpu/1e3, "cpu-µs/wait")
				b.ReportMetric(100*cpu/float64(wait), "cpu-%")
			})
		}
	}
}

// histPercentile reads the p-th percentile, in ns, off 100 ns bins.
func histPercentile(hist []uint32, n, p int) float64 {
	rank := uint64((n*p + 99) / 100)
	var seen uint64
	for i, c := range hist {
		seen += uint64(c)
		if seen >= rank {
			return float64(i) * 100
		}
	}
	return float64(len(hist)) * 100
}
