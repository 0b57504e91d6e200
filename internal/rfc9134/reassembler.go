package rfc9134

import "fmt"

// MinChunk is the smallest codestream payload a non-last packet may carry
// for the Reassembler. It bounds the arrival bitmap, which is allocated once
// for maxUnitBytes/MinChunk packets; real senders fill packets close to
// the MTU, two orders of magnitude above it.
const MinChunk = 64

// maxRTPPayload bounds maxPayload: no UDP datagram carries more.
const maxRTPPayload = 65535

// Reassembler rebuilds one codestream-mode packetization unit at a time
// into a caller-owned destination (the app's shared buffer), from packets
// in any order: T=1 senders send in order, but the network or a 2022-7
// merge can still reorder them, and T=0 permits it outright.
//
// A packet's position is IndexOf(SEP, P) times the chunk size: the
// codestream bytes of a non-last packet, learnt from the first non-last
// packet of the unit. Codestream mode gives every non-last packet of a
// unit the same size, so a packet that contradicts the chunk breaks the
// unit (Broken) instead of being written at a guessed offset. The L packet
// may be the only one with a different (smaller) size; if it arrives before
// the chunk is known it is held in a preallocated side buffer and placed as
// soon as it is.
//
// Invariants: nothing is ever written outside dst; Add allocates nothing;
// Reset costs in proportion to the packets of the previous unit, not to
// the capacity. A Reassembler is not safe for concurrent use.
type Reassembler struct {
	maxUnit  int      // bytes of dst used at most
	maxChunk int      // largest codestream payload of a packet
	arrived  []uint64 // one bit per packet index, preallocated
	pending  []byte   // the L packet, held while the chunk is unknown

	dst       []byte // destination of the current unit, at most maxUnit long
	chunk     int    // codestream bytes of a non-last packet; 0 until learnt
	frame     uint8  // F counter of the unit
	interlace uint8  // I field of the unit
	received  int    // distinct packets accepted (pending L included)
	maxIdx    int    // highest index accepted, -1 before any
	lastIdx   int    // index of the L packet, -1 until it arrives
	lastLen   int    // codestream bytes of the L packet
	held      bool   // the L packet sits in pending
	extent    int    // end of the furthest byte written into dst
	broken    bool   // a contradiction made the unit unrebuildable
}

// NewReassembler returns a Reassembler for units of up to maxUnitBytes of
// codestream carried in RTP payloads of up to maxPayload bytes (payload
// header included). Call Reset before the first Add.
func NewReassembler(maxUnitBytes, maxPayload int) (*Reassembler, error) {
	switch {
	case maxUnitBytes <= 0:
		return nil, fmt.Errorf("%w: max unit %d bytes, need > 0", ErrConfig, maxUnitBytes)
	case maxPayload-HeaderSize < MinChunk || maxPayload > maxRTPPayload:
		return nil, fmt.Errorf("%w: max payload %d, need %d..%d", ErrConfig, maxPayload, HeaderSize+MinChunk, maxRTPPayload)
	}
	n := min((maxUnitBytes+MinChunk-1)/MinChunk, MaxPackets)
	r := &Reassembler{
		maxUnit:  maxUnitBytes,
		maxChunk: maxPayload - HeaderSize,
		arrived:  make([]uint64, (n+63)/64),
		pending:  make([]byte, maxPayload-HeaderSize),
		maxIdx:   -1,
	}
	r.Reset(nil)
	return r, nil
}

// Reset starts a new unit written into dst. At most maxUnitBytes of dst are
// used; its length, not its capacity, is the room.
func (r *Reassembler) Reset(dst []byte) {
	if r.maxIdx >= 0 {
		clear(r.arrived[:r.maxIdx/64+1])
	}
	*r = Reassembler{
		maxUnit:  r.maxUnit,
		maxChunk: r.maxChunk,
		arrived:  r.arrived,
		pending:  r.pending,
		dst:      dst[:min(len(dst), r.maxUnit)],
		maxIdx:   -1,
		lastIdx:  -1,
	}
}

// Add places one packet: h is its payload header, data the codestream
// bytes after it. Errors: ErrUnsupported for slice mode; ErrMalformed for
// a packet that contradicts the unit (wrong frame or field, size, a second
// L, a packet past L; all but the first two also mark the unit Broken);
// ErrOutOfFrame for a packet that would not fit in dst; ErrDuplicate for
// one already placed. A rejected packet writes nothing.
func (r *Reassembler) Add(h Header, data []byte) error {
	n := len(data)
	switch {
	case h.Slice:
		return fmt.Errorf("%w: slice mode (K=1)", ErrUnsupported)
	case h.Interlace == interlaceReserved || h.Interlace > InterlaceSecond:
		return fmt.Errorf("%w: interlace field %d", ErrMalformed, h.Interlace)
	case n == 0:
		return fmt.Errorf("%w: packet without codestream bytes", ErrMalformed)
	case n > r.maxChunk:
		return fmt.Errorf("%w: packet carries %d bytes, max %d", ErrMalformed, n, r.maxChunk)
	case r.received > 0 && (h.Frame != r.frame || h.Interlace != r.interlace):
		return fmt.Errorf("%w: packet of frame %d field %d in a unit of frame %d field %d",
			ErrMalformed, h.Frame, h.Interlace, r.frame, r.interlace)
	}
	i := IndexOf(h.SEP, h.P)
	if i >= len(r.arrived)*64 {
		return fmt.Errorf("%w: packet index %d, room for %d", ErrOutOfFrame, i, len(r.arrived)*64)
	}
	if h.Last {
		return r.addLast(h, i, data)
	}
	return r.addMiddle(h, i, data)
}

