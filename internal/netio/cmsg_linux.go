package netio

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Control messages (cmsg(3)) are read and written as bytes in native byte
// order, not by casting *unix.Cmsghdr onto the buffer: that keeps the
// parser safe on any input (it is fuzzed) and free of alignment
// assumptions. A cmsghdr is {len size_t; level, type int32}; each message
// starts at a multiple of the pointer size (CMSG_ALIGN).
const (
	cmsgHdrLen  = unix.SizeofCmsghdr
	cmsgLenSize = unix.SizeofCmsghdr - 8 // size_t: 8 on 64-bit, 4 on 32-bit
)

// Control space per message: UDP_SEGMENT (u16) plus SCM_TXTIME (u64) on
// send; UDP_GRO (int), SO_RXQ_OVFL (u32) and a timespec on receive, with
// room to spare so the kernel never sets MSG_CTRUNC and drops the GRO size.
const (
	txCtlSpace = 2*cmsgHdrLen + 16 // ≥ CmsgSpace(2) + CmsgSpace(8) on 32- and 64-bit
	rxCtlSpace = 128               // 80 bytes used on 64-bit
)

// sizeofSockExtendedErr is sizeof(struct sock_extended_err).
const sizeofSockExtendedErr = 16

func cmsgAlign(n int) int { return (n + unix.SizeofPtr - 1) &^ (unix.SizeofPtr - 1) }

// putCmsgHdr writes a header for dataLen bytes of data into b, which must
// hold unix.CmsgSpace(dataLen) bytes, and returns the data slice.
func putCmsgHdr(b []byte, level, typ int32, dataLen int) []byte {
	l := unix.CmsgLen(dataLen)
	if cmsgLenSize == 8 {
		binary.NativeEndian.PutUint64(b, uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(l))
	}
	binary.NativeEndian.PutUint32(b[cmsgLenSize:], uint32(level))
	binary.NativeEndian.PutUint32(b[cmsgLenSize+4:], uint32(typ))
	return b[cmsgHdrLen:l]
}

// putGSOSize writes UDP_SEGMENT (u16 segment size, udp_cmsg_send) into b
// and returns the space used.
func putGSOSize(b []byte, seg int) int {
	binary.NativeEndian.PutUint16(putCmsgHdr(b, unix.SOL_UDP, unix.UDP_SEGMENT, 2), uint16(seg))
	return unix.CmsgSpace(2)
}

// putTxTime writes SCM_TXTIME (u64 launch time in ns of the socket's
// SO_TXTIME clock) into b and returns the space used.
func putTxTime(b []byte, t int64) int {
	binary.NativeEndian.PutUint64(putCmsgHdr(b, unix.SOL_SOCKET, unix.SCM_TXTIME, 8), uint64(t))
	return unix.CmsgSpace(8)
}

// nextCmsg splits the first control message off b. ok is false when b
// holds no complete message (a short or inconsistent header ends the walk).
func nextCmsg(b []byte) (level, typ int32, data, rest []byte, ok bool) {
	if len(b) < cmsgHdrLen {
		return 0, 0, nil, nil, false
	}
	var l uint64
	if cmsgLenSize == 8 {
		l = binary.NativeEndian.Uint64(b)
	} else {
		l = uint64(binary.NativeEndian.Uint32(b))
	}
	if l < cmsgHdrLen || l > uint64(len(b)) {
		return 0, 0, nil, nil, false
	}
	level = int32(binary.NativeEndian.Uint32(b[cmsgLenSize:]))
	typ = int32(binary.NativeEndian.Uint32(b[cmsgLenSize+4:]))
	data = b[cmsgHdrLen:l]
	if next := cmsgAlign(int(l)); next < len(b) {
		rest = b[next:]
	}
	return level, typ, data, rest, true
}

// rxMeta is what the receive control messages say about one message.
type rxMeta struct {
	gro      int    // UDP_GRO segment size, 0 = none
	at       int64  // SO_TIMESTAMPNS arrival, ns since the epoch, 0 = none
	drops    uint32 // SO_RXQ_OVFL: the socket's drop counter
	hasDrops bool   // the kernel attaches it only once drops happened
}

// parseRxCmsgs reads UDP_GRO, SO_RXQ_OVFL and SO_TIMESTAMPNS out of the
// control bytes of one received message, skipping anything else.
func parseRxCmsgs(b []byte) rxMeta {
	var m rxMeta
	for {
		level, typ, data, rest, ok := nextCmsg(b)
		if !ok {
			return m
		}
		b = rest
		switch {
		case level == unix.SOL_UDP && typ == unix.UDP_GRO && len(data) >= 4:
			// udp_cmsg_recv puts an int.
			m.gro = max(int(int32(binary.NativeEndian.Uint32(data))), 0)
		case level == unix.SOL_SOCKET && typ == unix.SO_RXQ_OVFL && len(data) >= 4:
			m.drops, m.hasDrops = binary.NativeEndian.Uint32(data), true
		case level == unix.SOL_SOCKET && (typ == unix.SO_TIMESTAMPNS_OLD || typ == unix.SO_TIMESTAMPNS_NEW):
			// A timespec: two 64-bit words on 64-bit kernels and for the
			// _NEW option, two 32-bit words for _OLD on 32-bit ones.
			switch {
			case len(data) >= 16:
				m.at = int64(binary.NativeEndian.Uint64(data))*1e9 + int64(binary.NativeEndian.Uint64(data[8:]))
			case len(data) >= 8:
				m.at = int64(int32(binary.NativeEndian.Uint32(data)))*1e9 + int64(int32(binary.NativeEndian.Uint32(data[4:])))
			}
		}
	}
}

// parseErrQueue returns the origin of the sock_extended_err of one
// MSG_ERRQUEUE message (ip_recv_error puts it as SOL_IP/IP_RECVERR).
func parseErrQueue(b []byte) (origin uint8, ok bool) {
	for {
		level, typ, data, rest, more := nextCmsg(b)
		if !more {
			return 0, false
		}
		b = rest
		if level == unix.SOL_IP && typ == unix.IP_RECVERR && len(data) >= sizeofSockExtendedErr {
			return data[4], true // {u32 errno; u8 origin; ...}
		}
	}
}
