package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"mediamesh/internal/bridge"
	"mediamesh/internal/bridge/bridgetest"
	"mediamesh/internal/proxy"
	"mediamesh/internal/testutil"
	"mediamesh/sdk"
)

// sdkSource is a bridge.Source over an SDK receiver in the local group: on
// the sender's node the bridge is one more receiver, and with the SDK's
// zero-copy receive its frames are the sending app's shared memory.
type sdkSource struct{ c *sdk.Connection }

func (s sdkSource) Next(ctx context.Context) (bridge.Frame, error) {
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

func (s sdkSource) Release(f bridge.Frame) { _ = s.c.PutBuffer(f.Ref.(*sdk.Buffer)) }

// sdkSink is a bridge.Sink over an SDK sender in the local group: frames
// are read from the socket straight into the group's shared memory.
type sdkSink struct {
	c     *sdk.Connection
	spare *sdk.Buffer // discarded, reused by the next Get: an SDK sender's buffers go back in order
}

func (s *sdkSink) Get(ctx context.Context) (bridge.Frame, error) {
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

func (s *sdkSink) Put(f bridge.Frame) error {
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
	// The SDK numbers what it sends; the bridge's seq is the receiver's
	// to count gaps with.
	return s.c.PutBuffer(b)
}

func (s *sdkSink) Discard(f bridge.Frame) { s.spare = f.Ref.(*sdk.Buffer) }

func startProxy(t *testing.T) *sdk.Client {
	t.Helper()
	p, err := proxy.New(proxy.Config{RunDir: testutil.TempRunDir(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c, err := sdk.NewClientJSON(fmt.Appendf(nil, `{"apiConnectionString":"Server=unix:%s; Port="}`, p.SDKSocket()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t *testing.T, c *sdk.Client, tx bool, cfg []byte) *sdk.Connection {
	t.Helper()
	create := c.CreateRxConnectionJSON
	if tx {
		create = c.CreateTxConnectionJSON
	}
	k, err := create(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// Sender app → group on proxy A → bridge → group on proxy B → receiver
// app, through the real SDK and two media-proxies: bit-exact, with
// metadata, timestamps and the sequence unbroken.
func TestThroughTwoProxies(t *testing.T) {
	testutil.CheckLeaks(t)
	const (
		frames   = 200
		payload  = 256 << 10 // big enough for the SDK's zero-copy receive
		metadata = 64
		group    = "urn:mediamesh:xnode"
	)
	cfg := fmt.Appendf(nil, `{"bufferQueueCapacity": 8, "maxPayloadSize": %d, "maxMetadataSize": %d,
		"connection": {"multipointGroup": {"urn": %q}}, "options": {"reliable": true}, "payload": {"blob": {}}}`,
		payload, metadata, group)
	nodeA, nodeB := startProxy(t), startProxy(t)

	// Node B: the bridge is the group's sender, an app receives.
	bridgeTx := connect(t, nodeB, true, cfg)
	app := connect(t, nodeB, false, cfg)
	sink := &sdkSink{c: bridgeTx}
	l := startListener(t, func(u string, p, m int) (bridge.Sink, error) {
		if u != group {
			return nil, errors.New("unknown group")
		}
		if p > bridgeTx.PayloadSize() || m > bridgeTx.MetadataSize() {
			return nil, fmt.Errorf("%w: %d+%d bytes", bridge.ErrTooLarge, p, m)
		}
		return sink, nil
	})

	// Node A: an app sends, the bridge is one more receiver.
	bridgeRx := connect(t, nodeA, false, cfg)
	sender := connect(t, nodeA, true, cfg)
	s := startSender(t, l.Addr().String(), sdkSource{bridgeRx}, func(c *bridge.SenderConfig) {
		c.URN, c.MaxPayload, c.MaxMetadata = group, bridgeRx.PayloadSize(), bridgeRx.MetadataSize()
		c.WriteTimeout = wait // a reliable group waits for the bridge by design
	})
	testutil.Eventually(t, wait, connected(s))

	done := make(chan error, 1)
	go func() {
		for k := uint32(1); k <= frames; k++ {
			b, err := app.GetBufferTimeout(wait)
			if err != nil {
				done <- fmt.Errorf("frame %d: %w", k, err)
				return
			}
			p, m := bridgetest.Content(k, payload, metadata)
			ok := bytes.Equal(b.Payload(), p) && bytes.Equal(b.Metadata(), m) &&
				b.Seq() == k && b.Timestamp().UnixNano() == 1e9+int64(k)
			err = fmt.Errorf("frame %d: %d+%d bytes, seq %d, ts %d: not what was sent",
				k, len(b.Payload()), len(b.Metadata()), b.Seq(), b.Timestamp().UnixNano())
			_ = app.PutBuffer(b)
			if !ok {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for k := uint32(1); k <= frames; k++ {
		b, err := sender.GetBufferTimeout(wait)
		if err != nil {
			select {
			case rerr := <-done: // the receiving app stopped first: its reason
				t.Fatalf("sending frame %d: %v; receiving: %v", k, err, rerr)
			default:
				t.Fatalf("sending frame %d: %v", k, err)
			}
		}
		p, m := bridgetest.Content(k, payload, metadata)
		if err := b.SetPayloadLen(len(p)); err != nil {
			t.Fatal(err)
		}
		if err := b.SetMetadataLen(len(m)); err != nil {
			t.Fatal(err)
		}
		copy(b.Payload(), p)
		copy(b.Metadata(), m)
		b.SetTimestamp(time.Unix(0, 1e9+int64(k)))
		if err := sender.PutBuffer(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() error { // counted after the sink's Put
		if rs, _ := l.Stats(group); rs.Gaps != 0 || rs.Errors != 0 || rs.Frames != frames {
			return fmt.Errorf("bridge receiver %+v", rs)
		}
		return nil
	})
	if st := app.Stats(); st.Lost != 0 || st.Buffers != frames {
		t.Fatalf("receiving app %+v", st)
	}
}
