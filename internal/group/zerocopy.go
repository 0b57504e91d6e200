package group

import (
	"time"

	"mediamesh/internal/memif"
)

// zeroCopy is the state of a receiver that reads the sender's buffers in
// place (memif.md §11.2): instead of copying a buffer into the receiver's
// slot, the forwarder writes the sender's descriptor there, with the region
// index under which the sender's region was imported on the receiver's
// link, and keeps the sender's slot pinned until the receiver gives its
// slot back. memif does not signal such releases; the forwarder reads them
// off the receiver's ring (Offered) on every pass and, while anything is
// pinned, on a short timer.
type zeroCopy struct {
	q         *memif.TxQueue
	sender    string // the sender whose region is imported; "" if none
	srcRegion uint16
	region    uint16
	offered   uint16 // receiver releases accounted for, as Offered() counts them
	// fifo has one entry per slot delivered (copied or forwarded), in ring
	// order: releases come back in that order.
	fifo   []zcEntry
	fHead  int
	fLen   int
	pinned int
	budget int // most sender slots this receiver may pin at once
}

type zcEntry struct {
	seq    uint64 // item sequence, if pinned
	pinned bool
}

func newZeroCopy(q *memif.TxQueue) *zeroCopy {
	n := q.Size()
	return &zeroCopy{q: q, offered: q.Offered(), fifo: make([]zcEntry, n)}
}

func (z *zeroCopy) importFrom(sender string, srcRegion, region uint16) {
	z.sender, z.srcRegion, z.region = sender, srcRegion, region
}

// room is how many more slots may be delivered: entries must exist for
// every delivered slot, or releases would be matched to the wrong buffers.
func (z *zeroCopy) room() int { return len(z.fifo) - z.fLen }

func (z *zeroCopy) push(seq uint64, pinned bool) {
	z.fifo[(z.fHead+z.fLen)%len(z.fifo)] = zcEntry{seq: seq, pinned: pinned}
	z.fLen++
	if pinned {
		z.pinned++
	}
}

// forwardInPlace hands the receiver the sender's descriptor of a one-slot
// buffer. It reports false when the buffer must be copied instead: no
// import of this sender yet, a chain, a small buffer, a region other than the imported
// one, or the receiver already pins its budget (a slow reader then costs
// copies, not the sender's slots).
func (g *Group) forwardInPlace(m *member, it *item, seq uint64) bool {
	z, s := m.zc, g.src
	if z.sender != s.id || it.n != 1 || it.size < g.cfg.ZeroCopyMin {
		return false
	}
	if z.budget == 0 {
		z.budget = max(1, len(s.items)/2)
	}
	if z.pinned >= z.budget {
		return false
	}
	d := s.descs[it.start%uint64(len(s.descs))]
	if d.Region != z.srcRegion {
		return false
	}
	m.q.SetDesc(m.prepared, memif.Desc{Region: z.region, Offset: d.Offset, Length: d.Length})
	z.push(seq, true)
	it.refs++
	m.prepared++
	m.counters.Buffers.Add(1)
	m.counters.Bytes.Add(uint64(it.size))
	return true
}

// reapReleases unpins what the receiver gave back since the last pass.
func (g *Group) reapReleases(m *member) {
	z := m.zc
	now := z.q.Offered()
	n := int(now - z.offered) // u16 difference: releases since the last look
	z.offered = now
	// A slave cannot give back more than it was given; if it claims to
	// (a broken peer), everything it holds counts as released: its pins
	// must not outlive it.
	for range min(n, z.fLen) {
		e := z.fifo[z.fHead]
		z.fHead = (z.fHead + 1) % len(z.fifo)
		z.fLen--
		if e.pinned {
			z.pinned--
			if g.src != nil {
				g.src.items[e.seq%uint64(len(g.src.items))].refs--
			}
		}
	}
}

// unpinAll lets go of every sender slot a receiver pins: it leaves, or the
// sender it pinned went away.
func (g *Group) unpinAll(m *member) {
	z := m.zc
	if z == nil {
		return
	}
	for i := range z.fLen {
		e := &z.fifo[(z.fHead+i)%len(z.fifo)]
		if e.pinned && g.src != nil {
			g.src.items[e.seq%uint64(len(g.src.items))].refs--
		}
		e.pinned = false
	}
	z.pinned = 0
}

// evictStallers cuts off zero-copy receivers that hold the sender back: the
// sender's ring is wholly in flight and its oldest buffer, older than
// StallTimeout, is pinned by a receiver that has not given it back (memif releases in order, so one
// pinned slot blocks all later ones). Such a receiver is disconnected —
// it must unmap, since the sender is about to rewrite that buffer — and its
// pins are dropped. Reliable groups wait instead.
func (g *Group) evictStallers() {
	s := g.src
	if s == nil || g.reliable.Load() || s.next-s.head < uint64(len(s.items)) {
		return
	}
	oldest := s.head
	if age := time.Now().UnixNano() - s.items[oldest%uint64(len(s.items))].at; age < int64(g.cfg.StallTimeout) {
		return // the ring is full, but only just: a burst, not a stall
	}
	for _, m := range g.members {
		z := m.zc
		if z == nil || m.broken || z.pinned == 0 {
			continue
		}
		for i := range z.fLen {
			e := z.fifo[(z.fHead+i)%len(z.fifo)]
			if e.pinned && e.seq == oldest {
				g.log.Warn("zero-copy receiver stalls the sender; disconnecting it", "conn_id", m.id, "pinned", z.pinned, "in_flight", s.next-s.head, "delivered_unreleased", z.fLen, "offered", z.q.Offered())
				g.unpinAll(m)
				g.markBroken(m)
				m.counters.Errors.Add(1)
				if g.cfg.OnStall != nil {
					g.cfg.OnStall(m.id)
				}
				break
			}
		}
	}
	g.releaseDone()
}
