package memif

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Dial connects to a master as slave: it creates the regions and rings per
// memif.md §6.4 (region 0: rings, region 1: buffers), runs the handshake
// and returns a linked Conn.
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
	stop := context.AfterFunc(ctx, func() { _ = uc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := slaveHandshake(uc, cfg, deadline)
	if err != nil {
		_ = uc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("memif: handshake: %w", ctx.Err())
		}
		return nil, err
	}
	_ = uc.SetDeadline(time.Time{})
	c.reader.Add(1)
	go c.readLoop()
	return c, nil
}

func slaveHandshake(uc *net.UnixConn, cfg Config, deadline time.Time) (*Conn, error) {
	cc := &ctrlConn{c: uc}
	expect := func(t MsgType) (Message, error) {
		m, fd, err := cc.recv(deadline)
		if err != nil {
			return nil, err
		}
		closeFD(fd) // a master never sends fds
		if derr := remoteDisconnect(m); derr != nil {
			return nil, derr
		}
		if m.Type() != t {
			return nil, fmt.Errorf("%w: got %s, want %s", ErrProtocol, m.Type(), t)
		}
		return m, nil
	}
	m, err := expect(MsgHello)
	if err != nil {
		return nil, err
	}
	hello := m.(*Hello)
	if hello.MinVersion > Version || hello.MaxVersion < Version {
		return nil, fmt.Errorf("%w: master speaks versions 0x%04x-0x%04x, we speak 0x%04x",
			ErrProtocol, hello.MinVersion, hello.MaxVersion, Version)
	}
	cfg.NumS2M = uint8(min(int(hello.MaxS2MRing)+1, int(cfg.NumS2M)))
	cfg.NumM2S = uint8(min(int(hello.MaxM2SRing)+1, int(cfg.NumM2S)))
	cfg.Log2RingSize = min(hello.MaxLog2RingSize, cfg.Log2RingSize)
	if cfg.Log2RingSize == 0 {
		cfg.Log2RingSize = 1
	}

	c := &Conn{role: RoleSlave, cfg: cfg, peerName: hello.Name, ctrl: uc, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			c.release()
		}
	}()
	rings, err := c.buildSlaveMemory()
	if err != nil {
		return nil, err
	}
	step := func(msg Message, fd int) error {
		if err := cc.send(msg, fd); err != nil {
			return err
		}
		_, err := expect(MsgAck)
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
		var flags uint16
		if ri.s2m {
			flags = RingFlagS2M
		}
		msg := &AddRing{Flags: flags, Index: uint16(ri.index), Region: ri.region, Offset: ri.offset, Log2RingSize: ri.log2}
		if err := step(msg, ri.ev.fd()); err != nil {
			return nil, err
		}
	}
	if err := cc.send(&Connect{Name: cfg.Name}, -1); err != nil {
		return nil, err
	}
	m, err = expect(MsgConnected)
	if err != nil {
		return nil, err
	}
	c.peerName = m.(*Connected).Name
	if err := c.buildQueues(rings); err != nil {
		c.sendDisconnect(err.Error())
		return nil, err
	}
	for _, q := range c.rx {
		q.offerAll()
	}
	ok = true
	return c, nil
}

// buildSlaveMemory creates region 0 (rings), region 1 (buffers) and one
// eventfd per ring, laid out exactly as libmemif does.
func (c *Conn) buildSlaveMemory() ([]ringInfo, error) {
	cfg := c.cfg
	n := 1 << cfg.Log2RingSize
	rb := ringBytes(cfg.CacheLine, cfg.Log2RingSize)
	total := int(cfg.NumS2M) + int(cfg.NumM2S)
	r0, err := newRegion(total * rb)
	if err != nil {
		return nil, err
	}
	c.regions = append(c.regions, r0)
	r1, err := newRegion(int(cfg.BufferSize) * n * total)
	if err != nil {
		return nil, err
	}
	c.regions = append(c.regions, r1)
	var rings []ringInfo
	for i := range total {
		ev, err := newEventfd()
		if err != nil {
			return nil, err
		}
		c.evs = append(c.evs, ev)
		s2m := i < int(cfg.NumS2M)
		idx := i
		if !s2m {
			idx -= int(cfg.NumS2M)
		}
		r := newRing(r0.data[i*rb:], cfg.CacheLine, cfg.Log2RingSize)
		r.init()
		for j := range n {
			r.putDesc(uint16(j), Desc{Region: 1, Length: cfg.BufferSize, Offset: uint32((i*n + j) * int(cfg.BufferSize))})
		}
		rings = append(rings, ringInfo{s2m: s2m, index: idx, region: 0, offset: uint32(i * rb), log2: cfg.Log2RingSize, ev: ev})
	}
	return rings, nil
}

// release frees what a failed handshake built (no goroutine runs yet).
func (c *Conn) release() {
	for _, e := range c.evs {
		_ = e.f.Close()
	}
	c.evs = nil
	for i := range c.regions {
		c.regions[i].unmap()
	}
	c.regions = nil
}
