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

// Lock order: Listener.mu and Interface.mu are never held together; no
// lock is held across socket I/O or a Conn.Close.

// ListenConfig configures a master control socket.
type ListenConfig struct {
	Path      string           // filesystem path, or "@name" for the abstract namespace
	Perm      os.FileMode      // socket file mode; 0 → 0660 (not applied to abstract names)
	Log       *slog.Logger     // nil → discard
	CheckPeer func(Cred) error // optional: refuse a peer (SO_PEERCRED) before HELLO

	// HandshakeTimeout bounds the time from accept to INIT; 0 → 5 s. From
	// INIT on, the interface's Config.HandshakeTimeout bounds the whole
	// handshake.
	HandshakeTimeout time.Duration
	// Name is the application name sent in HELLO; "" → "mediamesh".
	Name string
}

// maxSunPath is sun_path's 108 bytes less the NUL (memif.md §3).
const maxSunPath = 107

// Listener is a master control socket hosting interfaces by id.
//
// Goroutines: one accept loop and one handshake per connecting slave, all
// waited for by Close. A linked Conn's control reader belongs to the Conn.
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

// Listen binds the socket (a stale socket file is unlinked first; a live
// one is an error), sets its mode and starts accepting.
func Listen(cfg ListenConfig) (*Listener, error) {
	if cfg.Perm == 0 {
		cfg.Perm = 0o660
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.Name == "" {
		cfg.Name = "mediamesh"
	}
	switch {
	case cfg.Path == "" || cfg.Path == "@":
		return nil, fmt.Errorf("%w: empty socket path", ErrConfig)
	case len(cfg.Path) > maxSunPath:
		return nil, fmt.Errorf("%w: socket path is %d bytes, at most %d", ErrConfig, len(cfg.Path), maxSunPath)
	case len(cfg.Name) >= NameSize || hasNUL(cfg.Name):
		return nil, fmt.Errorf("%w: application name %q", ErrConfig, cfg.Name)
	}
	abstract := strings.HasPrefix(cfg.Path, "@")
	if !abstract {
		if err := removeStale(cfg.Path); err != nil {
			return nil, err
		}
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
	l.wg.Go(l.acceptLoop)
	l.log.Debug("listening")
	return l, nil
}

// removeStale unlinks a socket file nobody listens on (memif.md §3). A
// file that is not a socket, or a socket that answers, is left alone.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("memif: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("memif: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unixpacket", path, 100*time.Millisecond); err == nil {
		_ = c.Close()
		return fmt.Errorf("memif: %s: %w", path, unix.EADDRINUSE)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("memif: remove stale socket: %w", err)
	}
	return nil
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.ul.Addr() }

// Register adds a master interface for cfg.ID; an id can be registered
// once at a time. cfg.SocketPath is ignored.
func (l *Listener) Register(cfg Config) (*Interface, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.SocketPath = l.cfg.Path
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return nil, ErrClosed
	}
	if _, ok := l.mu.ifaces[cfg.ID]; ok {
		return nil, fmt.Errorf("%w: interface id %d already registered", ErrConfig, cfg.ID)
	}
	i := &Interface{l: l, cfg: cfg, notify: make(chan struct{}, 1), done: make(chan struct{})}
	l.mu.ifaces[cfg.ID] = i
	return i, nil
}

// Close stops accepting, aborts handshakes in progress, closes every
// interface and its Conn, waits for every goroutine and removes the socket
// file. Idempotent.
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
	shakes := make([]*net.UnixConn, 0, len(l.mu.shakes))
	for uc := range l.mu.shakes {
		shakes = append(shakes, uc)
	}
	l.mu.Unlock()
	err := l.ul.Close() // ends Accept; unlinks the file
	for _, uc := range shakes {
		_ = uc.Close() // ends the handshake's read; its goroutine cleans up
	}
	l.wg.Wait()
	for _, i := range ifaces {
		_ = i.Close()
	}
	l.log.Debug("closed")
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (l *Listener) acceptLoop() {
	backoff := time.Millisecond
	for {
		uc, err := l.ul.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: back off, the condition may pass.
			l.log.Warn("accept", "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, 100*time.Millisecond)
			continue
		}
		backoff = time.Millisecond
		l.mu.Lock()
		if l.mu.closed {
			l.mu.Unlock()
			_ = uc.Close()
			return
		}
		l.mu.shakes[uc] = struct{}{}
		l.wg.Go(func() { l.serve(uc) })
		l.mu.Unlock()
	}
}

