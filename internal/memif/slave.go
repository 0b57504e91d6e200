package memif

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Dial connects to a master as slave: it creates the regions and rings per
// memif.md §6.4 (region 0: ring headers only, region 1: every buffer), runs
// the handshake of §5 within cfg.HandshakeTimeout (and ctx) and returns a
// linked Conn whose M2S buffers are all offered (head = N), as libmemif
// does. A master's refusal is a *DisconnectError carrying its reason.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unixpacket", cfg.SocketPath)
	if err != nil {
		return nil, fmt.Errorf("memif: connect %s: %w", cfg.SocketPath, err)
	}
	uc := nc.(*net.UnixConn)
	deadline := time.Now().Add(cfg.HandshakeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	// Cancelling ctx closes the socket, which ends any read or write.
	stop := context.AfterFunc(ctx, func() { _ = uc.Close() })
	c, err := slaveHandshake(&ctrlConn{uc: uc}, cfg, deadline)
	if !stop() && err == nil {
		_ = c.Close() // ctx ended as we linked: the socket may be gone
		err = ErrClosed
	}
	if err != nil {
		var de *DisconnectError
		if !(errors.As(err, &de) && de.Remote) && !errors.Is(err, ErrClosed) {
			(&ctrlConn{uc: uc}).sendDisconnect(reasonOf(err))
		}
		_ = uc.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("memif: handshake with %s: %w", cfg.SocketPath, cerr)
		}
		return nil, fmt.Errorf("memif: handshake with %s: %w", cfg.SocketPath, err)
	}
	c.reader.Add(1)
	go c.readLoop() // exits when the socket ends; Close waits for it
	return c, nil
}

// slaveHandshake runs the slave side of §5 on a connected socket. On error
// everything it built is released; the caller closes the socket.
func slaveHandshake(cc *ctrlConn, cfg Config, deadline time.Time) (*Conn, error) {
	b, err := expect(cc, MsgHello, deadline)
	if err != nil {
		return nil, err
	}
	var hello Hello
	if _, err := hello.Unmarshal(b); err != nil {
		return nil, err
	}
	if hello.MinVersion > Version || hello.MaxVersion < Version {
		return nil, &DisconnectError{Reason: "incompatible version", Err: fmt.Errorf("%w: master speaks 0x%04x–0x%04x, we 0x%04x",
			ErrProtocol, hello.MinVersion, hello.MaxVersion, Version)}
	}
	// Run parameters (§4 HELLO): the master's limits are highest indexes.
	cfg.NumS2M = uint8(min(int(hello.MaxS2MRing)+1, int(cfg.NumS2M)))
	cfg.NumM2S = uint8(min(int(hello.MaxM2SRing)+1, int(cfg.NumM2S)))
	cfg.Log2RingSize = min(hello.MaxLog2RingSize, cfg.Log2RingSize)

	c := newConn(RoleSlave, cfg, cc, nil, nil)
	c.peerName = hello.Name
	linked := false
	defer func() {
		if !linked {
			c.release()
		}
	}()
	rings, err := c.buildSlaveMemory()
	if err != nil {
		return nil, err
	}
	step := func(m Message, fd int) error {
		if err := cc.send(m, fd, deadline); err != nil {
			return err
		}
		_, err := expect(cc, MsgAck, deadline)
		return err
	}
	if err := step(&Init{Version: Version, ID: cfg.ID, Mode: cfg.Mode, Secret: cfg.Secret, Name: cfg.Name}, -1); err != nil {
		return nil, err
	}
	for i, r := range c.regions {
		if err := step(&AddRegion{Index: uint16(i), Size: uint64(len(r.data))}, r.fd); err != nil {
			return nil, err
		}
	}
	for _, ri := range rings {
		m := &AddRing{Index: uint16(ri.index), Region: ri.region, Offset: ri.offset, Log2RingSize: ri.log2}
		if ri.s2m {
			m.Flags = RingFlagS2M
		}
		if err := step(m, int(ri.ev.f.Fd())); err != nil {
			return nil, err
		}
	}
	if err := cc.send(&Connect{Name: cfg.Name}, -1, deadline); err != nil {
		return nil, err
	}
	b, err = expect(cc, MsgConnected, deadline)
	if err != nil {
		return nil, err
	}
	var connected Connected
	if _, err := connected.Unmarshal(b); err != nil {
		return nil, err
	}
	// The master could have written anything into our rings while it had
	// them: re-check cookies, zero the indexes, offer every M2S buffer.
	if err := c.buildQueues(rings); err != nil {
		return nil, err
	}
	for _, q := range c.rx {
		q.offerAll()
	}
	_ = cc.uc.SetDeadline(time.Time{})
	linked = true
	return c, nil
}

// expect reads the next message, which must be of type t; a DISCONNECT
// becomes a *DisconnectError with the master's reason. A master never
// sends fds: any is closed.
func expect(cc *ctrlConn, t MsgType, deadline time.Time) ([]byte, error) {
	b, fd, err := cc.recv(deadline)
	closeFD(fd)
	if err != nil {
		return nil, err
	}
	switch got := peekType(b); got {
	case t:
		return b, nil
	case MsgDisconnect:
		var d Disconnect
		if _, err := d.Unmarshal(b); err != nil {
			return nil, err
		}
		return nil, &DisconnectError{Reason: d.Reason, Remote: true}
	default:
		return nil, &DisconnectError{Reason: fmt.Sprintf("unexpected message %s, want %s", got, t), Err: ErrProtocol}
	}
}

// reasonOf is an error's text for a DISCONNECT, without the package prefix.
func reasonOf(err error) string {
	var de *DisconnectError
	if errors.As(err, &de) && de.Reason != "" {
		return de.Reason
	}
	return strings.TrimPrefix(err.Error(), "memif: ")
}

// buildSlaveMemory creates region 0 (ring headers), region 1 (buffers) and
// one eventfd per ring, laid out exactly as libmemif does (§6.4).
func (c *Conn) buildSlaveMemory() ([]ringInfo, error) {
	cfg := c.cfg
	n := 1 << cfg.Log2RingSize
	rb := ringBytes(cfg.CacheLine, cfg.Log2RingSize)
	total := int(cfg.NumS2M) + int(cfg.NumM2S)
	for _, size := range []int{total * rb, int(cfg.BufferSize) * n * total} {
		r, err := newRegion(size)
		if err != nil {
			return nil, err
		}
		c.regions = append(c.regions, r)
	}
	rings := make([]ringInfo, 0, total)
	for i := range total {
		ev, err := newEventfd()
		if err != nil {
			return nil, err
		}
		c.evs = append(c.evs, ev)
		ri := ringInfo{s2m: i < int(cfg.NumS2M), index: i, offset: uint32(i * rb), log2: cfg.Log2RingSize, ev: ev}
		if !ri.s2m {
			ri.index -= int(cfg.NumS2M)
		}
		r := newRing(c.regions[0].data[i*rb:], cfg.CacheLine, cfg.Log2RingSize)
		r.create()
		// Slot j of ring i (S2M first, then M2S) owns buffer (i·N + j)·B.
		for j := range n {
			r.putDesc(uint16(j), Desc{Region: 1, Length: cfg.BufferSize, Offset: uint32((i*n + j) * int(cfg.BufferSize))})
		}
		rings = append(rings, ri)
	}
	return rings, nil
}

// release frees what a failed handshake built (no goroutine runs yet).
func (c *Conn) release() {
	for _, e := range c.evs {
		e.close()
	}
	c.evs = nil
	for i := range c.regions {
		c.regions[i].release()
	}
	c.regions = nil
}
