package pacing

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"mediamesh/internal/mediaclock"
)

// DefaultSpin is Waiter.Spin's default: how long before a deadline the
// Waiter stops sleeping and spins. It covers the sleep's wake-up error:
// about 30 µs at the median and 70–80 µs at p99 for a timerfd wake-up
// through the runtime poller on a loaded 2-core VM (BenchmarkWaiter).
const DefaultSpin = 50 * time.Microsecond

// maxSleep bounds one sleep, so that a cancellation that slips between the
// context check and arming the timer is seen within it.
const maxSleep = 100 * time.Millisecond

// Waiter sleeps until a TAI deadline with bounded error and little CPU: it
// sleeps for the bulk of a wait longer than Spin, then spins on the clock
// with runtime.Gosched for the rest, and counts how late it woke.
//
// The sleep is a timerfd on Linux, read through the runtime's netpoller, not
// time.Sleep: Go's timers wake an idle process through epoll_pwait, whose
// timeout is in milliseconds, so time.Sleep(10µs) measured ~1 ms here; the
// timerfd wakes in ~30 µs and still blocks no OS thread. Where there is no
// timerfd, the runtime timer is used.
//
// A Waiter serves one goroutine at a time (the sender loop that owns it);
// Lateness may be read from any goroutine. Close releases its timer.
type Waiter struct {
	Clock *mediaclock.Clock // time base of the deadlines; required
	Spin  time.Duration     // spin this long before a deadline; 0 = DefaultSpin; < 0 = never spin

	late [5]atomic.Uint64 // wake-ups by lateness: ≤1µs, ≤10µs, ≤50µs, ≤200µs, more

	sleeper   sleeper // timerfd, opened by the first sleep; nil until then
	noTimerfd bool    // the timerfd failed (or a test said so): use timer
	timer     *time.Timer

	// The context whose cancellation wakes the sleeper, and how to stop
	// watching it. A sender passes the same lifetime context to every call,
	// so this is set up once.
	watched   <-chan struct{}
	stopWatch func() bool
	closed    bool

	woken atomic.Bool                // Wake was called: the current or next Until returns ErrWoken
	box   atomic.Pointer[sleeperBox] // the sleeper, for Wake from other goroutines
}

// sleeperBox lets Wake reach the sleeper atomically.
type sleeperBox struct{ s sleeper }

// ErrWoken is Until's result when Wake ended it before the deadline.
var ErrWoken = errors.New("pacing: woken before the deadline")

// Wake makes the current Until return ErrWoken at once, or the next one if
// none is waiting: how a scheduler that sleeps toward its earliest job is
// told about an earlier one. Safe from any goroutine.
func (w *Waiter) Wake() {
	w.woken.Store(true)
	if b := w.box.Load(); b != nil {
		b.s.wake()
	}
}

// sleeper is a cancellable sleep: the platform's timer.
type sleeper interface {
	sleep(d time.Duration, woken *atomic.Bool) error // block for about d, or until wake; at once if woken is set once armed
	wake()                                           // end a sleep now; safe from any goroutine, also after close
	close() error
}

// Lateness counts a Waiter's wake-ups by how late after the deadline they
// came.
type Lateness struct {
	UpTo1us, UpTo10us, UpTo50us, UpTo200us, Over200us uint64
}

// Lateness returns the counts so far; safe to call from any goroutine.
func (w *Waiter) Lateness() Lateness {
	return Lateness{w.late[0].Load(), w.late[1].Load(), w.late[2].Load(), w.late[3].Load(), w.late[4].Load()}
}

// Until blocks until the Clock reads at least deadline (TAI ns) and returns
// how late it woke, in ns; a deadline already past returns at once. It
// returns ctx's error if ctx ends first. It does not allocate once the
// Waiter has slept for the first time with this ctx.
func (w *Waiter) Until(ctx context.Context, deadline int64) (lateNS int64, err error) {
	if w.Clock == nil {
		return 0, ErrNoClock
	}
	spin := int64(w.Spin)
	switch {
	case spin < 0:
		spin = 0 // never spin: sleep to the deadline, accept the wake-up error
	case spin == 0:
		spin = int64(DefaultSpin)
	}
	done := ctx.Done()
	for {
		select {
		case <-done:
			return 0, ctx.Err()
		default:
		}
		if w.woken.Swap(false) {
			return 0, ErrWoken
		}
		rem := deadline - w.Clock.Now()
		if rem <= 0 {
			w.record(-rem)
			return -rem, nil
		}
		if rem > spin {
			if err := w.sleep(ctx, time.Duration(min(rem-spin, int64(maxSleep)))); err != nil {
				return 0, err
			}
			continue
		}
		runtime.Gosched()
	}
}

func (w *Waiter) record(late int64) {
	switch {
	case late <= 1_000:
		w.late[0].Add(1)
	case late <= 10_000:
		w.late[1].Add(1)
	case late <= 50_000:
		w.late[2].Add(1)
	case late <= 200_000:
		w.late[3].Add(1)
	default:
		w.late[4].Add(1)
	}
}

// sleep blocks for about d or until ctx ends; Until re-reads the clock
// either way, so an early or spurious wake-up costs one loop.
func (w *Waiter) sleep(ctx context.Context, d time.Duration) error {
	if w.sleeper == nil && !w.noTimerfd && !w.closed {
		s, err := newSleeper()
		if err != nil {
			w.noTimerfd = true
		} else {
			w.sleeper = s
			w.box.Store(&sleeperBox{s: s})
		}
	}
	if w.sleeper == nil {
		return w.sleepTimer(ctx, d)
	}
	if done := ctx.Done(); done != nil && done != w.watched {
		w.unwatch()
		w.watched = done
		w.stopWatch = context.AfterFunc(ctx, w.sleeper.wake)
	}
	return w.sleeper.sleep(d, &w.woken)
}

// sleepTimer is the portable sleep on the runtime timer (ms-granular when
// the process is idle, see Waiter).
func (w *Waiter) sleepTimer(ctx context.Context, d time.Duration) error {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d) // Go ≥ 1.23: no stale tick survives Reset
	}
	select {
	case <-w.timer.C:
		return nil
	case <-ctx.Done():
		w.timer.Stop()
		return ctx.Err()
	}
}

func (w *Waiter) unwatch() {
	if w.stopWatch != nil {
		w.stopWatch()
		w.stopWatch, w.watched = nil, nil
	}
}

// Close releases the Waiter's timer; it is idempotent. Call it once the
// last Until has returned; a later Until uses the runtime timer.
func (w *Waiter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.unwatch()
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.sleeper == nil {
		return nil
	}
	w.box.Store(nil)
	err := w.sleeper.close()
	w.sleeper = nil
	return err
}
