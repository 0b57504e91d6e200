package netio

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockaddrSize is sizeof(struct sockaddr_in): {u16 family; be16 port;
// in_addr addr; u8 zero[8]}.
const sockaddrSize = unix.SizeofSockaddrInet4

// recvSys is the kernel-facing half of a RecvBatch: per buffer one iovec,
// one message header, a name and a control area, plus the state of the
// Recv in progress for the preallocated read callback.
type recvSys struct {
	msgs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []byte // sockaddrSize per message
	ctl   []byte // rxCtlSpace per message

	read func(fd uintptr) bool // s.readMsgs, bound once
	try  func(fd uintptr) bool // s.tryMsgs, bound once

	n     int
	calls int
	errno syscall.Errno
}

func (s *recvSys) init(buf []byte, n, bufSize int) {
	s.msgs = make([]unix.Mmsghdr, n)
	s.iovs = make([]unix.Iovec, n)
	s.names = make([]byte, n*sockaddrSize)
	s.ctl = make([]byte, n*rxCtlSpace)
	for i := range n {
		s.iovs[i].Base = &buf[i*bufSize]
		s.iovs[i].SetLen(bufSize)
		h := &s.msgs[i].Hdr
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
		h.Name = &s.names[i*sockaddrSize]
		h.Control = &s.ctl[i*rxCtlSpace]
	}
	s.read = s.readMsgs
	s.try = s.tryMsgs
}

// Recv waits (through the runtime poller, so Close and the read deadline
// end the wait) until at least one datagram is queued, then takes up to
// len(rb) messages with one recvmmsg. The result is rb's own Message
// array, valid until the next Recv with rb.
func (c *Conn) Recv(rb *RecvBatch) ([]Message, error) {
	return c.recv(rb, rb.sys.read)
}

// TryRecv is Recv without the wait: one recvmmsg, and an empty result when
// nothing is queued. For a reader that polls on a timer of its own (many
// sockets drained per wake-up) instead of waking per datagram.
func (c *Conn) TryRecv(rb *RecvBatch) ([]Message, error) {
	return c.recv(rb, rb.sys.try)
}

func (c *Conn) recv(rb *RecvBatch, read func(uintptr) bool) ([]Message, error) {
	s := &rb.sys
	for i := range s.msgs {
		// The kernel overwrote these with what it used last time.
		h := &s.msgs[i].Hdr
		h.Namelen = sockaddrSize
		h.SetControllen(rxCtlSpace)
		h.Flags = 0
	}
	s.n, s.calls, s.errno = 0, 0, 0
	err := c.rc.Read(read)
	c.stats.syscalls.Add(uint64(s.calls))
	if err != nil {
		return nil, fmt.Errorf("netio: recv: %w", err)
	}
	if s.errno != 0 {
		return nil, fmt.Errorf("netio: recv: %w", os.NewSyscallError("recvmmsg", s.errno))
	}
	out := rb.out[:s.n]
	pkts, bytes, trunc := 0, 0, 0
	var meta rxMeta
	drops, seen := uint32(0), false
	for i := range out {
		mm := &s.msgs[i]
		off := i * rb.bufSize
		meta = parseRxCmsgs(s.ctl[i*rxCtlSpace : i*rxCtlSpace+min(int(mm.Hdr.Controllen), rxCtlSpace)])
		out[i] = Message{
			Buf:     rb.buf[off : off+min(int(mm.Len), rb.bufSize)],
			SegSize: meta.gro,
			From:    parseSockaddr(s.names[i*sockaddrSize : i*sockaddrSize+min(int(mm.Hdr.Namelen), sockaddrSize)]),
			At:      meta.at,
		}
		if mm.Hdr.Flags&unix.MSG_TRUNC != 0 {
			trunc++
		}
		if meta.hasDrops {
			drops, seen = meta.drops, true
		}
		pkts += out[i].NumSegments()
		bytes += len(out[i].Buf)
	}
	c.stats.packets.Add(uint64(pkts))
	c.stats.bytes.Add(uint64(bytes))
	if trunc > 0 {
		c.stats.truncated.Add(uint64(trunc))
	}
	if seen {
		c.noteDrops(drops)
	}
	return out, nil
}

// noteDrops records the kernel's drop counter if it is newer than the one
// held (serial-number order, as the counter wraps at 2^32 and concurrent
// Recvs may report out of order).
func (c *Conn) noteDrops(v uint32) {
	for {
		old := c.stats.rxDrops.Load()
		if int32(v-old) <= 0 || c.stats.rxDrops.CompareAndSwap(old, v) {
			return
		}
	}
}

// readMsgs is the rc.Read callback: false on EAGAIN so the poller waits.
func (s *recvSys) readMsgs(fd uintptr) bool {
	for {
		r, errno := recvmmsg(fd, s.msgs)
		s.calls++
		switch errno {
		case 0:
			s.n = r
			return true
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			s.errno = errno
			return true
		}
	}
}

// tryMsgs is TryRecv's callback: one attempt, EAGAIN is an empty result.
func (s *recvSys) tryMsgs(fd uintptr) bool {
	if !s.readMsgs(fd) {
		s.n = 0
	}
	return true
}

// parseSockaddr reads a sockaddr_in; anything else is the zero AddrPort.
func parseSockaddr(b []byte) netip.AddrPort {
	if len(b) < 8 || binary.NativeEndian.Uint16(b) != unix.AF_INET {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
}
