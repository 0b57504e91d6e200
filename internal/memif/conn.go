package memif

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Cred is a peer's identity as the kernel reports it (SO_PEERCRED).
type Cred struct {
	PID      int32
	UID, GID uint32
}

// Region is a mapped shared-memory region of a link.
type Region struct {
	Index uint16
	Data  []byte
	FD    int // valid until the Conn is closed
}

// Conn is a linked memif interface: regions mapped, rings ready.
//
// Goroutines: one control reader, started at link-up, that watches the
// socket for DISCONNECT or EOF; Close waits for it.
type Conn struct {
	role     Role
	cfg      Config
	peerName string
	cred     Cred
	ctrl     *net.UnixConn

	regions []region
	evs     []*eventfd
	tx      []*TxQueue
	rx      []*RxQueue

	down     atomic.Bool
	done     chan struct{}
	failOnce sync.Once
	err      error // set before done is closed

	closeOnce sync.Once
	closed    atomic.Bool
	reader    sync.WaitGroup
	onClose   func() // master: tell the interface the link is gone
}

// Role returns this side's role.
func (c *Conn) Role() Role { return c.role }

// Config returns the negotiated configuration (ring size, buffer size, ring
// counts).
func (c *Conn) Config() Config { return c.cfg }

// PeerName is the name the peer gave in the handshake.
func (c *Conn) PeerName() string { return c.peerName }

// Cred returns the slave's credentials on the master side; zero on a slave.
func (c *Conn) Cred() Cred { return c.cred }

// Tx returns producer ring i: S2M on a slave, M2S on a master.
func (c *Conn) Tx(i int) *TxQueue { return c.tx[i] }

// Rx returns consumer ring i: M2S on a slave, S2M on a master.
func (c *Conn) Rx(i int) *RxQueue { return c.rx[i] }

// NumTx is the number of producer rings.
func (c *Conn) NumTx() int { return len(c.tx) }

// NumRx is the number of consumer rings.
func (c *Conn) NumRx() int { return len(c.rx) }

// Done is closed when the link ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err tells why the link ended; nil while it is up.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Regions returns the mapped regions (valid until Close).
func (c *Conn) Regions() []Region {
	out := make([]Region, 0, len(c.regions))
	for i, r := range c.regions {
		out = append(out, Region{Index: uint16(i), Data: r.data, FD: r.fd})
	}
	return out
}

// fail ends the link once: records why, and wakes every waiter. Memory
// stays mapped until Close.
func (c *Conn) fail(err error) {
	c.failOnce.Do(func() {
		c.err = err
		c.down.Store(true)
		close(c.done)
		for _, q := range c.rx {
			q.Wake()
		}
	})
}

// violation ends the link because the peer broke the protocol.
func (c *Conn) violation(format string, args ...any) error {
	reason := fmt.Sprintf(format, args...)
	err := &DisconnectError{Reason: reason, Err: ErrProtocol}
	c.fail(err)
	c.sendDisconnect(reason)
	return err
}

func (c *Conn) sendDisconnect(reason string) {
	var b [MsgSize]byte
	if _, err := (&Disconnect{Reason: reason}).MarshalTo(b[:]); err == nil {
		_ = c.ctrl.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _, _ = c.ctrl.WriteMsgUnix(b[:], nil, nil)
	}
}

// readLoop watches the control socket after link-up.
func (c *Conn) readLoop() {
	defer c.reader.Done()
	var b [MsgSize + 1]byte
	oob := make([]byte, oobSize)
	for {
		n, oobn, _, _, err := c.ctrl.ReadMsgUnix(b[:], oob)
		closeFDs(oob[:oobn])
		switch {
		case err != nil || n == 0:
			if c.closed.Load() {
				c.fail(ErrClosed)
			} else {
				c.fail(&DisconnectError{Reason: "peer closed the socket", Remote: true})
			}
			return
		case n == MsgSize && MsgType(b[0])|MsgType(b[1])<<8 == MsgDisconnect:
			var d Disconnect
			_, _ = d.Unmarshal(b[:n])
			c.fail(&DisconnectError{Reason: d.Reason, Remote: true})
			return
		default:
			_ = c.violation("unexpected message after connect (%d bytes, type 0x%02x%02x)", n, b[1], b[0])
			return
		}
	}
}

