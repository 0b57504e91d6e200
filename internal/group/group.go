package group

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mediamesh/internal/mcm"
	"mediamesh/internal/memif"
)

// Defaults of Config.
const (
	DefaultBudget       = 2
	DefaultPollInterval = 250 * time.Microsecond
	DefaultStallTimeout = 100 * time.Millisecond
	DefaultZeroCopyMin  = 16 << 10
)

// Config describes a group. Zero values mean defaults.
type Config struct {
	// URN names the group (MCM's connection.multipointGroup.urn).
	URN string
	// Reliable makes the group wait for its slowest receiver instead of
	// dropping (blob groups that asked for options.reliable).
	Reliable bool
	// Budget is how many buffers a receiver with a full ring may keep
	// pending before its oldest pending buffer is dropped (default 2).
	Budget int
	// StallTimeout is how long a zero-copy receiver may keep the sender's
	// oldest buffer while the sender's ring is full before it is cut off
	// (default 100ms: a 60 fps sender fills a 16-slot ring in 266 ms, so
	// only a receiver already far behind is hit; a bursty sender filling
	// the ring in microseconds is not).
	StallTimeout time.Duration
	// ZeroCopyMin is the smallest buffer forwarded in place (default 16 KiB):
	// below it a copy costs less than pinning the sender's slot until the
	// receiver's release is seen (memif does not signal releases; the
	// forwarder polls for them).
	ZeroCopyMin int
	// OnStall is told (from the forwarder: it must not block) about a
	// zero-copy receiver cut off for pinning the sender's buffers too long;
	// the owner disconnects its link without unmapping (memif Disconnect).
	OnStall func(id string)
	// PollInterval is how often receivers' rings are re-checked for room
	// while buffers wait for them: memif has no "space available" signal
	// (memif.md §7.4). Default 250µs.
	PollInterval time.Duration
}

// Counters are one member's live statistics, read lock-free by the proxy.
type Counters struct {
	Buffers atomic.Uint64 // buffers taken (sender) or delivered (receiver)
	Bytes   atomic.Uint64
	Dropped atomic.Uint64 // receiver: buffers it lost to the slow-receiver rule
	Errors  atomic.Uint64 // malformed descriptors, buffers too large for a slot
}

// Group is one local multipoint group. Create with New, then Start.
type Group struct {
	cfg Config
	log *slog.Logger

	// mu guards the posted operations and the queue used to wake the
	// forwarder while it sleeps on the sender's eventfd.
	mu struct {
		sync.Mutex
		ops    []op
		wakeQ  *memif.RxQueue
		closed bool
	}
	wake chan struct{} // capacity 1: wakes a forwarder that has no sender to wait on

	reliable atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	start  sync.Once

	// Owned by the forwarder goroutine.
	src     *source
	members []*member
	seq     uint32
}

type opKind uint8

const (
	opSetSender opKind = iota
	opRemoveSender
	opAddReceiver
	opRemoveReceiver
	opSetImport
)

type op struct {
	kind      opKind
	id        string
	rx        *memif.RxQueue
	tx        *memif.TxQueue
	counters  *Counters
	zeroCopy  bool
	sender    string // opSetImport: the sender whose region was imported
	srcRegion uint16 // opSetImport: that region's index on the sender's link
	region    uint16 // opSetImport: its index on the receiver's link
	ack       chan struct{}
}

// item is one buffer (a chain of one or more sender slots) in flight.
type item struct {
	start uint64 // slot counter of its first segment
	n     int    // segments
	refs  int    // pending entries that still reference it
	size  int    // payload bytes across segments
	at    int64  // when it was taken, Unix ns
}

// source is the sending app's side of the group.
type source struct {
	id       string
	q        *memif.RxQueue
	counters *Counters
	down     bool // its link failed; wait for Remove
	segs     [][]byte
	descs    []memif.Desc
	taken    uint64 // slots taken from the ring so far
	items    []item // FIFO, capacity = ring size
	head     uint64 // oldest item sequence
	next     uint64 // next item sequence
	partial  int    // segments of the chain being assembled
}

