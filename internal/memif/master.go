package memif

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ListenConfig configures a master control socket.
type ListenConfig struct {
	Path      string
	Perm      os.FileMode     // 0 → 0660
	Log       *slog.Logger    // nil → discard
	CheckPeer func(Cred) error // optional: refuse a peer before HELLO
}

// Listener is a master control socket hosting interfaces by id.
//
// Goroutines: one accept loop, and one handshake per connecting slave; Close
// waits for all of them.
//
// Lock order: Listener.mu -> Interface.mu.
type Listener struct {
	cfg ListenConfig
	log *slog.Logger
	ul  *net.UnixListener

	mu struct {
		sync.Mutex
		ifaces map[uint32]*Interface
		shakes map[*net.UnixConn]struct{} // sockets mid-handshake
		closed bool
	}
	wg sync.WaitGroup
}

// Listen binds the socket (unlinking a stale one), sets its mode and starts
// accepting.
func Listen(cfg ListenConfig) (*Listener, error) {
	if cfg.Perm == 0 {
		cfg.Perm = 0o660
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	abstract := strings.HasPrefix(cfg.Path, "@")
	if !abstract {
		_ = os.Remove(cfg.Path)
	}
	ul, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: cfg.Path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("memif: listen %s: %w", cfg.Path, err)
	}
	ul.SetUnlinkOnClose(!abstract)
	if !abstract {
		if err := os.Chmod(cfg.Path, cfg.Perm); err != nil {
			_ = ul.Close()
			return nil, fmt.Errorf("memif: chmod %s: %w", cfg.Path, err)
		}
	}
	l := &Listener{cfg: cfg, log: cfg.Log.With("component", "memif", "local", cfg.Path), ul: ul}
	l.mu.ifaces = make(map[uint32]*Interface)
	l.mu.shakes = make(map[*net.UnixConn]struct{})
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Register adds a master interface for cfg.ID.
func (l *Listener) Register(cfg Config) (*Interface, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return nil, ErrClosed
	}
	if _, ok := l.mu.ifaces[cfg.ID]; ok {
		return nil, fmt.Errorf("%w: interface id %d already registered", ErrConfig, cfg.ID)
	}
	i := &Interface{l: l, cfg: cfg, links: make(chan *Conn, 1), closed: make(chan struct{})}
	l.mu.ifaces[cfg.ID] = i
	return i, nil
}

// Close stops accepting, closes every interface and its link, waits for
// every goroutine and removes the socket file.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return nil
	}
	l.mu.closed = true
	ifaces := make([]*Interface, 0, len(l.mu.ifaces))
	for _, i := range l.mu.ifaces {
		ifaces = append(ifaces, i)
	}
	for uc := range l.mu.shakes {
		_ = uc.SetDeadline(time.Unix(1, 0)) // end handshakes in progress now
	}
	l.mu.Unlock()
	_ = l.ul.Close()
	l.wg.Wait()
	for _, i := range ifaces {
		_ = i.Close()
	}
	return nil
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		uc, err := l.ul.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.mu.Lock()
		closed := l.mu.closed
		if !closed {
			l.wg.Add(1)
			l.mu.shakes[uc] = struct{}{}
		}
		l.mu.Unlock()
		if closed {
			_ = uc.Close()
			return
		}
		go func() {
			defer l.wg.Done()
			l.handshake(uc)
			l.mu.Lock()
			delete(l.mu.shakes, uc)
			l.mu.Unlock()
		}()
	}
}

func (l *Listener) lookup(id uint32) *Interface {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.ifaces[id]
}

// Interface is one master interface hosted on a Listener.
type Interface struct {
	l     *Listener
	cfg   Config
	links chan *Conn // handshaken links waiting for Accept

	mu struct {
		sync.Mutex
		live *Conn // the linked Conn, if any (also while waiting in links)
		busy bool  // a handshake for this interface is in progress
	}
	closeOnce sync.Once
	closed    chan struct{}
}