// Close ends the link (DISCONNECT with an empty reason, as libmemif),
// unmaps every region and closes every fd. Idempotent.
func (c *Conn) Close() error { return c.CloseWithReason("") }

// CloseWithReason is Close with a reason for the peer.
func (c *Conn) CloseWithReason(reason string) error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if !c.down.Load() {
			c.sendDisconnect(reason)
		}
		c.fail(ErrClosed)
		_ = c.ctrl.Close()
		c.reader.Wait()
		for _, e := range c.evs {
			_ = e.f.Close()
		}
		for i := range c.regions {
			c.regions[i].unmap()
		}
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

// linkErr is the error queue operations return once the link is gone.
func (c *Conn) linkErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrDisconnected
}

// slotBuf addresses a buffer through a descriptor, validated against the
// mapped regions: a peer's descriptor never indexes outside its region.
func (c *Conn) slotBuf(d Desc, length uint32) ([]byte, bool) {
	if int(d.Region) >= len(c.regions) {
		return nil, false
	}
	mem := c.regions[d.Region].data
	end := uint64(d.Offset) + uint64(length)
	if mem == nil || end > uint64(len(mem)) {
		return nil, false
	}
	return mem[d.Offset:end:end], true
}

// TxQueue is this side's producer ring: S2M on a slave, M2S on a master.
// Not safe for concurrent use.
type TxQueue struct {
	c     *Conn
	r     *ring
	ev    *eventfd
	index int
	// slave only: the fixed buffer of each slot (memif.md §6.4)
	bufRegion uint16
	bufBase   uint32
	bufSize   uint32
	next      uint16 // slave: head we publish; master: tail we publish
}

// Size is the number of ring slots.
func (q *TxQueue) Size() int { return int(q.r.size) }

// Room is how many slots can be filled now, counted from the publish point.
func (q *TxQueue) Room() int {
	if q.c.down.Load() {
		return 0
	}
	var used uint16
	if q.c.role == RoleSlave {
		used = q.next - q.r.tail()
		if used > q.r.size {
			_ = q.c.violation("tail %d beyond head %d on S2M ring %d", q.r.tail(), q.next, q.index)
			return 0
		}
		return int(q.r.size - used)
	}
	avail := q.r.head() - q.next
	if avail > q.r.size {
		_ = q.c.violation("head %d more than %d ahead of tail %d on M2S ring %d", q.r.head(), q.r.size, q.next, q.index)
		return 0
	}
	return int(avail)
}

// Buffer returns the whole buffer of the k-th unpublished slot.
func (q *TxQueue) Buffer(k int) ([]byte, error) {
	if q.c.down.Load() {
		return nil, q.c.linkErr()
	}
	slot := q.next + uint16(k)
	if q.c.role == RoleSlave {
		off := q.bufBase + uint32(slot&q.r.mask)*q.bufSize
		b, _ := q.c.slotBuf(Desc{Region: q.bufRegion, Offset: off}, q.bufSize)
		return b, nil
	}
	d := q.r.getDesc(slot)
	b, ok := q.c.slotBuf(d, d.Length)
	if !ok {
		return nil, q.c.violation("M2S ring %d slot %d: descriptor region %d offset %d length %d outside the regions",
			q.index, slot&q.r.mask, d.Region, d.Offset, d.Length)
	}
	return b, nil
}