type member struct {
	id       string
	q        *memif.TxQueue
	counters *Counters
	pending  []uint64 // FIFO of item sequences, fixed capacity
	pHead    int
	pLen     int
	prepared int // slots written since the last Publish
	broken   bool
	zc       *zeroCopy // nil: every buffer is copied
}

// New validates cfg and builds a group; nothing runs until Start.
func New(cfg Config, log *slog.Logger) (*Group, error) {
	if cfg.Budget == 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.Budget < 1 {
		return nil, errors.New("group: budget must be at least 1")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.ZeroCopyMin <= 0 {
		cfg.ZeroCopyMin = DefaultZeroCopyMin
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Group{
		cfg:  cfg,
		log:  log.With("component", "group", "group", cfg.URN),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	g.reliable.Store(cfg.Reliable)
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g, nil
}

// Start runs the forwarder. Calling it again does nothing.
func (g *Group) Start() {
	g.start.Do(func() { go g.run() })
}

// Close stops the forwarder and waits for it. Queues still attached are
// released from the group but not closed: their connections belong to the
// caller. Close is idempotent.
func (g *Group) Close() error {
	// Cancel first, wake second: a forwarder that sees the wake (and
	// spends it) must find the context done, or it waits on the sender's
	// queue again with nobody left to wake it. A forwarder attaching a
	// sender after the wake finds it done too.
	g.cancel()
	g.mu.Lock()
	g.mu.closed = true
	if g.mu.wakeQ != nil {
		g.mu.wakeQ.Wake()
	}
	g.mu.Unlock()
	g.start.Do(func() { close(g.done) })
	<-g.done
	return nil
}

// URN returns the group's name.
func (g *Group) URN() string { return g.cfg.URN }

// Reliable reports whether the group waits for slow receivers.
func (g *Group) Reliable() bool { return g.reliable.Load() }

// SetReliable makes the group wait for slow receivers from now on: any
// member of a blob group may ask for it, whoever joined first. It cannot be
// undone, so a member that relies on it never loses a buffer.
func (g *Group) SetReliable() { g.reliable.Store(true) }

// SetSender attaches the sending app's queue. The group takes buffers from
// it until RemoveSender returns. A group has at most one sender.
func (g *Group) SetSender(id string, q *memif.RxQueue, c *Counters) error {
	return g.post(op{kind: opSetSender, id: id, rx: q, counters: c})
}

// RemoveSender detaches the sender; once it returns the group no longer
// touches the queue.
func (g *Group) RemoveSender(id string) error {
	return g.post(op{kind: opRemoveSender, id: id})
}

// AddReceiver attaches a receiving app's queue. It gets every buffer the
// sender puts from now on.
func (g *Group) AddReceiver(id string, q *memif.TxQueue, c *Counters) error {
	return g.post(op{kind: opAddReceiver, id: id, tx: q, counters: c})
}

// AddZeroCopyReceiver attaches a receiver that reads the sender's memory in
// place once SetImport names the sender's region on its link; until then,
// and whenever pinning more would hurt the sender, it gets copies.
func (g *Group) AddZeroCopyReceiver(id string, q *memif.TxQueue, c *Counters) error {
	return g.post(op{kind: opAddReceiver, id: id, tx: q, counters: c, zeroCopy: true})
}

// SetImport tells the group that the region srcRegion of sender's link is
// mapped on receiver's link as region: from now on the group forwards that
// sender's descriptors to the receiver instead of copying. Stale calls (the
// sender has changed) are ignored.
func (g *Group) SetImport(receiver, sender string, srcRegion, region uint16) error {
	return g.post(op{kind: opSetImport, id: receiver, sender: sender, srcRegion: srcRegion, region: region})
}

// RemoveReceiver detaches a receiver; once it returns the group no longer
// touches the queue.
func (g *Group) RemoveReceiver(id string) error {
	return g.post(op{kind: opRemoveReceiver, id: id})
}

// ErrClosed is returned for operations on a closed group.
var ErrClosed = errors.New("group closed")

// post hands an operation to the forwarder and waits until it took effect.
func (g *Group) post(o op) error {
	o.ack = make(chan struct{})
	g.mu.Lock()
	if g.mu.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	g.mu.ops = append(g.mu.ops, o)
	if g.mu.wakeQ != nil {
		g.mu.wakeQ.Wake()
	}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	select {
	case <-o.ack:
		return nil
	case <-g.done:
		return ErrClosed
	}
}

func (g *Group) run() {
	defer close(g.done)
	g.log.Debug("forwarder started")
	defer g.log.Debug("forwarder stopped")
	for {
		g.applyOps()
		if g.ctx.Err() != nil {
			g.teardown()
			return
		}
		if g.src == nil || g.src.down {
			select {
			case <-g.wake:
			case <-g.ctx.Done():
			}
			continue
		}
		g.forward()
		var timeout time.Duration
		if g.busy() {
			timeout = g.cfg.PollInterval
		}
		err := g.src.q.WaitTimeout(timeout)
		if err != nil && !errors.Is(err, memif.ErrTimeout) {
			// The sender's link is gone; its owner will remove it. Until
			// then sleep on the wake channel instead of spinning.
			g.log.Debug("sender link down", "conn_id", g.src.id, "err", err)
			g.src.down = true
		}
	}
}

// busy reports whether buffers wait for receivers, so the forwarder must
// look again soon even if the sender stays quiet.
func (g *Group) busy() bool {
	for _, m := range g.members {
		if m.pLen > 0 || (m.zc != nil && m.zc.pinned > 0) {
			return true
		}
	}
	return false
}

func (g *Group) applyOps() {
	g.mu.Lock()
	ops := g.mu.ops
	g.mu.ops = nil
	g.mu.Unlock()
	for _, o := range ops {
		switch o.kind {
		case opSetSender:
			if g.src != nil {
				g.dropSource()
			}
			g.attachSource(o)
		case opRemoveSender:
			if g.src != nil && g.src.id == o.id {
				g.dropSource()
			}
		case opAddReceiver:
			g.members = append(g.members, g.newMember(o))
		case opSetImport:
			for _, m := range g.members {
				if m.id == o.id && m.zc != nil {
					m.zc.importFrom(o.sender, o.srcRegion, o.region)
				}
			}
		case opRemoveReceiver:
			for i, m := range g.members {
				if m.id == o.id {
					g.releasePending(m, false)
					g.unpinAll(m)
					g.members = append(g.members[:i], g.members[i+1:]...)
					break
				}
			}
			g.releaseDone()
		}
		close(o.ack)
	}
}

func (g *Group) attachSource(o op) {
	n := o.rx.Size()
	g.src = &source{
		id:       o.id,
		q:        o.rx,
		counters: o.counters,
		segs:     make([][]byte, n),
		descs:    make([]memif.Desc, n),
		items:    make([]item, n),
	}
	for _, m := range g.members {
		m.resize(g.pendingCap())
	}
	g.mu.Lock()
	g.mu.wakeQ = o.rx
	g.mu.Unlock()
}

// dropSource forgets the sender: receivers lose what they had pending from
// it (counted as drops), and every slot is handed back.
func (g *Group) dropSource() {
	for _, m := range g.members {
		g.releasePending(m, true)
		g.unpinAll(m)
	}
	s := g.src
	if held := s.q.Held(); held > 0 && !s.down {
		s.q.Release(held)
	}
	g.mu.Lock()
	g.mu.wakeQ = nil
	g.mu.Unlock()
	g.src = nil
}

// pendingCap is the capacity of every receiver's pending FIFO: room for the
// whole sender ring, so that a reliable group never has to drop.
func (g *Group) pendingCap() int {
	if g.src != nil && g.src.q.Size() > g.cfg.Budget {
		return g.src.q.Size()
	}
	return g.cfg.Budget
}

// limit is how many pending buffers a receiver may hold before its oldest
// is dropped.
func (g *Group) limit(m *member) int {
	if g.reliable.Load() || g.cfg.Budget > len(m.pending) {
		return len(m.pending)
	}
	return g.cfg.Budget
}

func (g *Group) newMember(o op) *member {
	m := &member{id: o.id, q: o.tx, counters: o.counters}
	if o.zeroCopy {
		m.zc = newZeroCopy(o.tx)
	}
	m.resize(g.pendingCap())
	return m
}

// resize sets the pending FIFO's capacity; only called while it is empty.
func (m *member) resize(n int) {
	if cap(m.pending) < n {
		m.pending = make([]uint64, n)
	}
	m.pending = m.pending[:n]
	m.pHead, m.pLen = 0, 0
}

func (g *Group) teardown() {
	if g.src != nil {
		g.dropSource()
	}
	g.members = nil
	// Acknowledge anything posted while closing.
	g.mu.Lock()
	ops := g.mu.ops
	g.mu.ops = nil
	g.mu.Unlock()
	for _, o := range ops {
		close(o.ack)
	}
}

// forward takes every complete buffer the sender published, delivers it to
// every receiver (or queues a reference), then publishes and releases.
// One time.Now per pass, no allocation.
func (g *Group) forward() {
	s := g.src
	for _, m := range g.members {
		if m.zc != nil {
			g.reapReleases(m)
		}
		g.drainPending(m)
	}
	var now time.Time
	for s.q.Available() > 0 {
		d, err := s.q.NextDesc()
		if err != nil {
			// memif closed the link with a reason; the owner removes us.
			s.counters.Errors.Add(1)
			s.down = true
			break
		}
		s.segs[s.taken%uint64(len(s.segs))] = s.q.Data(d)
		s.descs[s.taken%uint64(len(s.descs))] = d
		s.taken++
		more := d.Flags&memif.DescFlagNext != 0
		s.partial++
		if more {
			if s.partial > len(s.segs) {
				s.counters.Errors.Add(1)
				s.down = true
				break
			}
			continue
		}
		if now.IsZero() {
			now = time.Now()
		}
		g.takeItem(now)
	}
	for _, m := range g.members {
		if m.prepared > 0 {
			if err := m.q.Publish(m.prepared); err != nil {
				g.markBroken(m)
			}
			m.prepared = 0
		}
	}
	g.releaseDone()
	g.evictStallers()
}

// takeItem turns the chain just assembled into an item and offers it to
// every receiver.
func (g *Group) takeItem(now time.Time) {
	s := g.src
	n := s.partial
	s.partial = 0
	seq := s.next
	s.next++
	it := &s.items[seq%uint64(len(s.items))]
	*it = item{start: s.taken - uint64(n), n: n, refs: 0, at: now.UnixNano()}
	for k := range n {
		it.size += len(s.segs[(it.start+uint64(k))%uint64(len(s.segs))])
	}
	g.seq++
	if g.seq == 0 {
		g.seq = 1
	}
	stampSysdata(s.segs[it.start%uint64(len(s.segs))], g.seq, now)
	s.counters.Buffers.Add(1)
	s.counters.Bytes.Add(uint64(it.size))
	for _, m := range g.members {
		if m.broken {
			continue
		}
		if m.pLen == 0 && g.deliver(m, it, seq) {
			continue
		}
		for m.pLen >= g.limit(m) {
			// Budget spent: the oldest pending buffer goes (never in a
			// reliable group, whose FIFO holds the whole sender ring).
			old := m.pending[m.pHead]
			m.pHead = (m.pHead + 1) % len(m.pending)
			m.pLen--
			s.items[old%uint64(len(s.items))].refs--
			m.counters.Dropped.Add(1)
		}
		m.pending[(m.pHead+m.pLen)%len(m.pending)] = seq
		m.pLen++
		it.refs++
	}
}

// stampSysdata fills sequence number and timestamp of a buffer whose sender
// left both zero (every MCM app does, mcm-api.md §8 #15).
func stampSysdata(b []byte, seq uint32, now time.Time) {
	var sd mcm.Sysdata
	if _, err := sd.Unmarshal(b); err != nil {
		return // not an MCM-layout buffer (too short): leave it alone
	}
	if sd.Seq != 0 || sd.Timestamp != 0 {
		return
	}
	sd.Seq = seq
	sd.Timestamp = now.UnixNano()
	_, _ = sd.MarshalTo(b)
}

// drainPending delivers a receiver's pending buffers while it has room.
func (g *Group) drainPending(m *member) {
	s := g.src
	for m.pLen > 0 && !m.broken {
		seq := m.pending[m.pHead]
		it := &s.items[seq%uint64(len(s.items))]
		if !g.deliver(m, it, seq) || m.broken {
			return // no room yet; or broken, and markBroken let go of the FIFO
		}
		m.pHead = (m.pHead + 1) % len(m.pending)
		m.pLen--
		it.refs--
	}
}

// deliver copies an item into a receiver's free slots. It reports false
// when the receiver has no room (nothing was written).
func (g *Group) deliver(m *member, it *item, seq uint64) bool {
	if m.zc != nil {
		// Account for releases first: the ring's room (read live below) may
		// already include slots whose release the FIFO has not seen.
		g.reapReleases(m)
		if m.zc.room() < it.n {
			return false
		}
	}
	if m.q.Room()-m.prepared < it.n {
		return false
	}
	s := g.src
	if m.zc != nil && g.forwardInPlace(m, it, seq) {
		return true
	}
	for k := range it.n {
		seg := s.segs[(it.start+uint64(k))%uint64(len(s.segs))]
		slot := m.prepared + k
		buf, err := m.q.Buffer(slot)
		if err != nil {
			m.counters.Errors.Add(1)
			g.markBroken(m)
			return true
		}
		if len(seg) > len(buf) {
			m.counters.Errors.Add(1)
			m.counters.Dropped.Add(1)
			return true
		}
		copy(buf, seg)
		if err := m.q.SetLength(slot, len(seg), k < it.n-1); err != nil {
			m.counters.Errors.Add(1)
			g.markBroken(m)
			return true
		}
	}
	if m.zc != nil {
		for range it.n {
			m.zc.push(0, false) // copied: the slot pins nothing
		}
	}
	m.prepared += it.n
	m.counters.Buffers.Add(1)
	m.counters.Bytes.Add(uint64(it.size))
	return true
}

// markBroken stops serving a receiver whose ring failed: its link is going
// down and its owner will remove it. Its pending buffers are let go now so
// they cannot pin the sender's slots meanwhile.
func (g *Group) markBroken(m *member) {
	if m.broken {
		return
	}
	m.broken = true
	m.prepared = 0
	g.releasePending(m, true)
}

// releasePending forgets a receiver's pending buffers.
func (g *Group) releasePending(m *member, countDrops bool) {
	if g.src != nil {
		for ; m.pLen > 0; m.pLen-- {
			seq := m.pending[m.pHead]
			g.src.items[seq%uint64(len(g.src.items))].refs--
			m.pHead = (m.pHead + 1) % len(m.pending)
			if countDrops {
				m.counters.Dropped.Add(1)
			}
		}
	}
	m.pHead, m.pLen = 0, 0
	m.resize(g.pendingCap())
}

// releaseDone hands the sender back, in order, every slot no receiver
// still needs (memif's tail only moves forward over whole chains).
func (g *Group) releaseDone() {
	s := g.src
	if s == nil || s.down {
		return
	}
	n := 0
	for s.head != s.next {
		it := &s.items[s.head%uint64(len(s.items))]
		if it.refs > 0 {
			break
		}
		n += it.n
		s.head++
	}
	if n > 0 {
		s.q.Release(n)
	}
}
