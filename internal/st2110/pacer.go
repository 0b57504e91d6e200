package st2110

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"mediamesh/internal/mediaclock"
	"mediamesh/internal/pacing"
	"mediamesh/internal/run"
)

// Pacer sends the paced bursts of many Senders from a few goroutines.
//
// Why: a wide sender's bursts are ~62 µs apart at 1080p59.94, 16 000
// wake-ups a second per stream, and a wake-up through the kernel and the
// Go scheduler costs 16–40 µs of CPU on a VM (measured), so a goroutine
// sleeping per stream spends half a core on sleeping alone. ST 2110
// streams of one frame rate share their schedule — every frame starts on
// the PTP epoch's alignment points (ST 2059-1) — so one wake-up serves
// every stream whose burst is due: the Pacer's workers run the bursts of
// all their streams when they come due, and a Sender's own goroutine only
// hands over one frame at a time and waits for it to be sent.
//
// Each worker owns its jobs; a Sender is tied to one worker (round robin)
// for its life. Close after every Sender using it has closed.
type Pacer struct {
	clock   *mediaclock.Clock
	workers []*pacerWorker
	next    atomic.Uint32
	grp     *run.Group
	once    sync.Once
}

// burster is one paced frame: step sends the burst due (now is the time)
// and says when the next one is due.
type burster interface {
	step(now int64) (next int64, done bool)
}

// pacedJob is a frame handed to a worker.
type pacedJob struct {
	b     burster
	due   int64
	done  chan struct{} // capacity 1: signalled once the frame is sent or abandoned
	stop  atomic.Bool   // the Sender is closing: send nothing more
	stats *Stats        // pacing steps and lateness are counted here
}

type pacerWorker struct {
	clock  *mediaclock.Clock
	waiter pacing.Waiter

	mu      sync.Mutex
	pending []*pacedJob // submitted, not yet seen by the loop
	idle    chan struct{}

	jobs []*pacedJob // owned by the loop
}

// NewPacer starts a Pacer with one worker per usable CPU (workers ≤ 0)
// or the given number.
func NewPacer(clock *mediaclock.Clock, workers int) *Pacer {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Pacer{clock: clock, grp: run.NewGroup(context.Background())}
	for range workers {
		w := &pacerWorker{clock: clock, idle: make(chan struct{}, 1)}
		// Sleep to each deadline, no spinning: the point is to wake rarely.
		w.waiter = pacing.Waiter{Clock: clock, Spin: -1}
		p.workers = append(p.workers, w)
		p.grp.Go("st2110-pacer", w.loop)
	}
	return p
}

// Close stops the workers; jobs still queued are abandoned (signalled
// done). Idempotent.
func (p *Pacer) Close() error {
	p.once.Do(func() {
		p.grp.Cancel(nil)
		for _, w := range p.workers {
			w.waiter.Wake()
			select {
			case w.idle <- struct{}{}:
			default:
			}
		}
		_ = p.grp.Wait()
		for _, w := range p.workers {
			_ = w.waiter.Close()
			w.mu.Lock()
			for _, j := range append(w.jobs, w.pending...) {
				signal(j.done)
			}
			w.jobs, w.pending = nil, nil
			w.mu.Unlock()
		}
	})
	return nil
}

// worker picks the worker a new Sender is tied to.
func (p *Pacer) worker() *pacerWorker {
	return p.workers[int(p.next.Add(1))%len(p.workers)]
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run submits j, whose first burst is due at j.due, and waits until the
// frame is sent. If ctx ends first it asks the worker to stop the job and
// still waits: the worker reads the app's buffer until it lets go.
func (w *pacerWorker) run(ctx context.Context, j *pacedJob) error {
	w.mu.Lock()
	w.pending = append(w.pending, j)
	w.mu.Unlock()
	signal(w.idle)
	w.waiter.Wake() // the loop may be asleep toward a later deadline
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		j.stop.Store(true)
		w.waiter.Wake()
		<-j.done
		return ctx.Err()
	}
}