// SetLength sets the data length of slot k and whether the chain goes on.
func (q *TxQueue) SetLength(k int, n int, next bool) error {
	if q.c.down.Load() {
		return q.c.linkErr()
	}
	slot := q.next + uint16(k)
	var flags uint16
	if next {
		flags = DescFlagNext
	}
	if q.c.role == RoleSlave {
		if n < 0 || uint32(n) > q.bufSize {
			return fmt.Errorf("%w: length %d exceeds the %d-byte buffer", ErrRingFull, n, q.bufSize)
		}
		off := q.bufBase + uint32(slot&q.r.mask)*q.bufSize
		q.r.putDesc(slot, Desc{Flags: flags, Region: q.bufRegion, Length: uint32(n), Offset: off})
		return nil
	}
	if d := q.r.getDesc(slot); n < 0 || uint32(n) > d.Length {
		return fmt.Errorf("%w: length %d exceeds the %d bytes offered", ErrRingFull, n, d.Length)
	}
	q.r.putLength(slot, uint32(n), flags)
	return nil
}

// Publish hands the first n prepared slots to the peer and signals it
// unless it masked interrupts.
func (q *TxQueue) Publish(n int) error {
	if q.c.down.Load() {
		return q.c.linkErr()
	}
	if n <= 0 {
		return nil
	}
	q.next += uint16(n)
	if q.c.role == RoleSlave {
		q.r.setHead(q.next)
	} else {
		q.r.setTail(q.next)
	}
	if q.r.flags()&RingMaskInt == 0 {
		_ = q.ev.signal()
	}
	return nil
}

// Send copies p into the next slot(s), chaining when p exceeds one buffer,
// and publishes. ErrRingFull when there is no room (nothing is published).
func (q *TxQueue) Send(p []byte) error {
	room := q.Room()
	k, off := 0, 0
	for k == 0 || off < len(p) {
		if k >= room {
			if err := q.c.Err(); err != nil {
				return err
			}
			return ErrRingFull
		}
		b, err := q.Buffer(k)
		if err != nil {
			return err
		}
		n := copy(b, p[off:])
		off += n
		if n == 0 && off < len(p) {
			return fmt.Errorf("%w: zero-capacity buffer", ErrProtocol)
		}
		if err := q.SetLength(k, n, off < len(p)); err != nil {
			return err
		}
		k++
	}
	return q.Publish(k)
}

