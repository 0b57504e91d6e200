package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/metadata"

	sdkpb "mediamesh/api/mcm/sdk"
	"mediamesh/internal/mcm"
	"mediamesh/internal/memif"
)

// Timeouts of GetBufferTimeout, as in MCM's mesh_dp.h.
const (
	// TimeoutInfinite blocks until a buffer is available.
	TimeoutInfinite time.Duration = -1
	// TimeoutZero polls once.
	TimeoutZero time.Duration = 0
)

// RPC deadlines, as MCM's SDK uses them (mcm-api.md §10.6).
const (
	createDeadline = 20 * time.Second
	deleteDeadline = 5 * time.Second
	// drainDeadline bounds how long Close of a sender waits for the proxy to
	// take what was put (MCM slept a fixed 50 ms instead).
	drainDeadline = time.Second
)

// Stats are a connection's counters since it was created.
type Stats struct {
	Buffers    uint64 // buffers put (tx) or got (rx)
	Bytes      uint64 // payload bytes
	Lost       uint64 // rx: gaps in the sender's sequence numbers
	Reconnects uint64 // links rebuilt after the proxy went away
}

// Connection is one sending or receiving endpoint; MCM's MeshConnection.
// GetBuffer and PutBuffer are for one goroutine at a time; Close may be
// called from any goroutine.
type Connection struct {
	client   *Client
	cfg      ConnectionConfig
	tx       bool
	layout   mcm.Layout
	proto    *sdkpb.ConnectionConfig
	reliable bool
	wire     []byte // st2110 wire options sent with CreateConnection (JSON), nil for none
	// md is the outgoing gRPC metadata of the context the connection was
	// created with: it goes with CreateConnection again when the
	// connection re-creates itself after a proxy restart.
	md    metadata.MD
	defTO time.Duration

	closed atomic.Bool
	wakeQ  atomic.Pointer[memif.RxQueue] // current rx queue, for Close to wake
	// dp serialises the data path with Close and link replacement.
	dp sync.Mutex

	// Guarded by dp.
	link   *memif.Conn
	id     string
	gen    uint32 // link generation, bumped on every reconnect
	txq    *memif.TxQueue
	rxq    *memif.RxQueue
	bufs   []Buffer // one per ring slot, reused
	out    int      // buffers handed to the app and not yet put
	head   uint64   // absolute position of the oldest outstanding buffer
	seq    uint32   // tx: last sequence number sent
	last   uint32   // rx: last sequence number seen
	down   bool     // the current link failed
	recon  chan linkResult
	active bool // a reconnect goroutine runs

	ctx    context.Context // lifetime: cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	buffers, bytes, lost, reconnects atomic.Uint64
}

type linkResult struct {
	link *memif.Conn
	id   string
}

// wireJSON encodes w for the gRPC metadata, nil when empty.
func wireJSON(w mcm.WireOptions) []byte {
	if w.Empty() {
		return nil
	}
	return w.Marshal()
}