func (w *pacerWorker) loop(ctx context.Context) error {
	for ctx.Err() == nil {
		w.mu.Lock()
		w.jobs = append(w.jobs, w.pending...)
		clear(w.pending)
		w.pending = w.pending[:0]
		w.mu.Unlock()
		live := w.jobs[:0]
		for _, j := range w.jobs { // a closing Sender's job ends now, not at its next burst
			if j.stop.Load() {
				signal(j.done)
			} else {
				live = append(live, j)
			}
		}
		clear(w.jobs[len(live):])
		w.jobs = live
		if len(w.jobs) == 0 {
			select {
			case <-w.idle:
			case <-ctx.Done():
			}
			continue
		}
		due := w.jobs[0].due
		for _, j := range w.jobs[1:] {
			due = min(due, j.due)
		}
		if _, err := w.waiter.Until(ctx, due); errors.Is(err, pacing.ErrWoken) {
			continue // a new job may be due earlier
		}
		now := w.clock.Now()
		keep := w.jobs[:0]
		for _, j := range w.jobs {
			if j.stop.Load() {
				signal(j.done)
				continue
			}
			if j.due > now {
				keep = append(keep, j)
				continue
			}
			j.stats.PacingSteps.Add(1)
			if now-j.due > lateSlack {
				j.stats.PacingLate.Add(1)
			}
			next, done := j.b.step(now)
			if done {
				signal(j.done)
				continue
			}
			j.due = next
			keep = append(keep, j)
		}
		clear(w.jobs[len(keep):])
		w.jobs = keep
	}
	return nil
}

// Poller drains many Receivers' sockets from a few goroutines on a fixed
// tick, the receive side of the Pacer's argument: a paced stream arrives
// as a burst every ~62 µs, and a receiver woken per burst pays a wake-up
// (16–40 µs of CPU here) per burst; one tick every Interval serves every
// receiver of the worker with one wake-up, for at most Interval of added
// latency. The socket buffers hold the packets meanwhile (a 1080p stream
// brings ~130 packets in 500 µs).
type Poller struct {
	interval time.Duration
	workers  []*pollWorker
	next     atomic.Uint32
	grp      *run.Group
	once     sync.Once
}

// DefaultPollInterval is media-proxy's receive tick.
const DefaultPollInterval = 500 * time.Microsecond

type pollWorker struct {
	clock    *mediaclock.Clock
	interval int64
	waiter   pacing.Waiter
	wake     chan struct{} // capacity 1: a receiver was added to an idle worker

	mu sync.Mutex // held while a tick drains the receivers: removal waits for it
	rs []*Receiver
}

// NewPoller starts a Poller with one worker per usable CPU (workers ≤ 0)
// or the given number, ticking every interval (≤ 0: DefaultPollInterval).
func NewPoller(clock *mediaclock.Clock, interval time.Duration, workers int) *Poller {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	p := &Poller{interval: interval, grp: run.NewGroup(context.Background())}
	for range workers {
		w := &pollWorker{clock: clock, interval: int64(interval), wake: make(chan struct{}, 1)}
		w.waiter = pacing.Waiter{Clock: clock, Spin: -1}
		p.workers = append(p.workers, w)
		p.grp.Go("st2110-poller", w.loop)
	}
	return p
}

// Close stops the workers. Idempotent; call it after every Receiver using
// it has closed.
func (p *Poller) Close() error {
	p.once.Do(func() {
		p.grp.Cancel(nil)
		for _, w := range p.workers {
			w.waiter.Wake()
			signal(w.wake)
		}
		_ = p.grp.Wait()
		for _, w := range p.workers {
			_ = w.waiter.Close()
		}
	})
	return nil
}

func (p *Poller) add(r *Receiver) *pollWorker {
	w := p.workers[int(p.next.Add(1))%len(p.workers)]
	w.mu.Lock()
	w.rs = append(w.rs, r)
	w.mu.Unlock()
	signal(w.wake)
	return w
}

// remove detaches r; once it returns the worker no longer touches r.
func (w *pollWorker) remove(r *Receiver) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.rs {
		if x == r {
			w.rs = append(w.rs[:i], w.rs[i+1:]...)
			return
		}
	}
}

func (w *pollWorker) loop(ctx context.Context) error {
	next := w.clock.Now()
	for ctx.Err() == nil {
		w.mu.Lock()
		idle := len(w.rs) == 0
		w.mu.Unlock()
		if idle {
			select {
			case <-w.wake:
			case <-ctx.Done():
			}
			next = w.clock.Now()
			continue
		}
		if _, err := w.waiter.Until(ctx, next); err != nil && !errors.Is(err, pacing.ErrWoken) {
			return nil
		}
		now := w.clock.Now()
		w.mu.Lock()
		for _, r := range w.rs {
			r.poll(now)
		}
		w.mu.Unlock()
		// Keep the tick's phase; after a stall, restart from now rather
		// than running the missed ticks back to back.
		if next += w.interval; next < now {
			next = now + w.interval
		}
	}
	return nil
}