// Accept returns the next slave that completed the handshake.
func (i *Interface) Accept(ctx context.Context) (*Conn, error) {
	select {
	case c := <-i.links:
		return c, nil
	case <-i.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close unregisters the interface and closes its link.
func (i *Interface) Close() error {
	i.closeOnce.Do(func() {
		close(i.closed)
		i.l.mu.Lock()
		if i.l.mu.ifaces[i.cfg.ID] == i {
			delete(i.l.mu.ifaces, i.cfg.ID)
		}
		i.l.mu.Unlock()
		i.mu.Lock()
		live := i.mu.live
		i.mu.Unlock()
		select {
		case c := <-i.links:
			_ = c.Close()
		default:
		}
		if live != nil {
			_ = live.Close()
		}
	})
	return nil
}

// claim reserves the interface for one handshake; false if it is linked.
func (i *Interface) claim() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.mu.busy || (i.mu.live != nil && !i.mu.live.down.Load()) {
		return false
	}
	i.mu.busy = true
	i.mu.live = nil
	return true
}

func (i *Interface) unclaim(c *Conn) {
	i.mu.Lock()
	i.mu.busy = false
	i.mu.live = c
	i.mu.Unlock()
}

// handshake runs the master side of §5 on one accepted socket.
func (l *Listener) handshake(uc *net.UnixConn) {
	cred, err := peerCred(uc)
	if err == nil && l.cfg.CheckPeer != nil {
		err = l.cfg.CheckPeer(cred)
	}
	if err != nil {
		l.log.Warn("slave refused", "pid", cred.PID, "uid", cred.UID, "err", err)
		cc := &ctrlConn{c: uc}
		_ = cc.send(&Disconnect{Reason: "permission denied"}, -1)
		_ = uc.Close()
		return
	}
	h := &masterHandshake{l: l, cc: &ctrlConn{c: uc}, cred: cred}
	c, iface, err := h.run()
	if err != nil {
		reason := err.Error()
		var de *DisconnectError
		if errors.As(err, &de) && de.Remote {
			reason = ""
		}
		if reason != "" {
			_ = h.cc.send(&Disconnect{Reason: strings.TrimPrefix(reason, "memif: ")}, -1)
		}
		h.release()
		_ = uc.Close()
		if iface != nil {
			iface.unclaim(nil)
		}
		l.log.Debug("handshake failed", "pid", cred.PID, "uid", cred.UID, "err", err)
		return
	}
	_ = uc.SetDeadline(time.Time{})
	c.onClose = func() {
		iface.mu.Lock()
		if iface.mu.live == c {
			iface.mu.live = nil
		}
		iface.mu.Unlock()
	}
	iface.unclaim(c)
	c.reader.Add(1)
	go c.readLoop()
	select {
	case iface.links <- c:
	case <-iface.closed:
		_ = c.Close()
	default:
		// Nobody collected the previous link: it is stale, replace it.
		select {
		case old := <-iface.links:
			_ = old.Close()
		default:
		}
		iface.links <- c
	}
}

type masterHandshake struct {
	l       *Listener
	cc      *ctrlConn
	cred    Cred
	iface   *Interface
	regions []region
	rings   []ringInfo
	evs     []*eventfd
}

func (h *masterHandshake) release() {
	for _, e := range h.evs {
		_ = e.f.Close()
	}
	for i := range h.regions {
		h.regions[i].unmap()
	}
}

func (h *masterHandshake) fail(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

func (h *masterHandshake) run() (*Conn, *Interface, error) {
	deadline := time.Now().Add(DefaultHandshakeTimeout)
	hello := &Hello{Name: "mediamesh", MinVersion: Version, MaxVersion: Version,
		MaxRegion: maxRegionIdx, MaxM2SRing: maxRingIndex, MaxS2MRing: maxRingIndex, MaxLog2RingSize: MaxLog2Ring}
	if err := h.cc.send(hello, -1); err != nil {
		return nil, nil, err
	}
	var (
		cfg    Config
		peer   string
		nS2M   int
		nM2S   int
		claims bool
	)
	for {
		m, fd, err := h.cc.recv(deadline)
		if err != nil {
			return nil, h.claimed(claims), err
		}
		if derr := remoteDisconnect(m); derr != nil {
			closeFD(fd)
			return nil, h.claimed(claims), derr
		}
		if h.iface == nil && m.Type() != MsgInit {
			closeFD(fd)
			return nil, nil, h.fail("unexpected %s before INIT", m.Type())
		}
		switch m := m.(type) {
		case *Init:
			closeFD(fd)
			if h.iface != nil {
				return nil, h.claimed(claims), h.fail("second INIT")
			}
			if m.Version != Version {
				return nil, nil, errors.New("incompatible version")
			}
			iface := h.l.lookup(m.ID)
			if iface == nil {
				return nil, nil, fmt.Errorf("unmatched interface id %d", m.ID)
			}
			if !iface.claim() {
				return nil, nil, errors.New("already connected")
			}
			h.iface, claims, cfg = iface, true, iface.cfg
			if m.Mode != cfg.Mode {
				return nil, iface, errors.New("mode mismatch")
			}
			if cfg.Secret != "" && subtle.ConstantTimeCompare([]byte(m.Secret), []byte(cfg.Secret)) != 1 {
				return nil, iface, errors.New("incorrect secret")
			}
			peer = m.Name
		case *AddRegion:
			if fd < 0 {
				return nil, h.iface, h.fail("missing memory region fd")
			}
			if int(m.Index) != len(h.regions) || m.Index > maxRegionIdx {
				closeFD(fd)
				return nil, h.iface, h.fail("region index %d, expected %d", m.Index, len(h.regions))
			}
			r, err := mapPeerRegion(fd, m.Size)
			if err != nil {
				closeFD(fd)
				return nil, h.iface, err
			}
			h.regions = append(h.regions, r)
		case *AddRing:
			if fd < 0 {
				return nil, h.iface, h.fail("missing ring eventfd")
			}
			ev := wrapEventfd(fd)
			h.evs = append(h.evs, ev)
			s2m := m.Flags&RingFlagS2M != 0
			count, limit := &nM2S, int(cfg.NumM2S)
			if s2m {
				count, limit = &nS2M, int(cfg.NumS2M)
			}
			switch {
			case m.PrivateHdrSize != 0:
				return nil, h.iface, h.fail("private headers not supported")
			case int(m.Index) != *count || int(m.Index) >= limit:
				return nil, h.iface, h.fail("unexpected ring index %d (have %d, accept %d)", m.Index, *count, limit)
			case s2m && nM2S > 0:
				return nil, h.iface, h.fail("S2M ring after M2S rings")
			case m.Log2RingSize > MaxLog2Ring || m.Log2RingSize == 0:
				return nil, h.iface, h.fail("log2 ring size %d", m.Log2RingSize)
			case int(m.Region) >= len(h.regions):
				return nil, h.iface, h.fail("ring in unknown region %d", m.Region)
			case m.Offset%4 != 0:
				return nil, h.iface, h.fail("ring offset %d not 4-aligned", m.Offset)
			case uint64(m.Offset)+uint64(ringBytes(cfg.CacheLine, m.Log2RingSize)) > uint64(len(h.regions[m.Region].data)):
				return nil, h.iface, h.fail("ring at offset %d does not fit region %d", m.Offset, m.Region)
			}
			*count++
			h.rings = append(h.rings, ringInfo{s2m: s2m, index: int(m.Index), region: m.Region,
				offset: m.Offset, log2: m.Log2RingSize, ev: ev})
		case *Connect:
			closeFD(fd)
			if nS2M == 0 || nM2S == 0 {
				return nil, h.iface, h.fail("need at least one ring in each direction (got %d S2M, %d M2S)", nS2M, nM2S)
			}
			cfg.NumS2M, cfg.NumM2S = uint8(nS2M), uint8(nM2S)
			cfg.Log2RingSize = h.rings[0].log2
			c := &Conn{role: RoleMaster, cfg: cfg, peerName: peer, cred: h.cred, ctrl: h.cc.c,
				regions: h.regions, evs: h.evs, done: make(chan struct{})}
			if peer == "" {
				c.peerName = m.Name
			}
			if err := c.buildQueues(h.rings); err != nil {
				return nil, h.iface, err
			}
			if err := h.cc.send(&Connected{Name: cfg.Name}, -1); err != nil {
				return nil, h.iface, err
			}
			h.regions, h.evs = nil, nil // owned by c now
			return c, h.iface, nil
		default:
			closeFD(fd)
			return nil, h.iface, h.fail("unexpected %s", m.Type())
		}
		if err := h.cc.send(&Ack{}, -1); err != nil {
			return nil, h.iface, err
		}
	}
}

func (h *masterHandshake) claimed(claims bool) *Interface {
	if claims {
		return h.iface
	}
	return nil
}

func peerCred(uc *net.UnixConn) (Cred, error) {
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var (
		u    *unix.Ucred
		serr error
	)
	if err := raw.Control(func(fd uintptr) {
		u, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if serr != nil {
		return Cred{}, serr
	}
	return Cred{PID: u.Pid, UID: u.Uid, GID: u.Gid}, nil
}
