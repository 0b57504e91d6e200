package memif

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSlaveLayout checks region 0 byte for byte against memif.md §12 (x86-64
// layout, C = 64): N = 16, B = 8 MiB, one ring per direction, and the
// observed index sequence.
func TestSlaveLayout(t *testing.T) {
	checkLeaks(t)
	const B = 0x800000
	m, s := pair(t, Config{}, Config{SocketPath: sockPath(t), Log2RingSize: 4, BufferSize: B, CacheLine: 64})
	regs := s.Regions()
	if len(regs) != 2 || len(regs[0].Data) != 768 || len(regs[1].Data) != 0x10000000 {
		t.Fatalf("regions: %d, sizes %d %d", len(regs), len(regs[0].Data), len(regs[1].Data))
	}
	r0 := regs[0].Data
	u16 := func(off int) uint16 { return binary.LittleEndian.Uint16(r0[off:]) }
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(r0[off:]) }
	for _, off := range []int{0x000, 0x180} {
		if !bytes.Equal(r0[off:off+4], []byte{0x20, 0x1f, 0xe3, 0x03}) {
			t.Errorf("cookie at %#x: % x", off, r0[off:off+4])
		}
	}
	if got, want := r0[0x80+3*16:0x80+4*16], []byte{0, 0, 1, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 1, 0, 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("S2M desc[3] = % x, want % x", got, want)
	}
	for j := range 16 {
		if s2m := 0x80 + 16*j; u16(s2m+2) != 1 || u32(s2m+4) != B || u32(s2m+8) != uint32(j*B) {
			t.Errorf("S2M desc[%d] % x", j, r0[s2m:s2m+16])
		}
		if m2s := 0x200 + 16*j; u16(m2s+2) != 1 || u32(m2s+4) != B || u32(m2s+8) != uint32(0x8000000+j*B) {
			t.Errorf("M2S desc[%d] % x", j, r0[m2s:m2s+16])
		}
	}
	// After CONNECTED all indexes are 0 and the slave offered its M2S
	// buffers: M2S head 16.
	if u16(0x06) != 0 || u16(0x40) != 0 || u16(0x186) != 16 || u16(0x1c0) != 0 {
		t.Fatalf("indexes: S2M head %d tail %d, M2S head %d tail %d", u16(0x06), u16(0x40), u16(0x186), u16(0x1c0))
	}
	if u16(0x04) != 0 || u16(0x184) != 0 {
		t.Fatalf("flags %d %d: interrupt mode has no MASK_INT", u16(0x04), u16(0x184))
	}
	// Slave sends 100 bytes → S2M desc[0].length 100, S2M head 1.
	if err := s.Tx(0).Send(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if u32(0x80+4) != 100 || u16(0x06) != 1 {
		t.Fatalf("after send: length %d head %d", u32(0x84), u16(0x06))
	}
	// Master consumes and returns → S2M tail 1.
	if _, _, err := m.Rx(0).Next(); err != nil {
		t.Fatal(err)
	}
	m.Rx(0).Release(1)
	if u16(0x40) != 1 {
		t.Fatalf("S2M tail %d", u16(0x40))
	}
	// Master sends 50 bytes → M2S desc[0].length 50, M2S tail 1.
	if err := m.Tx(0).Send(make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	if u32(0x200+4) != 50 || u16(0x1c0) != 1 {
		t.Fatalf("M2S length %d tail %d", u32(0x204), u16(0x1c0))
	}
	b, more, err := s.Rx(0).Next()
	if err != nil || len(b) != 50 || more {
		t.Fatalf("slave rx %d %v %v", len(b), more, err)
	}
	s.Rx(0).Release(1)
	if u16(0x186) != 17 || u32(0x200+4) != B {
		t.Fatalf("refill: M2S head %d desc[0].length %d", u16(0x186), u32(0x204))
	}
}

// TestSlaveWire drives Dial against a scripted master and compares every
// message the slave sends with the bytes of memif.md §12.
func TestSlaveWire(t *testing.T) {
	checkLeaks(t)
	p := sockPath(t)
	ul, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: p, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	dialErr := make(chan error, 1)
	go func() {
		_, err := Dial(t.Context(), Config{SocketPath: p, Name: mcmName, Log2RingSize: 4, BufferSize: 0x800000, CacheLine: 64})
		dialErr <- err
	}()
	_ = ul.SetDeadline(time.Now().Add(5 * time.Second))
	uc, err := ul.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
	send := func(b []byte) {
		t.Helper()
		if _, err := uc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() ([]byte, int) {
		t.Helper()
		b, oob := make([]byte, 256), make([]byte, 256)
		n, oobn, _, _, err := uc.ReadMsgUnix(b, oob)
		if err != nil {
			t.Fatal(err)
		}
		fds, err := takeFDs(oob[:oobn])
		if err != nil || len(fds) > 1 {
			t.Fatalf("fds %v %v", fds, err)
		}
		fd := -1
		if len(fds) == 1 {
			fd = fds[0]
			t.Cleanup(func() { _ = unix.Close(fd) })
		}
		return b[:n], fd
	}
	expect := func(name string, want []byte, wantFD bool) int {
		t.Helper()
		b, fd := recv()
		if !bytes.Equal(b, want) {
			t.Fatalf("%s:\n got % x\nwant % x", name, b, want)
		}
		if (fd >= 0) != wantFD {
			t.Fatalf("%s: fd %d", name, fd)
		}
		return fd
	}
	ack := vec(t, "0000: 01 00")
	send(vec(t,
		"0000: 02 00 6d 65 6d 69 66 5f 74 78 5f 35 61 31 62 38",
		"0010: 63 33 64 2d 32 65 34 66 2d 34 61 36 62 2d 38 63",
		"0020: 37 00 00 02 00 02 ff 00 ff 00 ff 00 0e"))
	expect("INIT", vec(t,
		"0000: 03 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00",
		"0020: 00 6d 65 6d 69 66 5f 74 78 5f 35 61 31 62 38 63",
		"0030: 33 64 2d 32 65 34 66 2d 34 61 36 62 2d 38 63 37"), false)
	send(ack)
	fd := expect("ADD_REGION 0", vec(t, "0000: 04 00 00 00 00 03 00 00 00 00 00 00"), true)
	if seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0); err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		t.Errorf("region 0 seals %#x %v", seals, err)
	}
	send(ack)
	expect("ADD_REGION 1", vec(t, "0000: 04 00 01 00 00 00 00 10 00 00 00 00"), true)
	send(ack)
	fd = expect("ADD_RING S2M", vec(t, "0000: 05 00 01 00 00 00 00 00 00 00 00 00 04 00 00"), true)
	if !isEventfd(fd) {
		t.Error("S2M ring fd is not an eventfd")
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&syscall.O_NONBLOCK == 0 {
		t.Errorf("eventfd flags %#x %v: want EFD_NONBLOCK", fl, err)
	}
	send(ack)
	expect("ADD_RING M2S", vec(t, "0000: 05 00 00 00 00 00 00 00 80 01 00 00 04 00 00"), true)
	send(ack)
	connect := vec(t, "0000: 06 00")
	copy(connect[2:], mcmName)
	expect("CONNECT", connect, false)
	// Refuse, with the §12 DISCONNECT bytes.
	send(vec(t, "0000: 08 00 00 00 00 00 69 6e 63 6f 6d 70 61 74 69 62 6c 65 20 76 65 72 73 69 6f 6e 00"))
	err = <-dialErr
	var de *DisconnectError
	if !errors.As(err, &de) || de.Reason != "incompatible version" || !de.Remote {
		t.Fatalf("dial: %v", err)
	}
}