func newConnection(ctx context.Context, c *Client, cfg ConnectionConfig, tx bool) (*Connection, error) {
	kind := sdkpb.ConnectionKind_CONN_KIND_RECEIVER
	if tx {
		kind = sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER
	}
	proto := cfg.toProto(kind)
	wire := cfg.wireOptions()
	layout, err := mcm.ValidateConnectionConfigExt(proto, wireExtensions(wire))
	if err != nil {
		return nil, err
	}
	k := &Connection{
		client:   c,
		cfg:      cfg,
		tx:       tx,
		layout:   layout,
		proto:    proto,
		reliable: cfg.reliable(),
		wire:     wireJSON(wire),
		defTO:    c.cfg.defaultTimeout(),
		recon:    make(chan linkResult, 1),
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		k.md = md.Copy()
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	r, err := k.dial(ctx)
	if err != nil {
		k.cancel()
		return nil, err
	}
	k.install(r)
	return k, nil
}

// dial creates the connection on the proxy, attaches over memif and
// activates it. On failure it undoes what it did.
func (k *Connection) dial(ctx context.Context) (linkResult, error) {
	cctx, cancel := context.WithTimeout(ctx, createDeadline)
	defer cancel()
	if k.md != nil {
		cctx = metadata.NewOutgoingContext(cctx, k.md)
	}
	// A receiver offers to read the sender's buffers in place (mediamesh's
	// zero-copy extension); MCM's proxy ignores the offer.
	zeroCopy := !k.tx && !k.cfg.Options.Copy
	resp, err := k.client.api.CreateConnection(k.client.callCtx(cctx, k.reliable, zeroCopy, k.wire),
		&sdkpb.CreateConnectionRequest{Config: k.proto})
	if err != nil {
		return linkResult{}, fmt.Errorf("proxy %s: %w", k.client.target, err)
	}
	id := resp.GetConnId()
	fail := func(err error) (linkResult, error) {
		dctx, dcancel := context.WithTimeout(context.Background(), deleteDeadline)
		defer dcancel()
		_, _ = k.client.api.DeleteConnection(k.client.callCtx(dctx, false, false, nil),
			&sdkpb.DeleteConnectionRequest{ClientId: resp.GetClientId(), ConnId: id})
		return linkResult{}, err
	}
	var p mcm.MemifConnParam
	if _, err := p.Unmarshal(resp.GetMemifConnParam()); err != nil {
		return fail(fmt.Errorf("memif parameters from proxy: %w", err))
	}
	if p.BufferSize != k.layout.Total {
		return fail(fmt.Errorf("proxy offers %d-byte buffers, the config needs %d", p.BufferSize, k.layout.Total))
	}
	link, err := memif.Dial(cctx, memif.Config{
		SocketPath:    p.SocketPath,
		ID:            p.InterfaceID,
		Name:          p.AppName,
		Secret:        p.Secret,
		Log2RingSize:  p.Log2RingSize,
		BufferSize:    p.BufferSize,
		NumS2M:        1,
		NumM2S:        1,
		Poll:          k.cfg.Options.BusyPoll,
		AcceptImports: zeroCopy,
	})
	if err != nil {
		return fail(fmt.Errorf("memif attach: %w", err))
	}
	if _, err := k.client.api.ActivateConnection(k.client.callCtx(cctx, false, false, nil),
		&sdkpb.ActivateConnectionRequest{ClientId: resp.GetClientId(), ConnId: id}); err != nil {
		_ = link.Close()
		return fail(fmt.Errorf("activate: %w", err))
	}
	return linkResult{link: link, id: id}, nil
}

// install makes r the current link. dp must be held (or k unpublished).
func (k *Connection) install(r linkResult) {
	k.link, k.id = r.link, r.id
	k.gen++
	k.down = false
	k.out, k.head = 0, 0
	if k.tx {
		k.txq, k.rxq = r.link.Tx(0), nil
		k.bufs = make([]Buffer, k.txq.Size())
		k.txq.Prefault() // first frames must not pay a page fault per 4 KiB
	} else {
		k.txq, k.rxq = nil, r.link.Rx(0)
		k.bufs = make([]Buffer, k.rxq.Size())
		k.wakeQ.Store(k.rxq)
	}
}

// ID returns the proxy's id of the current link.
func (k *Connection) ID() string {
	k.dp.Lock()
	defer k.dp.Unlock()
	return k.id
}

// PayloadSize is the payload partition size (MCM's payload_size: aligned).
func (k *Connection) PayloadSize() int { return int(k.layout.Payload.Size) }

// CalculatedPayloadSize is the payload size the config implies (MCM's
// calculated_payload_size: not aligned): a new sender buffer starts with
// this payload length.
func (k *Connection) CalculatedPayloadSize() int { return k.cfg.PayloadSize() }

// MetadataSize is the metadata partition size.
func (k *Connection) MetadataSize() int { return int(k.layout.Metadata.Size) }

// BufferSize is the whole memif slot: sysdata, payload and metadata.
func (k *Connection) BufferSize() int { return int(k.layout.Total) }

// Stats returns the connection's counters.
func (k *Connection) Stats() Stats {
	return Stats{
		Buffers:    k.buffers.Load(),
		Bytes:      k.bytes.Load(),
		Lost:       k.lost.Load(),
		Reconnects: k.reconnects.Load(),
	}
}

// GetBuffer returns the next buffer: for a sender an empty one to fill, for
// a receiver the next one received. It waits until ctx is done, then
// returns ErrTimeout (ctx's deadline) or ctx's error.
func (k *Connection) GetBuffer(ctx context.Context) (*Buffer, error) {
	return k.get(ctx, time.Time{}, false)
}

// GetBufferTimeout is GetBuffer with MCM's timeout semantics:
// TimeoutInfinite blocks, TimeoutZero polls once, a positive duration waits
// at most that long. It allocates nothing.
func (k *Connection) GetBufferTimeout(timeout time.Duration) (*Buffer, error) {
	if timeout < 0 {
		return k.get(nil, time.Time{}, false)
	}
	return k.get(nil, time.Now().Add(timeout), timeout == 0)
}

// GetBufferDefault waits for the client's apiDefaultTimeoutMicroseconds.
func (k *Connection) GetBufferDefault() (*Buffer, error) {
	return k.GetBufferTimeout(k.defTO)
}

func (k *Connection) get(ctx context.Context, deadline time.Time, once bool) (*Buffer, error) {
	if k.closed.Load() {
		return nil, errConnClosed("get buffer")
	}
	k.dp.Lock()
	defer k.dp.Unlock()
	for {
		if k.closed.Load() {
			return nil, errConnClosed("get buffer")
		}
		if k.down || k.linkFailed() {
			if err := k.recover(ctx, deadline, once); err != nil {
				return nil, err
			}
			continue
		}
		var (
			b   *Buffer
			err error
		)
		if k.tx {
			b, err = k.getTx()
		} else {
			b, err = k.getRx()
		}
		if b != nil || err != nil {
			return b, err
		}
		// Nothing yet: wait.
		if once {
			return nil, errTimeout("get buffer")
		}
		if err := k.wait(ctx, deadline); err != nil {
			return nil, err
		}
	}
}

// linkFailed notices a link that went down without an error from a wait.
func (k *Connection) linkFailed() bool {
	select {
	case <-k.link.Done():
		k.down = true
		return true
	default:
		return false
	}
}

// wait blocks until the ring may have changed, the deadline passes or the
// link fails. A sender polls for room: memif signals data, never room
// (memif.md §7.4).
func (k *Connection) wait(ctx context.Context, deadline time.Time) error {
	if k.tx {
		return k.pause(ctx, deadline, 20*time.Microsecond)
	}
	var err error
	switch {
	case ctx != nil:
		err = k.rxq.Wait(ctx)
	case deadline.IsZero():
		err = k.rxq.WaitTimeout(0)
	default:
		d := time.Until(deadline)
		if d <= 0 {
			return errTimeout("get buffer")
		}
		err = k.rxq.WaitTimeout(d)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memif.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return errTimeout("get buffer")
	case ctx != nil && ctx.Err() != nil:
		return ctx.Err()
	default:
		k.down = true // link failure: recover on the next turn
		return nil
	}
}

// pause sleeps a short step, failing once the deadline or ctx is over.
func (k *Connection) pause(ctx context.Context, deadline time.Time, step time.Duration) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return errTimeout("get buffer")
			}
			return err
		}
		if d, ok := ctx.Deadline(); ok {
			deadline = d
		}
	}
	if !deadline.IsZero() {
		left := time.Until(deadline)
		if left <= 0 {
			return errTimeout("get buffer")
		}
		step = min(step, left)
	}
	time.Sleep(step)
	return nil
}

