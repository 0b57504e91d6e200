package netio

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message with its padding.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	copy(putCmsgHdr(b, level, typ, len(data)), data)
	return b
}

func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func timespec(sec, nsec int64) []byte {
	return binary.NativeEndian.AppendUint64(binary.NativeEndian.AppendUint64(nil, uint64(sec)), uint64(nsec))
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// rxCmsgCases drive TestParseRxCmsgs and seed FuzzParseCmsgs.
var rxCmsgCases = []struct {
	name string
	b    []byte
	want rxMeta
}{
	{"empty", nil, rxMeta{}},
	{"gro", cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(1200)), rxMeta{gro: 1200}},
	{"negative gro", cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(0xffffffff)), rxMeta{}},
	{"all three", cat(
		cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, timespec(1_700_000_000, 5)),
		cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, ne32(7)),
		cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(1220)),
	), rxMeta{gro: 1220, at: 1_700_000_000_000_000_005, drops: 7, hasDrops: true}},
	{"timestamp new", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, timespec(2, 3)), rxMeta{at: 2_000_000_003}},
	{"timestamp 32-bit", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, cat(ne32(2), ne32(3))), rxMeta{at: 2_000_000_003}},
	{"unknown skipped", cat(cmsg(unix.SOL_IP, unix.IP_TTL, ne32(64)), cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(9))), rxMeta{gro: 9}},
	{"short data ignored", cmsg(unix.SOL_UDP, unix.UDP_GRO, []byte{1, 2}), rxMeta{}},
	{"truncated header", cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(9))[:cmsgHdrLen-1], rxMeta{}},
	{"length past end", cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(9))[:cmsgHdrLen+2], rxMeta{}},
	{"length below header", func() []byte {
		b := cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(9))
		b[0], b[1], b[2], b[3] = 3, 0, 0, 0 // 3 little-endian; far past the end big-endian
		return b
	}(), rxMeta{}},
	{"garbage after", cat(cmsg(unix.SOL_UDP, unix.UDP_GRO, ne32(9)), []byte{0xff, 0xff, 0xff}), rxMeta{gro: 9}},
}

func TestParseRxCmsgs(t *testing.T) {
	t.Parallel()
	for _, tt := range rxCmsgCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseRxCmsgs(tt.b); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrQueue(t *testing.T) {
	t.Parallel()
	ee := make([]byte, sizeofSockExtendedErr)
	ee[4] = unix.SO_EE_ORIGIN_TXTIME
	tests := []struct {
		name   string
		b      []byte
		origin uint8
		ok     bool
	}{
		{"txtime", cmsg(unix.SOL_IP, unix.IP_RECVERR, ee), unix.SO_EE_ORIGIN_TXTIME, true},
		{"after other", cat(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, ne32(1)), cmsg(unix.SOL_IP, unix.IP_RECVERR, ee)), unix.SO_EE_ORIGIN_TXTIME, true},
		{"short", cmsg(unix.SOL_IP, unix.IP_RECVERR, ee[:8]), 0, false},
		{"none", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if origin, ok := parseErrQueue(tt.b); origin != tt.origin || ok != tt.ok {
				t.Fatalf("got %d %v, want %d %v", origin, ok, tt.origin, tt.ok)
			}
		})
	}
}

func TestPutCmsgs(t *testing.T) {
	t.Parallel()
	b := make([]byte, txCtlSpace)
	n := putGSOSize(b, 1220)
	n += putTxTime(b[n:], 1<<60)
	if n > txCtlSpace {
		t.Fatalf("used %d bytes of %d", n, txCtlSpace)
	}
	l1, t1, d1, rest, ok1 := nextCmsg(b[:n])
	l2, t2, d2, _, ok2 := nextCmsg(rest)
	if !ok1 || l1 != unix.SOL_UDP || t1 != unix.UDP_SEGMENT || binary.NativeEndian.Uint16(d1) != 1220 {
		t.Fatalf("UDP_SEGMENT: %v %d %d %x", ok1, l1, t1, d1)
	}
	if !ok2 || l2 != unix.SOL_SOCKET || t2 != unix.SCM_TXTIME || binary.NativeEndian.Uint64(d2) != 1<<60 {
		t.Fatalf("SCM_TXTIME: %v %d %d %x", ok2, l2, t2, d2)
	}
	// The lengths are exactly what the kernel checks (CMSG_LEN of the
	// value), or it answers EINVAL.
	if len(d1) != 2 || len(d2) != 8 {
		t.Fatalf("data lengths %d, %d", len(d1), len(d2))
	}
}

func TestParseSockaddr(t *testing.T) {
	t.Parallel()
	sa := make([]byte, sockaddrSize)
	binary.NativeEndian.PutUint16(sa, unix.AF_INET)
	binary.BigEndian.PutUint16(sa[2:], 5004)
	copy(sa[4:], []byte{10, 9, 0, 1})
	tests := []struct {
		name string
		b    []byte
		want netip.AddrPort
	}{
		{"inet", sa, netip.MustParseAddrPort("10.9.0.1:5004")},
		{"short", sa[:7], netip.AddrPort{}},
		{"other family", append([]byte{0, 0}, sa[2:]...), netip.AddrPort{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseSockaddr(tt.b); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzParseCmsgs feeds arbitrary control bytes (what a kernel of another
// version, or a bug, might hand over) to every control parser: they must
// not panic, the walk must make progress and stay inside the input, and
// the GRO size is never negative.
func FuzzParseCmsgs(f *testing.F) {
	for _, tc := range rxCmsgCases {
		f.Add(tc.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseRxCmsgs(b)
		if m.gro < 0 {
			t.Fatalf("gro %d", m.gro)
		}
		parseErrQueue(b)
		parseSockaddr(b)
		for rest, steps := b, 0; ; steps++ {
			_, _, data, next, ok := nextCmsg(rest)
			if !ok {
				break
			}
			if len(next) >= len(rest) || len(data) > len(rest) || steps > len(b) {
				t.Fatalf("no progress: %d → %d bytes", len(rest), len(next))
			}
			rest = next
		}
	})
}