func (l *Listener) lookup(id uint32) *Interface {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.ifaces[id]
}

// serve runs one accepted socket to a linked Conn or a refusal.
func (l *Listener) serve(uc *net.UnixConn) {
	defer func() {
		l.mu.Lock()
		delete(l.mu.shakes, uc)
		l.mu.Unlock()
	}()
	cc := &ctrlConn{uc: uc}
	cred, err := peerCred(uc)
	if err == nil && l.cfg.CheckPeer != nil {
		err = l.cfg.CheckPeer(cred)
	}
	if err != nil {
		l.log.Warn("peer refused", "pid", cred.PID, "uid", cred.UID, "gid", cred.GID, "err", err)
		cc.sendDisconnect("permission denied")
		_ = uc.Close()
		return
	}
	h := &masterShake{l: l, cc: cc, cred: cred, start: time.Now()}
	c, err := h.run()
	if err != nil {
		// Free the interface before the peer can see the end, so a slave
		// that retries at once is not told "already connected".
		h.release()
		if h.iface != nil {
			h.iface.unclaim()
		}
		var de *DisconnectError
		if !(errors.As(err, &de) && de.Remote) && !errors.Is(err, ErrClosed) {
			cc.sendDisconnect(reasonOf(err))
		}
		_ = uc.Close()
		l.log.Debug("handshake failed", "pid", cred.PID, "uid", cred.UID, "err", err)
		return
	}
	l.log.Debug("linked", "peer", c.peerName, "pid", cred.PID, "uid", cred.UID, "id", c.cfg.ID)
	c.reader.Add(1)
	go c.readLoop() // exits when the socket ends; Conn.Close waits for it
	h.iface.deliver(c)
}

// Interface is one master interface hosted on a Listener. It links one
// slave at a time; after that Conn ends, a new slave may link.
type Interface struct {
	l      *Listener
	cfg    Config
	notify chan struct{} // capacity 1: a Conn is pending
	done   chan struct{} // closed by Close

	mu struct {
		sync.Mutex
		live    *Conn // the current link, accepted or pending
		pending *Conn // linked, not yet returned by Accept
		busy    bool  // a handshake holds the interface
		closed  bool
	}
	closeOnce sync.Once
}

// Config returns the interface's configuration with defaults filled.
func (i *Interface) Config() Config { return i.cfg }

