package meshctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mediamesh/internal/memif"
	"mediamesh/internal/pattern"
)

// memifOpts are the flags of `meshctl memif send|recv`.
type memifOpts struct {
	socket  string
	role    string
	id      uint
	secret  string
	log2    uint
	bufSize uint
	count   uint64
	size    int
	poll    bool
	timeout time.Duration
}

func runMemif(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || (args[0] != "send" && args[0] != "recv") {
		return fmt.Errorf("%w: memif send|recv --socket PATH --role master|slave [flags]", ErrUsage)
	}
	verb := args[0]
	var o memifOpts
	fs := newFlags(env, "memif "+verb)
	fs.StringVar(&o.socket, "socket", "", "memif control socket path (@name: abstract)")
	fs.StringVar(&o.role, "role", "slave", "master (listen) or slave (connect)")
	fs.UintVar(&o.id, "id", 0, "interface id")
	fs.StringVar(&o.secret, "secret", "", "shared secret (≤ 23 bytes)")
	fs.UintVar(&o.log2, "ring-log2", 4, "log2 of the ring size (slave; ≤ 14)")
	fs.UintVar(&o.bufSize, "buf-size", 2048, "buffer size in bytes (slave)")
	fs.Uint64Var(&o.count, "count", 100, "buffers to send or expect")
	fs.IntVar(&o.size, "size", 64, "payload bytes per buffer (chained over several slots when larger than --buf-size)")
	fs.BoolVar(&o.poll, "poll", false, "busy-poll the receive ring instead of waiting on the eventfd")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up after this long")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	switch {
	case o.socket == "":
		return fmt.Errorf("%w: --socket is required", ErrUsage)
	case o.role != "master" && o.role != "slave":
		return fmt.Errorf("%w: --role %q: want master or slave", ErrUsage, o.role)
	case o.log2 > 14:
		return fmt.Errorf("%w: --ring-log2 %d: at most 14", ErrUsage, o.log2)
	case o.size < 0:
		return fmt.Errorf("%w: --size must not be negative", ErrUsage)
	case o.bufSize == 0 || o.bufSize > 1<<31:
		return fmt.Errorf("%w: --buf-size %d out of range", ErrUsage, o.bufSize)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	link, closeAll, err := memifLink(ctx, o)
	if err != nil {
		return err
	}
	defer closeAll()
	if verb == "send" {
		return memifSend(ctx, env, link, o)
	}
	return memifRecv(ctx, env, link, o)
}

// memifLink attaches in the requested role and returns the linked Conn and
// a function that releases everything.
func memifLink(ctx context.Context, o memifOpts) (*memif.Conn, func(), error) {
	cfg := memif.Config{
		SocketPath:   o.socket,
		ID:           uint32(o.id),
		Name:         "meshctl",
		Secret:       o.secret,
		Log2RingSize: uint8(o.log2),
		BufferSize:   uint32(o.bufSize),
		Poll:         o.poll,
	}
	if o.role == "slave" {
		c, err := memif.Dial(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("memif connect %s: %w", o.socket, err)
		}
		return c, func() { _ = c.Close() }, nil
	}
	l, err := memif.Listen(memif.ListenConfig{Path: o.socket})
	if err != nil {
		return nil, nil, fmt.Errorf("memif listen %s: %w", o.socket, err)
	}
	iface, err := l.Register(cfg)
	if err != nil {
		_ = l.Close()
		return nil, nil, err
	}
	c, err := iface.Accept(ctx)
	if err != nil {
		_ = l.Close()
		return nil, nil, fmt.Errorf("memif accept on %s: %w", o.socket, err)
	}
	return c, func() { _ = c.Close(); _ = l.Close() }, nil
}

func memifSend(ctx context.Context, env Env, c *memif.Conn, o memifOpts) error {
	q := c.Tx(0)
	pat := pattern.New(o.size)
	payload := make([]byte, o.size)
	bufSize := int(o.bufSize)
	if c.Role() == memif.RoleMaster {
		bufSize = int(c.Config().BufferSize)
	}
	slots := max(1, (o.size+bufSize-1)/max(bufSize, 1))
	var bytes uint64
	for k := range o.count {
		pat.Fill(payload, k)
		if err := q.WaitRoom(ctx, slots); err != nil {
			return fmt.Errorf("memif send FAILED count=%d bytes=%d: waiting for room: %w", k, bytes, err)
		}
		if err := q.Send(payload); err != nil {
			return fmt.Errorf("memif send FAILED count=%d bytes=%d: %w", k, bytes, err)
		}
		bytes += uint64(o.size)
	}
	// Let the peer take everything before the link goes: a sending slave
	// waits for the master to return every slot; a sending master waits for
	// the slave to offer every slot again.
	for q.Room() < q.Size() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("memif send FAILED count=%d bytes=%d: peer did not drain: %w", o.count, bytes, ctx.Err())
		case <-c.Done():
			return fmt.Errorf("memif send FAILED count=%d bytes=%d: link down before drain: %w", o.count, bytes, c.Err())
		case <-time.After(200 * time.Microsecond):
		}
	}
	fmt.Fprintf(env.Stdout, "memif send ok count=%d bytes=%d\n", o.count, bytes)
	return nil
}

func memifRecv(ctx context.Context, env Env, c *memif.Conn, o memifOpts) error {
	q := c.Rx(0)
	pat := pattern.New(o.size)
	chain := make([]byte, 0, o.size)
	var count, bytes, lost, bad uint64
	var next uint64
	report := func(err error) error {
		if err == nil && count == o.count && lost == 0 && bad == 0 {
			fmt.Fprintf(env.Stdout, "memif recv ok count=%d bytes=%d lost=%d bad=%d\n", count, bytes, lost, bad)
			return nil
		}
		fmt.Fprintf(env.Stdout, "memif recv FAILED count=%d bytes=%d lost=%d bad=%d\n", count, bytes, lost, bad)
		if err == nil {
			err = errors.New("stream incomplete or damaged")
		}
		return err
	}
	defer func() {
		// Keep the link until the sender has seen its last slot come back
		// and disconnects, so it can tell a drained ring from a lost peer.
		select {
		case <-c.Done():
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}()
	for count+lost < o.count {
		if q.Available() == 0 {
			if err := q.Wait(ctx); err != nil {
				return report(err)
			}
			continue
		}
		data, more, err := q.Next()
		if err != nil {
			return report(err)
		}
		chain = append(chain, data...)
		q.Release(1)
		if more {
			if len(chain) > o.size+int(o.bufSize) {
				bad++ // runaway chain: drop it
				chain = chain[:0]
			}
			continue
		}
		k := pattern.Index(chain)
		if len(chain) >= pattern.HeaderSize && k > next && k < o.count {
			lost += k - next
			next = k
		}
		if err := pat.Check(chain, next, o.size); err != nil {
			bad++
		} else {
			bytes += uint64(len(chain))
		}
		count++
		next++
		chain = chain[:0]
	}
	return report(nil)
}
