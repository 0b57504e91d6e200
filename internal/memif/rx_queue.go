package memif

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// RxQueue is this side's consumer ring: M2S on a slave, S2M on a master.
// Not safe for concurrent use, except Wake.
//
// Cursors (free-running u16, §7.1): freed ≤ taken ≤ produced, where
// produced is the peer's index (head on S2M, tail on M2S) and freed what
// this side gave back (tail on S2M; on M2S the slave's head − N).
type RxQueue struct {
	queue
	poll  bool
	taken uint16 // next descriptor to take (master last_head, slave last_tail)
	freed uint16 // oldest taken, not yet released
	head  uint16 // slave: our offer index (freed + N once linked)

	woken  atomic.Bool // Wake was called: the current or next Wait returns
	pokeFn func()      // poke bound once, for context.AfterFunc

	// The context registration Wait reuses while callers pass the same
	// ctx, so a Wait costs no allocation (STYLE §8).
	watchMu   sync.Mutex
	watchCtx  context.Context //nolint:containedctx // cache key only; never used for cancellation here
	watchStop func() bool
}

// produced acquire-loads the peer's publish index.
func (q *RxQueue) produced() uint16 {
	if q.c.role == RoleMaster {
		return q.r.head()
	}
	return q.r.tail()
}

// Available is the number of received descriptors not yet taken. A peer
// that publishes more than the ring holds (n > N, §7.2) ends the link.
func (q *RxQueue) Available() int {
	if q.c.down.Load() {
		return 0
	}
	p := q.produced()
	if p-q.freed > q.r.size {
		_ = q.c.violation("%s ring %d: producer index %d is %d ahead of %d, ring holds %d",
			q.dir, q.index, p, p-q.freed, q.freed, q.r.size)
		return 0
	}
	return int(p - q.taken)
}

// Held is the number of taken but unreleased buffers.
func (q *RxQueue) Held() int { return int(q.taken - q.freed) }

// NextDesc takes the next descriptor, validated: on a master it must lie
// inside a known region; on a slave its length must fit the slot's buffer,
// and region and offset come from this side's record. An invalid
// descriptor ends the link with a reason.
func (q *RxQueue) NextDesc() (Desc, error) {
	if q.c.down.Load() {
		return Desc{}, q.c.linkErr()
	}
	if q.Available() == 0 {
		if q.c.down.Load() {
			return Desc{}, q.c.linkErr()
		}
		return Desc{}, ErrRingEmpty
	}
	slot := q.taken
	d := q.r.getDesc(slot)
	d.Flags &= DescFlagNext
	if q.c.role == RoleSlave {
		if d.Length > q.bufSize {
			return Desc{}, q.c.violation("%s ring %d slot %d: length %d exceeds the %d-byte buffer",
				q.dir, q.index, slot&q.r.mask, d.Length, q.bufSize)
		}
		own := q.slotDesc(slot)
		if q.c.cfg.AcceptImports && d.Region != own.Region {
			// Zero-copy: the master points at a region it imported to us.
			if _, ok := q.c.bufAt(d.Region, d.Offset, d.Length); !ok {
				return Desc{}, q.c.violation("%s ring %d slot %d: region %d offset %d length %d outside the regions",
					q.dir, q.index, slot&q.r.mask, d.Region, d.Offset, d.Length)
			}
		} else {
			d.Region, d.Offset = own.Region, own.Offset
		}
	} else if _, ok := q.c.bufAt(d.Region, d.Offset, d.Length); !ok {
		return Desc{}, q.c.violation("%s ring %d slot %d: region %d offset %d length %d outside the regions",
			q.dir, q.index, slot&q.r.mask, d.Region, d.Offset, d.Length)
	}
	q.taken++
	return d, nil
}

// Next takes the next descriptor and returns its data, which aliases
// shared memory and stays valid until released, and whether the packet
// continues in the next descriptor (NEXT).
func (q *RxQueue) Next() ([]byte, bool, error) {
	d, err := q.NextDesc()
	if err != nil {
		return nil, false, err
	}
	var b []byte
	if q.c.role == RoleSlave && d.Region == q.slotDesc(q.taken-1).Region {
		b = q.slotBuf(q.taken - 1)[:d.Length]
	} else {
		b, _ = q.c.bufAt(d.Region, d.Offset, d.Length) // checked by NextDesc on this copy
	}
	return b, d.Flags&DescFlagNext != 0, nil
}

// Release hands the n oldest taken buffers back to the peer, in order.
// A master release-stores tail (never past what it took, as libmemif); a
// slave re-offers those slots with full capacity and advances head
// ("refill", §7.3). Not signalled: the peer re-reads the index.
func (q *RxQueue) Release(n int) {
	n = min(n, q.Held())
	if n <= 0 || q.c.down.Load() {
		return
	}
	q.freed += uint16(n)
	if q.c.role == RoleMaster {
		q.r.setTail(q.freed)
		return
	}
	for range n {
		q.r.putDesc(q.head, q.slotDesc(q.head))
		q.head++
	}
	q.r.setHead(q.head)
}