// Accept returns the next slave that completed the handshake for this
// interface.
func (i *Interface) Accept(ctx context.Context) (*Conn, error) {
	for {
		i.mu.Lock()
		c, closed := i.mu.pending, i.mu.closed
		i.mu.pending = nil
		i.mu.Unlock()
		switch {
		case c != nil:
			return c, nil
		case closed:
			return nil, ErrClosed
		}
		select {
		case <-i.notify:
		case <-i.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close unregisters the interface and closes its Conn, accepted or not.
// Idempotent.
func (i *Interface) Close() error {
	i.closeOnce.Do(func() {
		i.mu.Lock()
		i.mu.closed = true
		live, pending := i.mu.live, i.mu.pending
		i.mu.live, i.mu.pending = nil, nil
		i.mu.Unlock()
		close(i.done)
		i.l.mu.Lock()
		if i.l.mu.ifaces[i.cfg.ID] == i {
			delete(i.l.mu.ifaces, i.cfg.ID)
		}
		i.l.mu.Unlock()
		if pending != nil && pending != live {
			_ = pending.Close()
		}
		if live != nil {
			_ = live.Close()
		}
	})
	return nil
}

// claim reserves the interface for one handshake; false while another
// handshake holds it or a link is up.
func (i *Interface) claim() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.mu.closed || i.mu.busy || (i.mu.live != nil && !i.mu.live.down.Load()) {
		return false
	}
	i.mu.busy = true
	return true
}

func (i *Interface) unclaim() {
	i.mu.Lock()
	i.mu.busy = false
	i.mu.Unlock()
}

// deliver hands a linked Conn to Accept. A pending Conn nobody accepted is
// down (claim refused while it was up) and is replaced.
func (i *Interface) deliver(c *Conn) {
	c.onClose = func() {
		i.mu.Lock()
		if i.mu.live == c {
			i.mu.live = nil
		}
		if i.mu.pending == c {
			i.mu.pending = nil
		}
		i.mu.Unlock()
	}
	i.mu.Lock()
	i.mu.busy = false
	if i.mu.closed {
		i.mu.Unlock()
		_ = c.Close()
		return
	}
	stale := i.mu.pending
	i.mu.pending, i.mu.live = c, c
	i.mu.Unlock()
	if stale != nil {
		_ = stale.Close()
	}
	select {
	case i.notify <- struct{}{}:
	default:
	}
}

// masterShake is the master side of §5 for one socket.
type masterShake struct {
	l     *Listener
	cc    *ctrlConn
	cred  Cred
	start time.Time

	iface   *Interface // set once INIT claimed it
	cfg     Config     // iface.cfg
	peer    string
	regions []region
	evs     []*eventfd
	rings   []ringInfo
	nS2M    int
	nM2S    int
}

// release frees what the handshake mapped and received.
func (h *masterShake) release() {
	for _, e := range h.evs {
		e.close()
	}
	for i := range h.regions {
		h.regions[i].release()
	}
	h.evs, h.regions = nil, nil
}

// refuse is a handshake failure to report to the slave.
func refuse(format string, args ...any) error {
	return &DisconnectError{Reason: fmt.Sprintf(format, args...), Err: ErrProtocol}
}

func (h *masterShake) run() (*Conn, error) {
	deadline := h.start.Add(h.l.cfg.HandshakeTimeout)
	hello := &Hello{Name: h.l.cfg.Name, MinVersion: Version, MaxVersion: Version,
		MaxRegion: maxIndex, MaxM2SRing: maxIndex, MaxS2MRing: maxIndex, MaxLog2RingSize: MaxLog2RingSize}
	if err := h.cc.send(hello, -1, deadline); err != nil {
		return nil, err
	}
	for {
		b, fd, err := h.cc.recv(deadline)
		if err != nil {
			return nil, err
		}
		m, err := ParseMessage(b)
		if err != nil {
			closeFD(fd)
			return nil, err
		}
		if d, ok := m.(*Disconnect); ok {
			closeFD(fd)
			return nil, &DisconnectError{Reason: d.Reason, Remote: true}
		}
		if h.iface == nil && m.Type() != MsgInit {
			closeFD(fd)
			return nil, refuse("unexpected message %s before INIT", m.Type())
		}
		switch m := m.(type) {
		case *Init:
			closeFD(fd)
			if err := h.init(m); err != nil {
				return nil, err
			}
			deadline = h.start.Add(h.cfg.HandshakeTimeout)
		case *AddRegion:
			if err := h.addRegion(m, fd); err != nil {
				return nil, err
			}
		case *AddRing:
			if err := h.addRing(m, fd); err != nil {
				return nil, err
			}
		case *Connect:
			closeFD(fd)
			return h.connect(m, deadline)
		default:
			closeFD(fd)
			return nil, refuse("unexpected message %s", m.Type())
		}
		if err := h.cc.send(&Ack{}, -1, deadline); err != nil {
			return nil, err
		}
	}
}

// init checks INIT in the order of §5: version, id, busy, mode, secret.
func (h *masterShake) init(m *Init) error {
	if h.iface != nil {
		return refuse("unexpected message INIT")
	}
	if m.Version != Version {
		return refuse("incompatible version")
	}
	iface := h.l.lookup(m.ID)
	if iface == nil {
		return refuse("unmatched interface id")
	}
	if !iface.claim() {
		return refuse("already connected")
	}
	h.iface, h.cfg, h.peer = iface, iface.cfg, m.Name
	if m.Mode != h.cfg.Mode {
		return refuse("mode mismatch")
	}
	if h.cfg.Secret != "" && !secretEqual(m.Secret, h.cfg.Secret) {
		return refuse("incorrect secret")
	}
	return nil
}

// secretEqual compares in constant time over the whole field, so neither
// content nor length leaks through timing.
func secretEqual(a, b string) bool {
	var x, y [SecretSize]byte
	copy(x[:], a)
	copy(y[:], b)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1 && len(a) == len(b)
}

// addRegion validates and maps a region; it owns fd.
func (h *masterShake) addRegion(m *AddRegion, fd int) error {
	if fd < 0 {
		return refuse("missing memory region fd")
	}
	switch {
	case m.Index > maxIndex:
		closeFD(fd)
		return refuse("too many regions")
	case int(m.Index) != len(h.regions):
		closeFD(fd)
		return refuse("unexpected region index %d, want %d", m.Index, len(h.regions))
	}
	if reason := checkPeerRegion(fd, m.Index, m.Size); reason != "" {
		closeFD(fd)
		return refuse("%s", reason)
	}
	r, err := mapRegion(fd, m.Size)
	if err != nil {
		closeFD(fd)
		return refuse("region %d: %v", m.Index, err)
	}
	h.regions = append(h.regions, r)
	return nil
}

// addRing validates a ring against the regions so far; it owns fd.
func (h *masterShake) addRing(m *AddRing, fd int) error {
	if fd < 0 {
		return refuse("missing ring interrupt fd")
	}
	if !isEventfd(fd) {
		closeFD(fd)
		return refuse("ring interrupt fd is not an eventfd")
	}
	ev, err := wrapEventfd(fd)
	if err != nil {
		return refuse("ring interrupt fd: %v", err)
	}
	h.evs = append(h.evs, ev)
	ri := ringInfo{s2m: m.S2M(), index: int(m.Index), region: m.Region, offset: m.Offset, log2: m.Log2RingSize, ev: ev}
	count, limit := &h.nM2S, int(h.cfg.NumM2S)
	if ri.s2m {
		count, limit = &h.nS2M, int(h.cfg.NumS2M)
	}
	switch {
	case m.PrivateHdrSize != 0:
		return refuse("private headers not supported")
	case int(m.Index) != *count:
		return refuse("unexpected %s ring index %d, want %d", ri.dir(), m.Index, *count)
	case *count >= limit:
		return refuse("too many %s rings, at most %d", ri.dir(), limit)
	case m.Log2RingSize > MaxLog2RingSize:
		return refuse("%s ring %d: log2 size %d above %d", ri.dir(), m.Index, m.Log2RingSize, MaxLog2RingSize)
	case int(m.Region) >= len(h.regions):
		return refuse("%s ring %d: unknown region %d", ri.dir(), m.Index, m.Region)
	case m.Offset%4 != 0:
		return refuse("%s ring %d: offset %d not 4-aligned", ri.dir(), m.Index, m.Offset)
	case uint64(m.Offset)+uint64(ringBytes(h.cfg.CacheLine, m.Log2RingSize)) > uint64(len(h.regions[m.Region].data)):
		return refuse("%s ring %d: %d bytes at offset %d do not fit region %d (%d bytes)", ri.dir(), m.Index,
			ringBytes(h.cfg.CacheLine, m.Log2RingSize), m.Offset, m.Region, len(h.regions[m.Region].data))
	}
	*count++
	h.rings = append(h.rings, ri)
	return nil
}

// connect maps nothing new (regions are mapped as they arrive): it checks
// cookies, zeroes the indexes, sets MASK_INT on S2M rings when polling and
// answers CONNECTED.
func (h *masterShake) connect(m *Connect, deadline time.Time) (*Conn, error) {
	if h.nS2M == 0 || h.nM2S == 0 {
		return nil, refuse("need a ring in each direction, got %d S2M and %d M2S", h.nS2M, h.nM2S)
	}
	cfg := h.cfg
	cfg.NumS2M, cfg.NumM2S = uint8(h.nS2M), uint8(h.nM2S)
	cfg.Log2RingSize = h.rings[0].log2
	c := newConn(RoleMaster, cfg, h.cc, h.regions, h.evs)
	c.cred, c.peerName = h.cred, h.peer
	if c.peerName == "" {
		c.peerName = m.Name
	}
	if err := c.buildQueues(h.rings); err != nil {
		return nil, refuse("%s", reasonOf(err))
	}
	for _, ri := range h.rings {
		if ri.s2m {
			// Informational: a libmemif slave offers B in every S2M slot.
			r := newRing(h.regions[ri.region].data[ri.offset:], cfg.CacheLine, ri.log2)
			if l := r.getDesc(0).Length; l > 0 {
				c.cfg.BufferSize = l
			}
			break
		}
	}
	if err := h.cc.send(&Connected{Name: cfg.Name}, -1, deadline); err != nil {
		return nil, err
	}
	_ = h.cc.uc.SetDeadline(time.Time{})
	h.regions, h.evs = nil, nil // owned by c now
	return c, nil
}

// peerCred reads the connecting process's pid/uid/gid (SO_PEERCRED): Go's
// listener does not set SO_PASSCRED (memif.md §7.5).
func peerCred(uc *net.UnixConn) (Cred, error) {
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var (
		u    *unix.Ucred
		uerr error
	)
	if err := raw.Control(func(fd uintptr) {
		u, uerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if uerr != nil {
		return Cred{}, fmt.Errorf("SO_PEERCRED: %w", uerr)
	}
	return Cred{PID: u.Pid, UID: u.Uid, GID: u.Gid}, nil
}