func (k *Connection) getTx() (*Buffer, error) {
	if k.txq.Room()-k.out <= 0 {
		return nil, nil
	}
	data, err := k.txq.Buffer(k.out)
	if err != nil {
		k.down = true
		return nil, nil
	}
	if len(data) < int(k.layout.Total) {
		return nil, &Error{Code: ErrCodeBadBufLen, Op: "get buffer",
			Err: fmt.Errorf("slot holds %d bytes, layout needs %d", len(data), k.layout.Total)}
	}
	pos := k.head + uint64(k.out)
	b := &k.bufs[pos%uint64(len(k.bufs))]
	b.reset(k, pos, data[:k.layout.Total])
	b.payloadLen = uint32(k.cfg.PayloadSize())
	k.out++
	return b, nil
}

func (k *Connection) getRx() (*Buffer, error) {
	for k.rxq.Available() > 0 {
		data, more, err := k.rxq.Next()
		if err != nil {
			k.down = true
			return nil, nil
		}
		pos := k.head + uint64(k.out)
		k.out++
		b := &k.bufs[pos%uint64(len(k.bufs))]
		b.reset(k, pos, data)
		if more || len(data) != int(k.layout.Total) {
			// MCM's receiver rejects such buffers too ("bad buffer
			// length") and hands them straight back.
			b.done = true
			k.releaseDone()
			continue
		}
		var sd mcm.Sysdata
		if _, err := sd.Unmarshal(data); err != nil {
			b.done = true
			k.releaseDone()
			continue
		}
		// Clamp to the partitions in a local copy: the shared buffer may
		// be read by other receivers and is never written (memif.md §11.3).
		b.payloadLen = min(sd.PayloadLen, k.layout.Payload.Size)
		b.metadataLen = min(sd.MetadataLen, k.layout.Metadata.Size)
		b.seq, b.ts = sd.Seq, sd.Timestamp
		if k.last != 0 && b.seq > k.last+1 {
			k.lost.Add(uint64(b.seq - k.last - 1))
		}
		if b.seq != 0 {
			k.last = b.seq
		}
		k.buffers.Add(1)
		k.bytes.Add(uint64(b.payloadLen))
		return b, nil
	}
	return nil, nil
}

