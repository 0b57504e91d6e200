package netio

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// batchSys is the kernel-facing half of a Batch: one iovec per part, one
// message header and control area per packet (a GSO run uses one message
// for several packets), and the state of the Send in progress, which the
// preallocated write callback reads — a closure built per Send would
// escape into syscall.RawConn and allocate.
type batchSys struct {
	iovs []unix.Iovec
	msgs []unix.Mmsghdr
	ctl  []byte  // txCtlSpace bytes per message
	ends []int32 // ends[k]: one past the last packet of message k

	write func(fd uintptr) bool // s.writeMsgs, bound once

	// The Send in progress.
	mode  Mode
	nmsg  int // messages prepared
	m     int // messages sent
	pkts  int // packets sent
	bytes int // bytes sent
	calls int // syscalls made
	errno syscall.Errno
}

func (s *batchSys) init(maxPackets, maxIovs int) {
	s.iovs = make([]unix.Iovec, maxIovs)
	s.msgs = make([]unix.Mmsghdr, maxPackets)
	s.ctl = make([]byte, maxPackets*txCtlSpace)
	s.ends = make([]int32, maxPackets)
	s.write = s.writeMsgs
}

func (s *batchSys) setIov(k int, p []byte) {
	s.iovs[k].Base = &p[0]
	s.iovs[k].SetLen(len(p))
}

func (s *batchSys) clear(n int) {
	clear(s.iovs[:n])
}

// Send sends b's packets with mode and returns how many were sent. txTime
// is the launch time (TAI ns, 0 = none) put in SCM_TXTIME when the Conn
// has TxTime on — per GSO run, or per packet for the other modes — unless
// a packet has its own (AddAt). It waits through the poller while the
// socket buffer is full, up to the write deadline.
//
// If a GSO send fails with EIO (the route cannot offload — IPsec,
// UDP-Lite; see udp_send_skb), GSO is turned off for the socket, the rest
// of the batch is re-sent with sendmmsg, Stats.GSOFallbacks counts it, and
// this call returns every packet sent with an error wrapping
// ErrGSODisabled: a warning for the log, once per socket. On any other
// error the count tells how many packets left before it. The batch is
// left as it was, ready to be sent again or Reset.
func (c *Conn) Send(b *Batch, mode Mode, txTime int64) (int, error) {
	if b.n == 0 {
		return 0, nil
	}
	s := &b.sys
	s.pkts, s.bytes, s.calls = 0, 0, 0
	if mode == SendGSO && !c.gso.Load() {
		mode = SendMmsg
	}
	err := c.send(b, mode, txTime)
	var warn error
	if err == nil && s.errno == unix.EIO && mode == SendGSO {
		c.stats.gsoFallbacks.Add(1)
		if c.gso.CompareAndSwap(true, false) {
			warn = fmt.Errorf("%w on %v: %w", ErrGSODisabled, c.local, os.NewSyscallError("sendmmsg", s.errno))
		}
		err = c.send(b, SendMmsg, txTime)
	}
	c.stats.syscalls.Add(uint64(s.calls))
	c.stats.packets.Add(uint64(s.pkts))
	c.stats.bytes.Add(uint64(s.bytes))
	if err == nil && s.errno != 0 {
		op := "sendmmsg"
		if s.mode == SendEach {
			op = "sendmsg"
		}
		err = os.NewSyscallError(op, s.errno)
	}
	switch {
	case err != nil && warn != nil:
		return s.pkts, fmt.Errorf("%w (after re-sending: %w)", warn, err)
	case err != nil:
		return s.pkts, fmt.Errorf("netio: send: %w", err)
	}
	return s.pkts, warn
}

// send prepares the messages for the packets not yet sent and writes them
// through the poller. It returns the poller's error (closed, deadline);
// a syscall error is left in b.sys.errno.
func (c *Conn) send(b *Batch, mode Mode, txTime int64) error {
	s := &b.sys
	s.mode, s.nmsg, s.m, s.errno = mode, 0, 0, 0
	for i := s.pkts; i < b.n; {
		end, seg := i+1, 0
		if mode == SendGSO {
			if end, seg = b.gsoRun(i); end-i == 1 {
				seg = 0 // a lone packet needs no segmentation
			}
		}
		k := s.nmsg
		h := &s.msgs[k].Hdr
		*h = unix.Msghdr{}
		if lo, hi := b.first[i], b.first[end]; hi > lo {
			h.Iov = &s.iovs[lo]
			h.SetIovlen(int(hi - lo))
		}
		ctl := s.ctl[k*txCtlSpace : (k+1)*txCtlSpace]
		n := 0
		if seg > 0 {
			n += putGSOSize(ctl, seg)
		}
		if c.txTime {
			t := b.at[i]
			if t == 0 {
				t = txTime
			}
			if t != 0 {
				n += putTxTime(ctl[n:], t)
			}
		}
		if n > 0 {
			h.Control = &ctl[0]
			h.SetControllen(n)
		}
		s.ends[k] = int32(end)
		s.nmsg++
		i = end
	}
	return c.rc.Write(s.write)
}

// writeMsgs is the rc.Write callback: it sends until done, an error, or
// EAGAIN, on which it returns false so the poller waits for room.
func (s *batchSys) writeMsgs(fd uintptr) bool {
	for s.m < s.nmsg {
		var r int
		var errno syscall.Errno
		if s.mode == SendEach {
			r, errno = sendmsg(fd, &s.msgs[s.m].Hdr)
		} else {
			r, errno = sendmmsg(fd, s.msgs[s.m:s.nmsg])
		}
		s.calls++
		switch errno {
		case 0:
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			s.errno = errno
			return true
		}
		if s.mode == SendEach {
			s.bytes += r
			s.m++
		} else {
			if r <= 0 {
				return false // not seen in practice; wait rather than spin
			}
			for _, m := range s.msgs[s.m : s.m+r] {
				s.bytes += int(m.Len)
			}
			s.m += r
		}
		s.pkts = int(s.ends[s.m-1])
	}
	return true
}
