package memif

import (
	"errors"
	"fmt"
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
	Data  []byte // the whole mapping; nil after Close
	FD    int    // the memfd, valid until the Conn is closed
}

// Conn is a linked memif interface: regions mapped, rings ready.
//
// Lifecycle: a Conn is born linked. The link ends by Close (local), or by
// the peer (DISCONNECT, EOF) or a protocol violation (remote or local):
// then Done is closed, Err says why and every RxQueue.Wait returns, but the
// regions stay mapped — a reader may still hold slices into them — until
// the owner calls Close after its data goroutines stopped.
//
// Goroutines: one control reader, started at link-up, that watches the
// socket for DISCONNECT or EOF; Close waits for it.
type Conn struct {
	role     Role
	cfg      Config
	peerName string
	cred     Cred
	cc       *ctrlConn // reads belong to readLoop once linked

	regions []region
	imports atomic.Pointer[[]region] // slave: regions imported after link-up
	imp     importer                 // master: IMPORT_REGION handshakes
	evs     []*eventfd
	tx      []*TxQueue
	rx      []*RxQueue

	down     atomic.Bool // link over: queues refuse work
	done     chan struct{}
	failOnce sync.Once
	err      error // written once before done is closed

	closeOnce sync.Once
	closing   atomic.Bool
	reader    sync.WaitGroup
	onClose   func() // master: tell the interface the link is gone
}

// newConn makes a Conn that owns cc, regions and evs from here on.
func newConn(role Role, cfg Config, cc *ctrlConn, regions []region, evs []*eventfd) *Conn {
	return &Conn{role: role, cfg: cfg, cc: cc, regions: regions, evs: evs, done: make(chan struct{})}
}

// Role returns this side's role.
func (c *Conn) Role() Role { return c.role }

// Config returns the negotiated configuration: ring counts and log2 ring
// size as linked. On a master, BufferSize is what the slave offered in its
// first S2M descriptor (informational: every descriptor is checked anyway).
func (c *Conn) Config() Config { return c.cfg }

// PeerName is the name the peer gave in the handshake (HELLO's application
// name on a slave, INIT's on a master).
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

// Done is closed when the link ends, whatever the cause.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err tells why the link ended; nil while it is up. A peer's DISCONNECT
// and protocol violations are *DisconnectError (matching ErrDisconnected);
// a local Close is ErrClosed.
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

// fail ends the link once: records why and wakes every waiter. Memory
// stays mapped until Close.
func (c *Conn) fail(err error) {
	c.failOnce.Do(func() {
		c.err = err
		c.down.Store(true)
		close(c.done)
		// poke, not Wake: waiters see down and return Err, never nil.
		for _, q := range c.rx {
			q.poke()
		}
	})
}

// violation ends the link because the peer broke the protocol: DISCONNECT
// with the reason, then the same as fail. The returned error is what the
// failing call reports.
func (c *Conn) violation(format string, args ...any) error {
	reason := fmt.Sprintf(format, args...)
	err := &DisconnectError{Reason: reason, Err: ErrProtocol}
	if !c.down.Load() {
		c.cc.sendDisconnect(reason)
	}
	c.fail(err)
	return c.linkErr()
}

// readLoop watches the control socket after link-up: the socket now only
// serves to disconnect (memif.md §1, §8).
func (c *Conn) readLoop() {
	defer c.reader.Done()
	for {
		b, fd, err := c.cc.recv(time.Time{})
		switch {
		case err == nil && peekType(b) == MsgImportRegion && c.role == RoleSlave && c.cfg.AcceptImports:
			if err := c.acceptImport(b, fd); err != nil {
				_ = c.violation("%v", err)
				return
			}
			continue
		case err == nil && peekType(b) == MsgAck && c.role == RoleMaster && c.imp.acked():
			closeFD(fd)
			continue
		}
		closeFD(fd) // nothing else after CONNECTED carries an fd
		switch {
		case err != nil && c.closing.Load():
			c.fail(ErrClosed)
			return
		case errors.Is(err, ErrMessage):
			_ = c.violation("%v", err)
			return
		case err != nil:
			c.fail(err)
			return
		case peekType(b) == MsgDisconnect:
			var d Disconnect
			if _, err := d.Unmarshal(b); err != nil {
				_ = c.violation("%v", err)
				return
			}
			c.fail(&DisconnectError{Reason: d.Reason, Remote: true})
			return
		default:
			_ = c.violation("unexpected message %s after connect", peekType(b))
			return
		}
	}
}

// Close ends the link with an empty DISCONNECT (libmemif's teardown sends
// none; an empty reason is harmless to it), waits for the control reader,
// closes the eventfds, unmaps every region and closes every fd. Call it
// after the goroutines using the queues have stopped. Idempotent.
func (c *Conn) Close() error { return c.CloseWithReason("") }

