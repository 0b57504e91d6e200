package memif

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rawPeer is a hand-driven slave: it sends whatever the test says.
type rawPeer struct {
	t  *testing.T
	uc *net.UnixConn
}

func dialRaw(t *testing.T, path string) *rawPeer {
	t.Helper()
	c, err := net.Dial("unixpacket", path)
	if err != nil {
		t.Fatal(err)
	}
	uc := c.(*net.UnixConn)
	_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
	p := &rawPeer{t: t, uc: uc}
	t.Cleanup(func() { _ = uc.Close() })
	if b := p.read(); b == nil || peekType(b) != MsgHello {
		t.Fatalf("want HELLO, got % x", b)
	}
	return p
}

func (p *rawPeer) send(b []byte, fds ...int) {
	p.t.Helper()
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := p.uc.WriteMsgUnix(b, oob, nil); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPeer) msg(m Message, fds ...int) {
	p.t.Helper()
	b, err := m.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(b, fds...)
}

// read returns the next message, nil at EOF.
func (p *rawPeer) read() []byte {
	p.t.Helper()
	b := make([]byte, 256)
	n, err := p.uc.Read(b)
	if err == io.EOF || n == 0 {
		return nil
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return b[:n]
}

func (p *rawPeer) ack() {
	p.t.Helper()
	if b := p.read(); b == nil || peekType(b) != MsgAck {
		p.t.Fatalf("want ACK, got % x", b)
	}
}

// hostileFD makes an fd for a test message; the test's copy is closed at
// cleanup, so only the master's copies can leak.
func hostileFD(t *testing.T, kind string, size int, seal bool) int {
	t.Helper()
	var fd int
	var err error
	switch kind {
	case "eventfd":
		fd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	case "memfd":
		fd, err = unix.MemfdCreate("hostile", unix.MFD_ALLOW_SEALING|unix.MFD_CLOEXEC)
		if err == nil {
			err = unix.Ftruncate(fd, int64(size))
		}
		if err == nil && seal {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

// ringRegion is a sealed memfd holding two rings (log2 4, C 64) with
// cookies, unless cookie is false.
func ringRegion(t *testing.T, cookie bool) int {
	t.Helper()
	rb := ringBytes(64, 4)
	fd := hostileFD(t, "memfd", 2*rb, true)
	if cookie {
		var c [4]byte
		binary.LittleEndian.PutUint32(c[:], Cookie)
		for _, off := range []int64{0, int64(rb)} {
			if _, err := unix.Pwrite(fd, c[:], off); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fd
}

// TestHostileSlave: every malformed or invalid input ends the handshake
// with a DISCONNECT naming the problem, then close; no fd leaks, no panic,
// and the interface serves the next slave.
func TestHostileSlave(t *testing.T) {
	checkLeaks(t)
	path := sockPath(t)
	l := listen(t, ListenConfig{Path: path, HandshakeTimeout: 300 * time.Millisecond})
	iface, err := l.Register(Config{ID: 1, Name: "m", NumS2M: 1, NumM2S: 1, HandshakeTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rb := uint32(ringBytes(64, 4))
	goodInit := func(p *rawPeer) { p.msg(&Init{Version: Version, ID: 1, Name: "evil"}); p.ack() }
	withRegion := func(p *rawPeer) {
		goodInit(p)
		p.msg(&AddRegion{Index: 0, Size: uint64(2 * rb)}, ringRegion(p.t, true))
		p.ack()
	}
	withRings := func(cookie bool) func(p *rawPeer) {
		return func(p *rawPeer) {
			goodInit(p)
			p.msg(&AddRegion{Index: 0, Size: uint64(2 * rb)}, ringRegion(p.t, cookie))
			p.ack()
			p.msg(&AddRing{Flags: RingFlagS2M, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
			p.ack()
			p.msg(&AddRing{Offset: rb, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
			p.ack()
		}
	}
	none := func(*rawPeer) {}
	raw := func(b []byte) []byte { return b }
	typed := func(typ uint16) []byte {
		b := make([]byte, MsgSize)
		binary.LittleEndian.PutUint16(b, typ)
		for i := 2; i < MsgSize; i++ {
			b[i] = byte(i * 7)
		}
		return b
	}
	cases := []struct {
		name   string
		setup  func(*rawPeer)
		attack func(*rawPeer)
		reason string // "" = closed without DISCONNECT
	}{
		{"unknown type", none, func(p *rawPeer) { p.send(typed(0x99)) }, "unknown message type (0x0099)"},
		{"type zero", none, func(p *rawPeer) { p.send(typed(0)) }, "unknown message type (0x0000)"},
		{"truncated", none, func(p *rawPeer) { p.send(raw(typed(3)[:50])) }, "50 bytes, want 128"},
		{"oversized", none, func(p *rawPeer) { p.send(make([]byte, 200)) }, "more than 128 bytes"},
		{"empty datagram", none, func(p *rawPeer) { p.send(nil) }, ""},
		{"region before init", none, func(p *rawPeer) {
			p.msg(&AddRegion{Size: 4096}, hostileFD(p.t, "memfd", 4096, true))
		}, "unexpected message ADD_REGION before INIT"},
		{"ack from slave", none, func(p *rawPeer) { p.msg(&Ack{}) }, "unexpected message ACK before INIT"},
		{"two fds", none, func(p *rawPeer) {
			p.msg(&Init{Version: Version, ID: 1}, hostileFD(p.t, "eventfd", 0, false), hostileFD(p.t, "eventfd", 0, false))
		}, "2 fds in one message"},
		{"bad version", none, func(p *rawPeer) { p.msg(&Init{Version: 0x0100, ID: 1}) }, "incompatible version"},
		{"unknown id", none, func(p *rawPeer) { p.msg(&Init{Version: Version, ID: 2}) }, "unmatched interface id"},
		{"mode", none, func(p *rawPeer) { p.msg(&Init{Version: Version, ID: 1, Mode: ModeIP}) }, "mode mismatch"},
		{"bad mode", none, func(p *rawPeer) { p.msg(&Init{Version: Version, ID: 1, Mode: 9}) }, "mode mismatch"},
		{"second init", goodInit, func(p *rawPeer) { p.msg(&Init{Version: Version, ID: 1}) }, "unexpected message INIT"},
		{"hello from slave", goodInit, func(p *rawPeer) { p.msg(&Hello{}) }, "unexpected message HELLO"},
		{"region without fd", goodInit, func(p *rawPeer) { p.msg(&AddRegion{Size: 4096}) }, "missing memory region fd"},
		{"region unsealed", goodInit, func(p *rawPeer) {
			p.msg(&AddRegion{Size: 4096}, hostileFD(p.t, "memfd", 4096, false))
		}, "region 0: not sealed against shrinking"},
		{"region beyond file", goodInit, func(p *rawPeer) {
			p.msg(&AddRegion{Size: 8192}, hostileFD(p.t, "memfd", 4096, true))
		}, "region 0: size 8192 exceeds the file's 4096 bytes"},
		{"region size 0", goodInit, func(p *rawPeer) {
			p.msg(&AddRegion{Size: 0}, hostileFD(p.t, "memfd", 4096, true))
		}, "region 0: size 0"},
		{"region huge", goodInit, func(p *rawPeer) {
			p.msg(&AddRegion{Size: 1 << 40}, hostileFD(p.t, "memfd", 4096, true))
		}, "above 4 GiB"},
		{"region index skips", goodInit, func(p *rawPeer) {
			p.msg(&AddRegion{Index: 1, Size: 4096}, hostileFD(p.t, "memfd", 4096, true))
		}, "unexpected region index 1, want 0"},
		{"region is eventfd", goodInit, func(p *rawPeer) {
			p.msg(&AddRegion{Size: 8}, hostileFD(p.t, "eventfd", 0, false))
		}, "region 0: fd is not a memory file"},
		{"ring without fd", withRegion, func(p *rawPeer) { p.msg(&AddRing{Flags: RingFlagS2M, Log2RingSize: 4}) }, "missing ring interrupt fd"},
		{"ring fd is memfd", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Log2RingSize: 4}, hostileFD(p.t, "memfd", 4096, true))
		}, "ring interrupt fd is not an eventfd"},
		{"ring private header", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Log2RingSize: 4, PrivateHdrSize: 8}, hostileFD(p.t, "eventfd", 0, false))
		}, "private headers not supported"},
		{"ring log2 15", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Log2RingSize: 15}, hostileFD(p.t, "eventfd", 0, false))
		}, "S2M ring 0: log2 size 15 above 14"},
		{"ring unknown region", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Region: 1, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
		}, "S2M ring 0: unknown region 1"},
		{"ring misaligned", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Offset: 2, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
		}, "S2M ring 0: offset 2 not 4-aligned"},
		{"ring does not fit", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Offset: 2 * rb, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
		}, "do not fit region 0"},
		{"ring offset overflow", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Offset: 0xfffffffc, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
		}, "do not fit region 0"},
		{"ring index skips", withRegion, func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Index: 1, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
		}, "unexpected S2M ring index 1, want 0"},
		{"too many rings", withRings(true), func(p *rawPeer) {
			p.msg(&AddRing{Flags: RingFlagS2M, Index: 1, Log2RingSize: 4}, hostileFD(p.t, "eventfd", 0, false))
		}, "too many S2M rings, at most 1"},
		{"connect without rings", withRegion, func(p *rawPeer) { p.msg(&Connect{}) }, "need a ring in each direction, got 0 S2M and 0 M2S"},
		{"wrong cookie", withRings(false), func(p *rawPeer) { p.msg(&Connect{}) }, "wrong cookie on S2M ring 0"},
		{"fd on connect", withRings(false), func(p *rawPeer) {
			p.msg(&Connect{}, hostileFD(p.t, "memfd", 4096, true))
		}, "wrong cookie on S2M ring 0"},
		{"silence", goodInit, func(*rawPeer) {}, "timeout: handshake timed out"},
		{"peer disconnects", withRegion, func(p *rawPeer) { p.msg(&Disconnect{Reason: "changed my mind"}) }, ""},
		{"peer hangs up", withRegion, func(p *rawPeer) { _ = p.uc.CloseWrite() }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Registered first, so it runs after the cleanups that close
			// the fds this subtest made: only the master's copies remain.
			fds := countFDs(t)
			t.Cleanup(func() {
				if !eventually(2*time.Second, func() bool { return countFDs(t) <= fds }) {
					t.Errorf("fd leak: %d → %d: %s", fds, countFDs(t), fdLinks())
				}
			})
			p := dialRaw(t, path)
			c.setup(p)
			c.attack(p)
			b := p.read()
			if c.reason != "" {
				var d Disconnect
				if b == nil {
					t.Fatal("closed without DISCONNECT")
				}
				if _, err := d.Unmarshal(b); err != nil || !strings.Contains(d.Reason, c.reason) {
					t.Fatalf("got %q (%v), want %q", d.Reason, err, c.reason)
				}
				b = p.read()
			}
			if b != nil {
				t.Fatalf("want EOF, got % x", b)
			}
			_ = p.uc.Close()
		})
	}
	// The interface is still usable.
	s, err := Dial(t.Context(), Config{SocketPath: path, ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := iface.Accept(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(0).Send([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_ = m.Close()
}