// offerAll offers every M2S slot at link-up, as libmemif does (head = N).
func (q *RxQueue) offerAll() {
	for range q.r.size {
		q.r.putDesc(q.head, q.slotDesc(q.head))
		q.head++
	}
	q.r.setHead(q.head)
}

// poke wakes an interrupt-mode wait so it re-checks its ctx (context.AfterFunc).
func (q *RxQueue) poke() { _ = q.ev.signal() }

// Wake makes the current or next Wait return. Safe from any goroutine,
// also during and after Close.
func (q *RxQueue) Wake() {
	q.woken.Store(true)
	_ = q.ev.signal() // the consumer's own eventfd: only we read it
}

// Wait blocks until at least one descriptor is available, ctx is done, Wake
// is called or the link goes down (then it returns Err(): wrapping
// ErrDisconnected, or ErrClosed which wraps net.ErrClosed). In interrupt
// mode it parks on the eventfd through the runtime poller; in Poll mode it
// spins on the index, yielding. It allocates nothing when called
// repeatedly with the same ctx.
func (q *RxQueue) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.watch(ctx)
	dl, _ := ctx.Deadline()
	err := q.wait(ctx, dl)
	if err == ErrTimeout { //nolint:errorlint // wait returns the sentinel itself
		// Our clock passed ctx's deadline before ctx's own timer fired.
		return context.DeadlineExceeded
	}
	return err
}

// WaitTimeout is Wait without a context: d ≤ 0 waits without limit; on
// expiry it returns ErrTimeout. It allocates nothing.
func (q *RxQueue) WaitTimeout(d time.Duration) error {
	var dl time.Time
	if d > 0 {
		dl = time.Now().Add(d)
	}
	return q.wait(nil, dl)
}

// wait is the loop under Wait and WaitTimeout; ctx may be nil, dl zero
// means no deadline.
func (q *RxQueue) wait(ctx context.Context, dl time.Time) error {
	if q.Available() > 0 {
		return nil
	}
	if q.poll {
		return q.spin(ctx, dl)
	}
	if err := q.ev.f.SetReadDeadline(dl); err != nil {
		return q.closedErr()
	}
	for {
		// Check, then sleep: a producer publishes before it signals, so a
		// publish after this check leaves the eventfd readable. Wake, link
		// loss and ctx cancellation signal the eventfd as well.
		if err := q.ready(ctx); err != errNotReady { //nolint:errorlint // private sentinel
			return err
		}
		if err := q.ev.wait(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if err := q.ready(ctx); err != errNotReady { //nolint:errorlint // private sentinel
					return err
				}
				return ErrTimeout
			}
			return q.closedErr()
		}
	}
}

// errNotReady: keep waiting.
var errNotReady = errors.New("not ready")

// ready is one look at everything that ends a wait.
func (q *RxQueue) ready(ctx context.Context) error {
	switch {
	case q.Available() > 0:
		return nil
	case q.c.down.Load():
		return q.c.linkErr()
	case q.woken.Swap(false):
		return nil
	case ctx != nil && ctx.Err() != nil:
		return ctx.Err()
	}
	return errNotReady
}

// spin polls the producer index: MASK_INT is set, so nobody signals.
func (q *RxQueue) spin(ctx context.Context, dl time.Time) error {
	for i := 0; ; i++ {
		if q.Available() > 0 {
			return nil
		}
		if q.c.down.Load() {
			return q.c.linkErr()
		}
		if q.woken.Swap(false) {
			return nil
		}
		if i&255 == 255 {
			if ctx != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			if !dl.IsZero() && time.Now().After(dl) {
				return ErrTimeout
			}
		}
		runtime.Gosched()
	}
}

// closedErr is the error once the eventfd is closed (by Conn.Close).
func (q *RxQueue) closedErr() error {
	if err := q.c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// watch makes ctx's cancellation Wake this queue. The registration is
// kept while callers pass the same ctx.
func (q *RxQueue) watch(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	q.watchMu.Lock()
	defer q.watchMu.Unlock()
	if q.watchCtx == ctx {
		return
	}
	if q.watchStop != nil {
		q.watchStop()
	}
	q.watchCtx, q.watchStop = ctx, context.AfterFunc(ctx, q.pokeFn)
}

// unwatch drops the context registration (Conn.Close).
func (q *RxQueue) unwatch() {
	q.watchMu.Lock()
	defer q.watchMu.Unlock()
	if q.watchStop != nil {
		q.watchStop()
	}
	q.watchCtx, q.watchStop = nil, nil
}
