package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/group"
	"mediamesh/internal/mcm"
	"mediamesh/internal/memif"
)

// conn is one app endpoint: a memif master interface on its own socket and
// its membership in a group.
type conn struct {
	p        *Proxy
	id       string
	sender   bool // the app transmits (CONN_KIND_TRANSMITTER)
	zeroCopy bool // a receiver that asked to read the sender in place
	reliable bool // asked for reliable delivery in its group
	bridge   bool // opened by the proxy's own mesh bridge (MetadataBridge)
	config   *sdkpb.ConnectionConfig
	wireOpts mcm.WireOptions
	urn      string
	payload  string
	layout   mcm.Layout
	capacity uint32
	log2     uint8
	created  time.Time
	creator  Cred
	local    bool // creator known by credentials
	param    []byte
	counters group.Counters

	listener *memif.Listener
	iface    *memif.Interface
	wire     *wire // st2110 connections: the stream on the wire; nil for groups

	deleted chan struct{}   // closed by delete
	linked  chan struct{}   // closed once the app's memif link is up
	joined  chan struct{}   // closed once the connection is in its group
	life    context.Context // done once deleted
	end     context.CancelFunc
	exited  chan struct{} // closed when the supervisor has reclaimed everything
	delOnce sync.Once

	mu struct {
		sync.Mutex
		state     string
		link      *memif.Conn
		activated bool
		joined    bool
	}
}

// Connection states reported by ListConnections.
const (
	stateCreated = "created"
	stateLinked  = "linked"
	stateActive  = "active"
	stateClosed  = "closed"
)

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newSecret() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) // 16 characters: memif allows 23
}

// createOpts are a CreateConnection's mediamesh extensions, from gRPC
// metadata.
type createOpts struct {
	reliable, zeroCopy, bridge bool
	wire                       mcm.WireOptions
}

// createConn validates and registers a connection and starts its memif
// master. The returned conn waits for its app in a supervisor goroutine.
func (p *Proxy) createConn(ctx context.Context, cfg *sdkpb.ConnectionConfig, o createOpts) (*conn, error) {
	opts := o.wire
	onWire := cfg.GetSt2110() != nil
	if !onWire && !opts.Empty() {
		return nil, status.Error(codes.InvalidArgument, "st2110 options given for a connection that is not st2110")
	}
	layout, err := mcm.ValidateConnectionConfigExt(cfg, mcm.Extensions{
		BlobOnWire: opts.Transport == "st2110-40", PixelFormat: opts.PixelFormat})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	mg := cfg.GetMultipointGroup()
	switch {
	case onWire:
	case cfg.GetRdma() != nil:
		return nil, status.Error(codes.Unimplemented, "rdma connections are not supported; use a multipoint group")
	case mg == nil || mg.GetUrn() == "":
		return nil, status.Error(codes.InvalidArgument, "connection.multipointGroup.urn is empty")
	}
	p.mu.Lock()
	full := len(p.mu.conns) >= p.cfg.MaxConnections
	p.mu.Unlock()
	if full {
		return nil, status.Errorf(codes.ResourceExhausted, "media-proxy holds %d connections, its limit", p.cfg.MaxConnections)
	}
	id := newUUID()
	kind := "rx"
	sender := cfg.GetKind() == sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER
	if sender {
		kind = "tx"
	}
	c := &conn{
		p:        p,
		id:       id,
		sender:   sender,
		zeroCopy: o.zeroCopy && !sender && !onWire,
		reliable: o.reliable,
		bridge:   o.bridge,
		config:   proto.CloneOf(cfg),
		wireOpts: opts,
		urn:      mg.GetUrn(),
		payload:  payloadName(cfg),
		layout:   layout,
		capacity: cfg.GetBufQueueCapacity(),
		log2:     mcm.Log2RingSize(cfg.GetBufQueueCapacity()),
		created:  time.Now(),
		deleted:  make(chan struct{}),
		linked:   make(chan struct{}),
		joined:   make(chan struct{}),
		exited:   make(chan struct{}),
	}
	c.life, c.end = context.WithCancel(context.Background())
	c.creator, c.local = callerCred(ctx)
	c.mu.state = stateCreated

	if o.bridge { // meshctl ls tells the mesh's plumbing from apps
		c.payload = "bridge " + c.payload
	}
	if onWire {
		if c.wire, err = p.newWire(id, cfg, opts, layout, sender); err != nil {
			return nil, err
		}
		c.payload = c.wire.essence.String() + " " + c.payload
	} else if err := p.join(c, o.reliable); err != nil {
		return nil, err
	}
	// MCM's names: media_proxy_<tx|rx>_<uuid>.sock and memif_<tx|rx>_<uuid>.
	sock := filepath.Join(p.cfg.RunDir, "media_proxy_"+kind+"_"+id+".sock")
	name := ("memif_" + kind + "_" + id)[:31]
	secret := newSecret()
	l, err := memif.Listen(memif.ListenConfig{Path: sock, Perm: 0o660, Log: p.log, CheckPeer: c.checkPeer})
	if err != nil {
		p.abandon(c)
		return nil, status.Errorf(codes.Internal, "memif socket: %v", err)
	}
	if err := p.chown(sock); err != nil {
		_ = l.Close()
		p.abandon(c)
		return nil, status.Error(codes.Internal, err.Error())
	}
	iface, err := l.Register(memif.Config{
		SocketPath:   sock,
		ID:           0,
		Name:         name,
		Secret:       secret,
		Log2RingSize: c.log2,
		BufferSize:   layout.Total,
		NumS2M:       1,
		NumM2S:       1,
	})
	if err != nil {
		_ = l.Close()
		p.abandon(c)
		return nil, status.Errorf(codes.Internal, "memif interface: %v", err)
	}
	c.listener, c.iface = l, iface
	param := mcm.MemifConnParam{
		SocketPath:    sock,
		AppName:       name,
		InterfaceName: name,
		Secret:        secret,
		BufferSize:    layout.Total,
		Log2RingSize:  c.log2,
	}
	c.param, err = param.Marshal()
	if err != nil {
		_ = l.Close()
		p.abandon(c)
		return nil, status.Errorf(codes.InvalidArgument, "memif parameters: %v", err)
	}

	p.mu.Lock()
	if p.mu.closed {
		p.mu.Unlock()
		_ = l.Close()
		p.abandon(c)
		return nil, status.Error(codes.Unavailable, "proxy is shutting down")
	}
	p.mu.conns[id] = c
	p.mu.Unlock()
	if !p.run.Go("conn-"+id, c.supervise) {
		c.reclaim()
		return nil, status.Error(codes.Unavailable, "proxy is shutting down")
	}
	p.log.Debug("connection created", "conn_id", id, "kind", kind, "group", c.urn,
		"payload", c.payload, "bytes", layout.Total, "slots", 1<<c.log2, "uid", c.creator.UID, "local", c.local)
	return c, nil
}

