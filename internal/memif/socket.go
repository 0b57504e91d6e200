package memif

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oobSize fits SCM_RIGHTS with one fd and SCM_CREDENTIALS (memif.md §3),
// with room for a peer that sends more fds than allowed (they are closed).
const oobSize = 256

// closeFDs closes every fd carried by control data.
func closeFDs(oob []byte) {
	for _, fd := range parseFDs(oob) {
		_ = unix.Close(fd)
	}
}

func parseFDs(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != syscall.SOL_SOCKET || m.Header.Type != syscall.SCM_RIGHTS {
			continue
		}
		got, err := syscall.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// ctrlConn reads and writes whole control messages with their fd.
type ctrlConn struct {
	c   *net.UnixConn
	buf [MsgSize + 1]byte
	oob [oobSize]byte
}

// recv reads one message. It returns at most one fd; any other fd that
// arrived is closed. The caller owns the returned fd (-1 if none).
func (cc *ctrlConn) recv(deadline time.Time) (Message, int, error) {
	_ = cc.c.SetReadDeadline(deadline)
	n, oobn, _, _, err := cc.c.ReadMsgUnix(cc.buf[:], cc.oob[:])
	fds := parseFDs(cc.oob[:oobn])
	fd := -1
	if len(fds) > 0 {
		fd = fds[0]
		for _, extra := range fds[1:] {
			_ = unix.Close(extra)
		}
	}
	if err != nil {
		closeFD(fd)
		if errors.Is(err, errTimeoutNet) || isTimeout(err) {
			return nil, -1, fmt.Errorf("%w: handshake timed out", ErrTimeout)
		}
		return nil, -1, fmt.Errorf("%w: control socket: %v", ErrDisconnected, err)
	}
	if n == 0 {
		closeFD(fd)
		return nil, -1, &DisconnectError{Reason: "peer closed the socket", Remote: true}
	}
	m, err := ParseMessage(cc.buf[:n])
	if err != nil {
		closeFD(fd)
		return nil, -1, err
	}
	return m, fd, nil
}

var errTimeoutNet = errors.New("timeout")

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// send writes one message, with fd when fd ≥ 0.
func (cc *ctrlConn) send(m Message, fd int) error {
	var b [MsgSize]byte
	if _, err := m.MarshalTo(b[:]); err != nil {
		return err
	}
	var oob []byte
	if fd >= 0 {
		oob = syscall.UnixRights(fd)
	}
	_ = cc.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := cc.c.WriteMsgUnix(b[:], oob, nil); err != nil {
		return fmt.Errorf("%w: send %s: %v", ErrDisconnected, m.Type(), err)
	}
	return nil
}

func closeFD(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

// remoteDisconnect turns a received DISCONNECT into an error.
func remoteDisconnect(m Message) error {
	if d, ok := m.(*Disconnect); ok {
		return &DisconnectError{Reason: d.Reason, Remote: true}
	}
	return nil
}
