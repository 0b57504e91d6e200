package bridge

import (
	"context"
	"sync"
	"sync/atomic"
)

// Frame is one buffer of a group on its way across a bridge. Its slices
// alias the owner's memory (on a proxy, an app's shared memory region) and
// are valid until the frame is handed back.
type Frame struct {
	Seq       uint32 // the buffer's sequence number at the source
	Timestamp int64  // Unix nanoseconds, 0 = unset
	Payload   []byte
	Metadata  []byte
	// Ref is the Source's or Sink's own handle for the buffer (a pointer,
	// so storing it allocates nothing); the bridge only carries it back.
	Ref any
}

// Source gives a bridge Sender the group's buffers in order. On a proxy it
// is a receiving member of the local group, so the group's slow-receiver
// rules apply to the bridge like to any app: a bridge that falls behind
// loses its oldest buffers (or, in a reliable group, slows the sender), and
// never stalls the others.
type Source interface {
	// Next returns the next buffer, blocking until there is one, ctx ends
	// (then it returns an error and the Sender checks ctx) or the source
	// fails.
	Next(ctx context.Context) (Frame, error)
	// Release hands a buffer from Next back, once it is sent or dropped.
	Release(Frame)
}

// Sink gives a bridge receiver buffers to read frames into. On a proxy it
// is the local group's sending member, so a frame is read from the socket
// straight into the group's shared memory. The Listener uses a Sink from
// one goroutine at a time, across reconnects too.
type Sink interface {
	// Get returns an empty buffer: Payload and Metadata span the whole
	// room available. It blocks until there is one or ctx ends.
	Get(ctx context.Context) (Frame, error)
	// Put publishes a buffer from Get, Payload and Metadata resliced to
	// the received lengths, Seq and Timestamp set from the frame.
	Put(Frame) error
	// Discard takes back a buffer from Get that will not be filled: its
	// connection failed in the middle of the frame.
	Discard(Frame)
}

// OpenFunc gives the Listener the Sink of a group a sender asked for,
// after its token was checked: maxPayload and maxMetadata are the largest
// frames the sender will send. It returns an error wrapping ErrTooLarge if
// they exceed the group's buffers, and any other error to refuse (an
// unknown URN); the error's text goes to the sender. It may be called
// again for every reconnect; the Sink it returns stays the caller's.
type OpenFunc func(urn string, maxPayload, maxMetadata int) (Sink, error)

// Stats are a bridge end's counters.
type Stats struct {
	// Connected: a connection is up and past its handshake.
	Connected bool
	// Frames and Bytes (payload and metadata) sent or received.
	Frames, Bytes uint64
	// Dropped (sender) counts buffers taken from the Source and not sent:
	// while disconnected, or larger than the receiver accepts.
	Dropped uint64
	// Gaps (receiver) counts sequence numbers missing between frames
	// received, across reconnects.
	Gaps uint64
	// Reconnects counts connections established after the first.
	Reconnects uint64
	// Errors counts failed dials, handshakes and connections.
	Errors uint64
	// Err is the latest failure, nil if none since the last connection.
	Err error
}

// counters are Stats as they are kept: atomics, read without a lock.
type counters struct {
	connected                                    atomic.Bool
	frames, bytes, dropped, gaps, connects, errs atomic.Uint64
	mu                                           sync.Mutex
	err                                          error // guarded by mu
}

// fail counts a failure and keeps it as the latest.
func (c *counters) fail(err error) {
	c.errs.Add(1)
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

// up counts a connection past its handshake.
func (c *counters) up() {
	c.connects.Add(1)
	c.connected.Store(true)
	c.mu.Lock()
	c.err = nil
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	s := Stats{
		Connected: c.connected.Load(),
		Frames:    c.frames.Load(),
		Bytes:     c.bytes.Load(),
		Dropped:   c.dropped.Load(),
		Gaps:      c.gaps.Load(),
		Errors:    c.errs.Load(),
		Err:       err,
	}
	if n := c.connects.Load(); n > 1 {
		s.Reconnects = n - 1
	}
	return s
}