// addMiddle places a non-last packet, learning the chunk from the first.
func (r *Reassembler) addMiddle(h Header, i int, data []byte) error {
	n := len(data)
	chunk := r.chunk
	switch {
	case r.lastIdx >= 0 && i >= r.lastIdx:
		return r.breakf("packet %d at or after the last packet %d", i, r.lastIdx)
	case chunk == 0 && n < MinChunk:
		return r.breakf("packet %d carries %d bytes, min %d", i, n, MinChunk)
	case chunk != 0 && n != chunk:
		return r.breakf("packet %d carries %d bytes, the unit's packets carry %d", i, n, chunk)
	case r.has(i):
		return ErrDuplicate // bare: the one steady-state rejection stays allocation-free
	}
	if chunk == 0 {
		chunk = n
	}
	off, ok := r.fit(i, chunk, n)
	if !ok {
		return fmt.Errorf("%w: packet %d would end at %d, room %d", ErrOutOfFrame, i, i*chunk+n, len(r.dst))
	}
	r.accept(h, i, off, data)
	if r.chunk == 0 {
		r.chunk = chunk
		if r.held {
			return r.placeHeld()
		}
	}
	return nil
}

// addLast places the L packet, or holds it until the chunk is known.
func (r *Reassembler) addLast(h Header, i int, data []byte) error {
	n := len(data)
	switch {
	case r.lastIdx == i:
		return ErrDuplicate
	case r.lastIdx >= 0:
		return r.breakf("second last packet %d, the first was %d", i, r.lastIdx)
	case r.maxIdx >= i:
		return r.breakf("last packet %d before packet %d", i, r.maxIdx)
	case r.chunk != 0 && n > r.chunk:
		return r.breakf("last packet carries %d bytes, the unit's packets carry %d", n, r.chunk)
	}
	if i > 0 && r.chunk == 0 {
		// Its offset depends on a chunk size no packet has told yet.
		r.held = true
		copy(r.pending, data)
		r.accept(h, i, -1, data)
		return nil
	}
	off, ok := r.fit(i, r.chunk, n)
	if !ok {
		return fmt.Errorf("%w: last packet %d would end at %d, room %d", ErrOutOfFrame, i, i*r.chunk+n, len(r.dst))
	}
	r.accept(h, i, off, data)
	return nil
}

// placeHeld writes the held L packet once the chunk is known.
func (r *Reassembler) placeHeld() error {
	n := r.lastLen
	if n > r.chunk {
		return r.breakf("last packet carries %d bytes, the unit's packets carry %d", n, r.chunk)
	}
	off, ok := r.fit(r.lastIdx, r.chunk, n)
	if !ok {
		r.broken = true
		return fmt.Errorf("%w: last packet %d would end at %d, room %d", ErrOutOfFrame, r.lastIdx, r.lastIdx*r.chunk+n, len(r.dst))
	}
	r.held = false
	copy(r.dst[off:], r.pending[:n])
	r.extent = max(r.extent, off+n)
	return nil
}

// fit returns the offset of packet i of n bytes if it fits in dst. The test
// divides rather than multiplies so that no index can overflow it.
func (r *Reassembler) fit(i, chunk, n int) (int, bool) {
	room := len(r.dst)
	if n > room || (i > 0 && i > (room-n)/chunk) {
		return 0, false
	}
	return i * chunk, true
}

// accept records packet i and copies it to off (off < 0: held aside).
func (r *Reassembler) accept(h Header, i, off int, data []byte) {
	if r.received == 0 {
		r.frame, r.interlace = h.Frame, h.Interlace
	}
	r.arrived[i/64] |= 1 << (i % 64)
	r.received++
	r.maxIdx = max(r.maxIdx, i)
	if h.Last {
		r.lastIdx, r.lastLen = i, len(data)
	}
	if off >= 0 {
		copy(r.dst[off:], data)
		r.extent = max(r.extent, off+len(data))
	}
}

func (r *Reassembler) has(i int) bool { return r.arrived[i/64]&(1<<(i%64)) != 0 }

// breakf marks the unit broken and returns an ErrMalformed with detail.
func (r *Reassembler) breakf(format string, args ...any) error {
	r.broken = true
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Complete reports whether the unit is whole: its L packet and every packet
// before it are in dst, and nothing contradicted them.
func (r *Reassembler) Complete() bool {
	return !r.broken && r.lastIdx >= 0 && !r.held && r.received == r.lastIdx+1
}

// Broken reports whether a packet contradicted the unit's layout; a broken
// unit never completes.
func (r *Reassembler) Broken() bool { return r.broken }

// Len returns the codestream bytes of the unit when it is Complete, and
// otherwise the end of the furthest byte written so far.
func (r *Reassembler) Len() int { return r.extent }

// Received returns how many distinct packets of the unit were accepted.
func (r *Reassembler) Received() int { return r.received }

// Missing returns how many packets are known to be missing: the gaps below
// the highest index seen, plus one while the L packet has not arrived (so
// before it arrives this is a lower bound).
func (r *Reassembler) Missing() int {
	m := r.maxIdx + 1 - r.received
	if r.lastIdx < 0 {
		m++
	}
	return m
}

// Frame returns the F counter of the unit (valid once a packet arrived).
func (r *Reassembler) Frame() uint8 { return r.frame }

// Interlace returns the I field of the unit (valid once a packet arrived).
func (r *Reassembler) Interlace() uint8 { return r.interlace }
