package netio

import "net/netip"

// Message is one received message: a datagram or, with GRO, several
// datagrams of one flow coalesced by the kernel, each SegSize bytes but the
// last, which may be shorter (udp_gro_receive).
type Message struct {
	// Buf is the bytes received; it aliases the RecvBatch and is valid
	// until the batch's next Recv.
	Buf []byte
	// SegSize is the GRO segment size; 0 or ≥ len(Buf) means Buf is one
	// datagram.
	SegSize int
	// From is the sender's address.
	From netip.AddrPort
	// At is the arrival time (ns since the Unix epoch, CLOCK_REALTIME)
	// when Config.Timestamps is on, else 0. With GRO it is the first
	// datagram's.
	At int64
}

// NumSegments returns how many datagrams m holds (at least 1: a Message
// may be one empty datagram).
func (m Message) NumSegments() int {
	seg := m.SegSize
	if seg <= 0 || seg >= len(m.Buf) {
		return 1
	}
	return (len(m.Buf) + seg - 1) / seg
}

// Segment returns datagram i of m, aliasing Buf, or nil when i is not in
// [0, NumSegments()).
func (m Message) Segment(i int) []byte {
	seg := m.SegSize
	if seg <= 0 || seg >= len(m.Buf) {
		if i != 0 {
			return nil
		}
		return m.Buf
	}
	if i < 0 || i >= m.NumSegments() {
		return nil
	}
	off := i * seg
	return m.Buf[off:min(off+seg, len(m.Buf))]
}

// RecvBatch is caller-owned receive scratch: n buffers of bufSize bytes
// and their message headers, allocated by NewRecvBatch; Conn.Recv
// allocates nothing. With GRO on use 64 KiB buffers, or coalesced messages
// are cut short (Stats.Truncated). A RecvBatch is used by one goroutine at
// a time.
type RecvBatch struct {
	bufSize int
	buf     []byte
	out     []Message
	sys     recvSys
}

// NewRecvBatch returns a RecvBatch of n buffers (1..1024) of bufSize bytes
// (0 or less: 64 KiB).
func NewRecvBatch(n, bufSize int) *RecvBatch {
	n = min(max(n, 1), maxIov)
	if bufSize <= 0 {
		bufSize = 1 << 16
	}
	rb := &RecvBatch{
		bufSize: bufSize,
		buf:     make([]byte, n*bufSize),
		out:     make([]Message, n),
	}
	rb.sys.init(rb.buf, n, bufSize)
	return rb
}
