package mesh

import (
	"context"
	"time"

	"mediamesh/internal/bridge"
	"mediamesh/sdk"
)

// groupSource is a bridge.Source over an SDK receiver in the local group:
// on the sender's node the bridge is one more receiver, and with the
// SDK's zero-copy receive its frames are the sending app's shared memory.
type groupSource struct{ c *sdk.Connection }

func (s groupSource) Next(ctx context.Context) (bridge.Frame, error) {
	b, err := s.c.GetBuffer(ctx)
	if err != nil {
		return bridge.Frame{}, err
	}
	var ts int64
	if t := b.Timestamp(); !t.IsZero() {
		ts = t.UnixNano()
	}
	return bridge.Frame{Seq: b.Seq(), Timestamp: ts, Payload: b.Payload(), Metadata: b.Metadata(), Ref: b}, nil
}

func (s groupSource) Release(f bridge.Frame) { _ = s.c.PutBuffer(f.Ref.(*sdk.Buffer)) }

// groupSink is a bridge.Sink over an SDK sender in the local group: frames
// are read from the socket straight into the group's shared memory.
type groupSink struct {
	c     *sdk.Connection
	spare *sdk.Buffer // discarded, reused by the next Get: an SDK sender's buffers go back in order
}

func (s *groupSink) Get(ctx context.Context) (bridge.Frame, error) {
	b := s.spare
	s.spare = nil
	if b == nil {
		var err error
		if b, err = s.c.GetBuffer(ctx); err != nil {
			return bridge.Frame{}, err
		}
	}
	return bridge.Frame{Payload: b.PayloadCap(), Metadata: b.MetadataCap(), Ref: b}, nil
}

func (s *groupSink) Put(f bridge.Frame) error {
	b := f.Ref.(*sdk.Buffer)
	if err := b.SetPayloadLen(len(f.Payload)); err != nil {
		return err
	}
	if err := b.SetMetadataLen(len(f.Metadata)); err != nil {
		return err
	}
	if f.Timestamp != 0 {
		b.SetTimestamp(time.Unix(0, f.Timestamp))
	}
	// The upstream sender's number: receivers here count what was lost
	// before or on the bridge as they count a local sender's gaps.
	b.SetSeq(f.Seq)
	return s.c.PutBuffer(b)
}

func (s *groupSink) Discard(f bridge.Frame) { s.spare = f.Ref.(*sdk.Buffer) }