// PutBuffer hands a buffer back: a sender's buffer is sent, a receiver's
// slot is returned to the proxy. The buffer must not be used afterwards.
// A buffer of a link that has since been replaced is dropped silently.
func (k *Connection) PutBuffer(b *Buffer) error {
	if b == nil || b.conn != k {
		return &Error{Code: ErrCodeBadBufPtr, Op: "put buffer", Err: errors.New("buffer does not belong to this connection")}
	}
	k.dp.Lock()
	defer k.dp.Unlock()
	if b.gen != k.gen || b.done || k.closed.Load() {
		return nil
	}
	if k.tx {
		if b.seq != 0 {
			k.seq = b.seq
		} else if k.seq++; k.seq == 0 {
			k.seq = 1
		}
		ts := b.ts
		if ts == 0 {
			ts = time.Now().UnixNano()
		}
		sd := mcm.Sysdata{Timestamp: ts, Seq: k.seq, PayloadLen: b.payloadLen, MetadataLen: b.metadataLen}
		if _, err := sd.MarshalTo(b.data); err != nil {
			return &Error{Code: ErrCodeBadBufLen, Op: "put buffer", Err: err}
		}
		// MCM's sender always submits the whole slot; the real lengths
		// travel in sysdata (memif.md §10.3).
		if err := k.txq.SetLength(int(b.pos-k.head), int(k.layout.Total), false); err != nil {
			k.down = true
			return nil
		}
		k.buffers.Add(1)
		k.bytes.Add(uint64(b.payloadLen))
	}
	b.done = true
	k.releaseDone()
	return nil
}