// WaitRoom waits until Room() ≥ n. memif has no "space available" signal
// (memif.md §7.4): it polls, spinning briefly, then sleeping up to 1 ms.
func (q *TxQueue) WaitRoom(ctx context.Context, n int) error {
	sleep := 10 * time.Microsecond
	for i := 0; ; i++ {
		if q.Room() >= n {
			return nil
		}
		if q.c.down.Load() {
			return q.c.linkErr()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if i < 64 {
			runtime.Gosched()
			continue
		}
		time.Sleep(sleep)
		sleep = min(sleep*2, time.Millisecond)
	}
}

// Desc returns the raw descriptor of the k-th unpublished slot (master).
func (q *TxQueue) Desc(k int) Desc { return q.r.getDesc(q.next + uint16(k)) }

// SetDesc writes the raw descriptor of the k-th unpublished slot (master).
func (q *TxQueue) SetDesc(k int, d Desc) { q.r.putDesc(q.next+uint16(k), d) }

// RxQueue is this side's consumer ring: M2S on a slave, S2M on a master.
// Not safe for concurrent use, except Wake.
type RxQueue struct {
	c     *Conn
	r     *ring
	ev    *eventfd
	index int
	poll  bool
	taken uint16 // next descriptor to take
	freed uint16 // oldest taken, not yet released
	// slave only: fixed slot buffers for refill
	bufRegion uint16
	bufBase   uint32
	bufSize   uint32
}

// Size is the number of ring slots.
func (q *RxQueue) Size() int { return int(q.r.size) }

// produced is the peer's publish index: head on S2M, tail on M2S.
func (q *RxQueue) produced() uint16 {
	if q.c.role == RoleMaster {
		return q.r.head()
	}
	return q.r.tail()
}

// Available is the number of received descriptors not yet taken.
func (q *RxQueue) Available() int {
	if q.c.down.Load() {
		return 0
	}
	n := q.produced() - q.taken
	if n > q.r.size {
		_ = q.c.violation("%s ring %d: producer index %d is %d ahead of %d", q.dir(), q.index, q.produced(), n, q.taken)
		return 0
	}
	return int(n)
}

func (q *RxQueue) dir() string {
	if q.c.role == RoleMaster {
		return "S2M"
	}
	return "M2S"
}

// Held is the number of taken but unreleased buffers.
func (q *RxQueue) Held() int { return int(q.taken - q.freed) }

// NextDesc takes the next descriptor, validated.
func (q *RxQueue) NextDesc() (Desc, error) {
	if q.Available() == 0 {
		return Desc{}, q.c.linkErrOr(ErrRingFull)
	}
	d := q.r.getDesc(q.taken)
	if q.c.role == RoleSlave {
		// The master only sets length and flags; the slot's buffer is ours.
		if d.Length > q.bufSize {
			return Desc{}, q.c.violation("M2S ring %d: length %d exceeds the %d-byte buffer", q.index, d.Length, q.bufSize)
		}
		d.Region = q.bufRegion
		d.Offset = q.bufBase + uint32(q.taken&q.r.mask)*q.bufSize
	} else if _, ok := q.c.slotBuf(d, d.Length); !ok {
		return Desc{}, q.c.violation("S2M ring %d slot %d: region %d offset %d length %d outside the regions",
			q.index, q.taken&q.r.mask, d.Region, d.Offset, d.Length)
	}
	q.taken++
	return d, nil
}

// Next takes the next descriptor and returns its data, which aliases shared
// memory and is valid until released, and whether the chain goes on.
func (q *RxQueue) Next() ([]byte, bool, error) {
	d, err := q.NextDesc()
	if err != nil {
		return nil, false, err
	}
	b, _ := q.c.slotBuf(d, d.Length)
	return b, d.Flags&DescFlagNext != 0, nil
}

func (c *Conn) linkErrOr(err error) error {
	if c.down.Load() {
		return c.linkErr()
	}
	return err
}

// Release hands the n oldest taken buffers back to the peer, in order.
func (q *RxQueue) Release(n int) {
	if n <= 0 || q.c.down.Load() {
		return
	}
	n = min(n, q.Held())
	if q.c.role == RoleMaster {
		q.freed += uint16(n)
		q.r.setTail(q.freed)
		return
	}
	// Slave refill: offer the freed slots again with full capacity. The
	// slot at offer position head is the one taken N positions earlier.
	head := q.r.head()
	for i := range n {
		slot := head + uint16(i)
		q.r.putDesc(slot, Desc{Region: q.bufRegion, Length: q.bufSize,
			Offset: q.bufBase + uint32(slot&q.r.mask)*q.bufSize})
	}
	q.freed += uint16(n)
	q.r.setHead(head + uint16(n))
}

// offerAll offers every M2S slot at link-up (libmemif does the same).
func (q *RxQueue) offerAll() {
	for i := range q.r.size {
		q.r.putDesc(i, Desc{Region: q.bufRegion, Length: q.bufSize, Offset: q.bufBase + uint32(i)*q.bufSize})
	}
	q.r.setHead(q.r.size)
}

// Wake makes a concurrent Wait return. Safe from any goroutine, also
// during and after Close.
func (q *RxQueue) Wake() { _ = q.ev.signal() }

// Wait blocks until a descriptor may be available, ctx is done, Wake is
// called or the link goes down.
func (q *RxQueue) Wait(ctx context.Context) error {
	if ctx.Done() == nil {
		return q.WaitTimeout(0)
	}
	stop := context.AfterFunc(ctx, q.Wake)
	defer stop()
	var d time.Duration
	if dl, ok := ctx.Deadline(); ok {
		if d = time.Until(dl); d <= 0 {
			return ctx.Err()
		}
	}
	err := q.WaitTimeout(d)
	if ctx.Err() != nil && q.Available() == 0 {
		return ctx.Err()
	}
	return err
}

// WaitTimeout is Wait without a context: d ≤ 0 waits without limit. On
// expiry it returns an error wrapping ErrTimeout. It allocates nothing.
func (q *RxQueue) WaitTimeout(d time.Duration) error {
	if q.Available() > 0 {
		return nil
	}
	if q.c.down.Load() {
		return q.c.linkErr()
	}
	if q.poll {
		return q.spin(d)
	}
	var dl time.Time
	if d > 0 {
		dl = time.Now().Add(d)
	}
	if err := q.ev.f.SetReadDeadline(dl); err != nil {
		return q.c.linkErrOr(ErrClosed)
	}
	_, err := q.ev.f.Read(q.ev.buf[:])
	switch {
	case err == nil:
		if q.c.down.Load() && q.Available() == 0 {
			return q.c.linkErr()
		}
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	default:
		return q.c.linkErrOr(ErrClosed)
	}
}

// spin polls the producer index (MASK_INT is set, so nobody signals),
// yielding the processor between looks. Wake still works through the
// eventfd, which spin checks now and then.
func (q *RxQueue) spin(d time.Duration) error {
	var dl time.Time
	if d > 0 {
		dl = time.Now().Add(d)
	}
	for i := 1; ; i++ {
		if q.Available() > 0 {
			return nil
		}
		if q.c.down.Load() {
			return q.c.linkErr()
		}
		if i%256 == 0 {
			if n, _ := readNonblock(q.ev); n > 0 {
				return nil // woken
			}
			if !dl.IsZero() && time.Now().After(dl) {
				return ErrTimeout
			}
		}
		runtime.Gosched()
	}
}

func readNonblock(e *eventfd) (int, error) {
	if err := e.f.SetReadDeadline(time.Unix(1, 0)); err != nil {
		return 0, err
	}
	return e.f.Read(e.buf[:])
}

// queueSetup wires a Conn's queues over its mapped rings.
type ringInfo struct {
	s2m    bool
	index  int
	region uint16
	offset uint32
	log2   uint8
	ev     *eventfd
}

// buildQueues makes the queues once regions and rings are known, checks
// cookies and zeroes indexes (memif.md §5, §7.4).
func (c *Conn) buildQueues(rings []ringInfo) error {
	for _, ri := range rings {
		mem := c.regions[ri.region].data[ri.offset:]
		r := newRing(mem, c.cfg.CacheLine, ri.log2)
		if r.cookie() != Cookie {
			dir := "M2S"
			if ri.s2m {
				dir = "S2M"
			}
			return fmt.Errorf("%w: wrong cookie on %s ring %d", ErrProtocol, dir, ri.index)
		}
		r.reset()
		// The producer of S2M and the consumer of M2S are the slave.
		isTx := ri.s2m == (c.role == RoleSlave)
		n := uint32(1) << ri.log2
		var base uint32
		if c.role == RoleSlave {
			// libmemif layout: buffers of S2M ring i, then of M2S ring i.
			ringNo := uint32(ri.index)
			if !ri.s2m {
				ringNo += uint32(c.cfg.NumS2M)
			}
			base = ringNo * n * c.cfg.BufferSize
		}
		if isTx {
			c.tx = append(c.tx, &TxQueue{c: c, r: r, ev: ri.ev, index: ri.index,
				bufRegion: 1, bufBase: base, bufSize: c.cfg.BufferSize})
		} else {
			q := &RxQueue{c: c, r: r, ev: ri.ev, index: ri.index, poll: c.cfg.Poll,
				bufRegion: 1, bufBase: base, bufSize: c.cfg.BufferSize}
			if q.poll {
				r.setFlags(RingMaskInt)
			} else {
				r.setFlags(0)
			}
			c.rx = append(c.rx, q)
		}
	}
	return nil
}
