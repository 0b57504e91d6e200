package memif

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oobSize receives SCM_RIGHTS with one fd plus SCM_CREDENTIALS (56 bytes
// on 64-bit Linux, memif.md §3), with room for a peer that sends several
// fds: those are received, counted and closed rather than truncated away.
const oobSize = 256

// ctrlConn reads and writes whole control messages with at most one fd.
// One goroutine at a time reads; writes may come from any goroutine (the
// socket serialises datagrams).
type ctrlConn struct {
	uc  *net.UnixConn
	buf [MsgSize + 1]byte // one byte more than a message, to see oversize ones
	oob [oobSize]byte
}

// recv reads one datagram before deadline (zero: none). It returns the raw
// message (aliasing cc.buf, valid until the next recv) and at most one fd,
// which the caller owns (-1 if none). Every other fd is closed here; on
// error no fd is returned. A 0-byte read is the peer's orderly close.
func (cc *ctrlConn) recv(deadline time.Time) ([]byte, int, error) {
	if err := cc.uc.SetReadDeadline(deadline); err != nil {
		return nil, -1, sockErr(err)
	}
	n, oobn, flags, _, err := cc.uc.ReadMsgUnix(cc.buf[:], cc.oob[:])
	fds, ferr := takeFDs(cc.oob[:oobn])
	switch {
	case err != nil:
		closeFDs(fds)
		return nil, -1, sockErr(err)
	case ferr != nil:
		closeFDs(fds)
		return nil, -1, ferr
	case flags&unix.MSG_CTRUNC != 0:
		closeFDs(fds)
		return nil, -1, fmt.Errorf("%w: control data truncated", ErrMessage)
	case len(fds) > 1:
		closeFDs(fds)
		return nil, -1, fmt.Errorf("%w: %d fds in one message, at most 1", ErrMessage, len(fds))
	case n == 0:
		closeFDs(fds)
		return nil, -1, &DisconnectError{Remote: true, Err: io.EOF}
	case n > MsgSize || flags&unix.MSG_TRUNC != 0:
		closeFDs(fds)
		return nil, -1, fmt.Errorf("%w: more than %d bytes", ErrMessage, MsgSize)
	case n != MsgSize:
		closeFDs(fds)
		return nil, -1, fmt.Errorf("%w: %d bytes, want %d", ErrMessage, n, MsgSize)
	}
	fd := -1
	if len(fds) == 1 {
		fd = fds[0]
	}
	return cc.buf[:n], fd, nil
}

// send writes m, with fd when fd ≥ 0 (the fd stays the caller's).
func (cc *ctrlConn) send(m Message, fd int, deadline time.Time) error {
	var b [MsgSize]byte
	if _, err := m.MarshalTo(b[:]); err != nil {
		return err
	}
	var oob []byte
	if fd >= 0 {
		oob = syscall.UnixRights(fd)
	}
	if err := cc.uc.SetWriteDeadline(deadline); err != nil {
		return sockErr(err)
	}
	if _, _, err := cc.uc.WriteMsgUnix(b[:], oob, nil); err != nil {
		return fmt.Errorf("send %s: %w", m.Type(), sockErr(err))
	}
	return nil
}

// sendDisconnect tells the peer why the link ends; best effort, bounded.
func (cc *ctrlConn) sendDisconnect(reason string) {
	_ = cc.send(&Disconnect{Reason: reason}, -1, time.Now().Add(100*time.Millisecond))
}

// sockErr maps socket errors onto the package's sentinels.
func sockErr(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: handshake timed out", ErrTimeout)
	case errors.Is(err, net.ErrClosed):
		return ErrClosed
	}
	return &DisconnectError{Remote: true, Err: err}
}

// takeFDs returns every fd carried by SCM_RIGHTS in oob. Control data the
// kernel built is well formed; if it is not, the error comes with nothing
// to close (nothing could be parsed).
func takeFDs(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("%w: control data: %v", ErrMessage, err)
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != syscall.SOL_SOCKET || msgs[i].Header.Type != syscall.SCM_RIGHTS {
			continue // SCM_CREDENTIALS from a peer that set SO_PASSCRED
		}
		got, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, fmt.Errorf("%w: SCM_RIGHTS: %v", ErrMessage, err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

func closeFD(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}