func payloadName(cfg *sdkpb.ConnectionConfig) string {
	switch {
	case cfg.GetVideo() != nil:
		v := cfg.GetVideo()
		return fmt.Sprintf("video %dx%d@%g", v.GetWidth(), v.GetHeight(), v.GetFps())
	case cfg.GetAudio() != nil:
		return "audio"
	default:
		return "blob"
	}
}

// checkPeer admits to the memif socket only the app that created the
// connection (same uid, or root) when the creator is known.
func (c *conn) checkPeer(m memif.Cred) error {
	if !c.local || m.UID == 0 || m.UID == c.creator.UID {
		return nil
	}
	return fmt.Errorf("uid %d is not the connection's owner", m.UID)
}

// supervise waits for the app to attach, joins it to its group once it is
// activated, and reclaims everything when the link drops, the connection is
// deleted or the proxy stops.
func (c *conn) supervise(ctx context.Context) error {
	defer c.reclaim()
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	// A delete before the app attached ends the wait at once.
	stop := context.AfterFunc(c.life, cancel)
	link, err := c.iface.Accept(actx)
	stop()
	cancel()
	if err != nil {
		select {
		case <-c.deleted:
		default:
			c.p.log.Warn("app never attached; connection reclaimed", "conn_id", c.id, "err", err)
		}
		return nil
	}
	c.mu.Lock()
	c.mu.link = link
	c.mu.state = stateLinked
	c.mu.Unlock()
	c.p.log.Debug("memif linked", "conn_id", c.id, "peer", link.PeerName(), "pid", link.Cred().PID)
	close(c.linked)
	c.maybeJoin()
	select {
	case <-link.Done():
		c.p.log.Info("app link down; connection reclaimed", "conn_id", c.id, "err", link.Err())
	case <-c.deleted:
	case <-ctx.Done():
	}
	return nil
}

