package rtp

// SeqExtender extends 16-bit RTP sequence numbers to 32 bits by counting
// wraps, in the manner of RFC 3550 appendix A.1, for payload formats
// without an extended sequence number field (ST 2110-22, ST 2110-30; §1).
//
// Extend returns the 32-bit value nearest the highest value seen so far:
// a sequence number up to 32767 ahead moves the highest value forward
// (across a wrap into the next cycle), one up to 32768 behind is a late or
// reordered packet and maps below the highest value, never into the next
// cycle. The first packet defines cycle 0, so a packet older than the first
// maps just below 2^32: compare extended values in serial arithmetic
// (int32(a-b) < 0 means a is older), as with the RTP timestamp.
//
// Unlike RFC 3550 A.1 there is no probation and no resynchronisation on a
// big jump: a jump of 32768 or more is read as a late packet. A receiver
// that sees a source restart (new SSRC) calls Reset. The zero value is
// ready to use; a SeqExtender is not safe for concurrent use.
type SeqExtender struct {
	highest uint32 // highest extended value returned so far
	started bool
}

// Extend returns the 32-bit extension of seq; its low 16 bits are seq.
func (s *SeqExtender) Extend(seq uint16) uint32 {
	if !s.started {
		s.started = true
		s.highest = uint32(seq)
		return s.highest
	}
	// The signed 16-bit distance from the highest value picks the nearest
	// 32-bit value; -32768 (exactly half a cycle) counts as behind.
	d := int32(int16(seq - uint16(s.highest)))
	v := s.highest + uint32(d)
	if d > 0 {
		s.highest = v
	}
	return v
}

// Reset forgets the history: the next Extend starts cycle 0 again.
func (s *SeqExtender) Reset() { *s = SeqExtender{} }