// CloseWithReason is Close with a reason for the peer.
func (c *Conn) CloseWithReason(reason string) error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		if !c.down.Load() {
			c.cc.sendDisconnect(reason)
		}
		c.fail(ErrClosed)
		_ = c.cc.uc.Close()
		c.reader.Wait()
		for _, q := range c.rx {
			q.unwatch()
		}
		for _, e := range c.evs {
			e.close()
		}
		for i := range c.regions {
			c.regions[i].release()
		}
		if imp := c.imports.Load(); imp != nil {
			for i := range *imp {
				(*imp)[i].release()
			}
		}
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

// linkErr is the error queue operations return once the link is gone.
func (c *Conn) linkErr() error {
	if c.down.Load() {
		// fail sets down just before it closes done: wait out that
		// window, so the error is always the recorded cause.
		<-c.done
		return c.err
	}
	return ErrDisconnected
}

// bufAt slices a buffer named by a peer's descriptor, after checking that
// it lies inside a known region: a descriptor never indexes outside.
func (c *Conn) bufAt(regionIdx uint16, off, length uint32) ([]byte, bool) {
	var mem []byte
	if int(regionIdx) < len(c.regions) {
		mem = c.regions[regionIdx].data
	} else if imp := c.imports.Load(); imp != nil && int(regionIdx)-len(c.regions) < len(*imp) {
		mem = (*imp)[int(regionIdx)-len(c.regions)].data
	} else {
		return nil, false
	}
	end := uint64(off) + uint64(length)
	if end > uint64(len(mem)) {
		return nil, false
	}
	return mem[off:end:end], true
}

// ringInfo is a ring as announced in ADD_RING.
type ringInfo struct {
	s2m    bool
	index  int
	region uint16
	offset uint32
	log2   uint8
	ev     *eventfd
}

func (ri ringInfo) dir() string {
	if ri.s2m {
		return "S2M"
	}
	return "M2S"
}

// buildQueues makes the queues over mapped rings, checks cookies and
// zeroes the indexes (memif.md §5, §7.4). The caller checked that every
// ring fits its region at a 4-aligned offset.
func (c *Conn) buildQueues(rings []ringInfo) error {
	for _, ri := range rings {
		r := newRing(c.regions[ri.region].data[ri.offset:], c.cfg.CacheLine, ri.log2)
		if r.cookie() != Cookie {
			return fmt.Errorf("%w: wrong cookie on %s ring %d", ErrProtocol, ri.dir(), ri.index)
		}
	}
	for _, ri := range rings {
		r := newRing(c.regions[ri.region].data[ri.offset:], c.cfg.CacheLine, ri.log2)
		r.reset()
		q := queue{c: c, r: r, ev: ri.ev, index: ri.index, dir: ri.dir()}
		if c.role == RoleSlave {
			// libmemif layout (§6.4): region 1 holds the buffers of S2M
			// ring 0…S−1, then of M2S ring 0…M−1, N·B bytes each.
			ringNo := ri.index
			if !ri.s2m {
				ringNo += int(c.cfg.NumS2M)
			}
			span := int(r.size) * int(c.cfg.BufferSize)
			q.bufRegion = 1
			q.bufSize = c.cfg.BufferSize
			q.bufBase = uint32(ringNo * span)
			q.bufs = c.regions[1].data[ringNo*span : (ringNo+1)*span]
		}
		// The slave produces on S2M, the master on M2S.
		if ri.s2m == (c.role == RoleSlave) {
			c.tx = append(c.tx, &TxQueue{queue: q})
			continue
		}
		rq := &RxQueue{queue: q, poll: c.cfg.Poll}
		rq.pokeFn = rq.poke
		// This side consumes the ring, so its flags are ours (§7.1).
		if rq.poll {
			r.setFlags(RingFlagMaskInt)
		} else {
			r.setFlags(0)
		}
		c.rx = append(c.rx, rq)
	}
	return nil
}

// queue is what both queue kinds share.
type queue struct {
	c     *Conn
	r     *ring
	ev    *eventfd
	index int
	dir   string // "S2M" or "M2S", for reasons

	// Slave only: the fixed buffer of each slot (memif.md §6.4), from our
	// own record, never from descriptors the master can write.
	bufs      []byte // N·B bytes of region 1
	bufRegion uint16
	bufBase   uint32 // offset of bufs in region 1
	bufSize   uint32 // B
}

// slotBuf is the slave's own buffer of slot.
func (q *queue) slotBuf(slot uint16) []byte {
	i := int(slot&q.r.mask) * int(q.bufSize)
	return q.bufs[i : i+int(q.bufSize) : i+int(q.bufSize)]
}

// slotDesc is the slave's own descriptor of slot, full capacity.
func (q *queue) slotDesc(slot uint16) Desc {
	return Desc{Region: q.bufRegion, Length: q.bufSize, Offset: q.bufBase + uint32(slot&q.r.mask)*q.bufSize}
}

// Size is the number of ring slots.
func (q *queue) Size() int { return int(q.r.size) }