// activate marks the connection active (MCM ActivateConnection).
//
// The app calls it once its memif handshake finished, but the proxy's side
// of that link may still be on its way to the supervisor: wait for it, so
// that when Activate returns the connection is in its group and the next
// buffer put reaches it (an SDK may put right after creating).
func (c *conn) activate(ctx context.Context) error {
	c.mu.Lock()
	c.mu.activated = true
	c.mu.Unlock()
	select {
	case <-c.linked:
	case <-c.deleted:
		return status.Error(codes.NotFound, "connection deleted")
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-time.After(attachTimeout):
		return status.Error(codes.FailedPrecondition, "the app has not attached over memif")
	}
	c.maybeJoin()
	// The supervisor may have started the join first: wait until it is
	// done, whoever does it.
	select {
	case <-c.joined:
		if gate := c.p.senderGate(); gate != nil && c.sender && !c.bridge && c.wire == nil {
			gate(ctx, c.id)
		}
		return nil
	case <-c.deleted:
		return status.Error(codes.NotFound, "connection deleted")
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// maybeJoin attaches the connection's queue to its group once it is both
// linked and activated.
func (c *conn) maybeJoin() {
	c.mu.Lock()
	if c.mu.link == nil || !c.mu.activated || c.mu.joined {
		c.mu.Unlock()
		return
	}
	c.mu.joined = true
	c.mu.state = stateActive
	link := c.mu.link
	c.mu.Unlock()
	defer c.p.changed()
	defer close(c.joined)
	if c.wire != nil {
		if err := c.wire.start(link); err != nil {
			c.p.log.Warn("st2110 stream", "conn_id", c.id, "err", err)
		}
		return
	}
	g := c.p.groupOf(c.urn)
	if g == nil {
		return
	}
	var err error
	switch {
	case c.sender:
		err = g.SetSender(c.id, link.Rx(0), &c.counters)
		if err == nil {
			for _, r := range c.p.zeroCopyMembers(c.urn) {
				c.p.shareRegion(g, c, r)
			}
		}
	case c.zeroCopy:
		link.Tx(0).Prefault() // its own slots still take copies when needed
		err = g.AddZeroCopyReceiver(c.id, link.Tx(0), &c.counters)
		if s := c.p.senderOf(c.urn); err == nil && s != nil {
			c.p.shareRegion(g, s, c)
		}
	default:
		// Fault the receiver's buffers in before the first frame, here and
		// not in the group's forwarder, which serves every member.
		link.Tx(0).Prefault()
		err = g.AddReceiver(c.id, link.Tx(0), &c.counters)
	}
	if err != nil && !errors.Is(err, group.ErrClosed) {
		c.p.log.Warn("join group", "conn_id", c.id, "group", c.urn, "err", err)
	}
}

// shareRegion imports the sender's buffer region, read-only, into a
// zero-copy receiver's link and tells the group, which then forwards
// descriptors instead of bytes (memif.md §11). On any failure the receiver
// simply keeps getting copies.
func (p *Proxy) shareRegion(g *group.Group, sender, recv *conn) {
	sender.mu.Lock()
	sl := sender.mu.link
	if sl == nil || !sender.mu.joined {
		sender.mu.Unlock()
		return
	}
	regs := sl.Regions()
	if len(regs) < 2 {
		sender.mu.Unlock()
		return
	}
	// libmemif's layout (and our SDK's): the buffers are region 1.
	ro, err := memif.ReopenReadOnly(regs[1].FD)
	size := len(regs[1].Data)
	sender.mu.Unlock()
	if err != nil {
		p.log.Warn("zero-copy: cannot share the sender's region", "conn_id", sender.id, "err", err)
		return
	}
	defer syscall.Close(ro)
	recv.mu.Lock()
	rl := recv.mu.link
	recv.mu.Unlock()
	if rl == nil {
		return
	}
	idx, err := rl.ImportRegion(ro, uint64(size), 2*time.Second)
	if err != nil {
		p.log.Debug("zero-copy: import refused; copying instead", "conn_id", recv.id, "err", err)
		return
	}
	if err := g.SetImport(recv.id, sender.id, 1, idx); err == nil {
		p.log.Debug("zero-copy: receiver reads the sender in place", "conn_id", recv.id, "sender", sender.id, "region", idx)
	}
}

// delete asks the supervisor to reclaim the connection and waits for it.
func (c *conn) delete() {
	c.delOnce.Do(func() { close(c.deleted); c.end() })
	<-c.exited
}

// reclaim leaves the group, closes the memif link and socket and forgets
// the connection. Runs once, on the supervisor's exit.
func (c *conn) reclaim() {
	c.mu.Lock()
	joined := c.mu.joined
	link := c.mu.link
	c.mu.link = nil // nobody starts using it from now on (shareRegion)
	c.mu.state = stateClosed
	c.mu.Unlock()
	if c.wire != nil {
		c.wire.close() // stops touching the rings before they are unmapped
	} else if joined {
		if g := c.p.groupOf(c.urn); g != nil {
			if c.sender {
				_ = g.RemoveSender(c.id)
			} else {
				_ = g.RemoveReceiver(c.id)
			}
		}
	}
	// The group no longer touches the rings: now they may be unmapped.
	if link != nil {
		_ = link.Close()
	}
	_ = c.listener.Close()
	c.p.mu.Lock()
	delete(c.p.mu.conns, c.id)
	c.p.mu.Unlock()
	c.p.leave(c)
	c.end()
	close(c.exited)
	c.p.changed()
}

// abandon undoes a createConn that failed after the connection joined its
// group or bound its stream.
func (p *Proxy) abandon(c *conn) {
	if c.wire != nil {
		c.wire.close()
		return
	}
	p.leave(c)
}