// releaseDone publishes (tx) or releases (rx) the finished buffers at the
// head of the outstanding window, in ring order.
func (k *Connection) releaseDone() {
	n := 0
	for n < k.out && k.bufs[(k.head+uint64(n))%uint64(len(k.bufs))].done {
		n++
	}
	if n == 0 {
		return
	}
	if k.tx {
		if err := k.txq.Publish(n); err != nil {
			k.down = true
		}
	} else {
		k.rxq.Release(n)
	}
	k.head += uint64(n)
	k.out -= n
}

// recover replaces a failed link: once the app holds no buffer of the old
// link, its memory is unmapped; a background dialer brings the new one.
func (k *Connection) recover(ctx context.Context, deadline time.Time, once bool) error {
	if k.link != nil && k.out == 0 {
		_ = k.link.Close()
		k.link = nil
	}
	if !k.active {
		k.active = true
		k.wg.Add(1)
		go k.redial()
	}
	var expire <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(max(time.Until(deadline), 0))
		defer t.Stop()
		expire = t.C
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	if once {
		select {
		case r := <-k.recon:
			return k.adopt(r)
		default:
			return errTransient("get buffer", "reconnecting to media-proxy")
		}
	}
	select {
	case r := <-k.recon:
		return k.adopt(r)
	case <-expire:
		return errTransient("get buffer", "reconnecting to media-proxy")
	case <-done:
		return ctx.Err()
	case <-k.ctx.Done():
		return errConnClosed("get buffer")
	}
}

// adopt installs a new link if the old one's buffers are all back.
func (k *Connection) adopt(r linkResult) error {
	k.active = false
	if k.link != nil {
		// The app still holds old buffers; they become stale.
		_ = k.link.Close()
		k.link = nil
	}
	k.install(r)
	k.reconnects.Add(1)
	return nil
}

// redial rebuilds the link with backoff until it succeeds or Close.
func (k *Connection) redial() {
	defer k.wg.Done()
	backoff := 20 * time.Millisecond
	for {
		r, err := k.dial(k.ctx)
		if err == nil {
			select {
			case k.recon <- r:
			case <-k.ctx.Done():
				_ = r.link.Close()
				k.deleteRemote(r.id)
			}
			return
		}
		select {
		case <-time.After(backoff):
		case <-k.ctx.Done():
			return
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

func (k *Connection) deleteRemote(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), deleteDeadline)
	defer cancel()
	_, _ = k.client.api.DeleteConnection(k.client.callCtx(ctx, false, false, nil),
		&sdkpb.DeleteConnectionRequest{ConnId: id})
}

// Close shuts the connection down and deletes it on the proxy
// (mesh_delete_connection). A sender first waits, up to a second, until
// the proxy has taken every buffer put. Idempotent.
func (k *Connection) Close() error {
	if k.closed.Swap(true) {
		return nil
	}
	k.cancel()
	// Wake a receiver blocked in GetBuffer (it holds dp while it waits).
	if q := k.wakeQ.Load(); q != nil {
		q.Wake()
	}
	k.dp.Lock()
	defer k.dp.Unlock()
	if k.tx && k.link != nil && !k.down {
		end := time.Now().Add(drainDeadline)
		for k.txq.Room() < k.txq.Size() && time.Now().Before(end) && !k.linkFailed() {
			time.Sleep(200 * time.Microsecond)
		}
	}
	if k.id != "" && !k.down {
		k.deleteRemote(k.id)
	}
	if k.link != nil {
		_ = k.link.Close()
		k.link = nil
	}
	k.wg.Wait()
	select {
	case r := <-k.recon:
		_ = r.link.Close()
		k.deleteRemote(r.id)
	default:
	}
	k.client.forget(k)
	return nil
}

func errConnClosed(op string) error {
	return &Error{Code: ErrCodeConnClosed, Op: op, Err: errors.New("connection closed")}
}

func errTimeout(op string) error {
	return &Error{Code: ErrCodeTimeout, Op: op, Err: errors.New("timed out")}
}

func errTransient(op, why string) error {
	return &Error{Code: ErrCodeTransient, Op: op, Err: errors.New(why)}
}
