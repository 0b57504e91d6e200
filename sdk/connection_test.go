package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"mediamesh/internal/proxy"
	"mediamesh/internal/testutil"
	"mediamesh/sdk"
)

// startProxy runs a real media-proxy core in this process on runDir.
func startProxy(t *testing.T, runDir string) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(proxy.Config{RunDir: runDir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return p
}

func newClient(t *testing.T, p *proxy.Proxy) *sdk.Client {
	t.Helper()
	c, err := sdk.NewClient(sdk.ClientConfig{APIConnectionString: "Server=unix:" + p.SDKSocket()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func blob(urn string, size int) sdk.ConnectionConfig {
	return sdk.ConnectionConfig{
		BufferQueueCapacity: 4,
		MaxPayloadSize:      uint32(size),
		Connection:          sdk.Endpoint{MultipointGroup: &sdk.MultipointGroup{URN: urn}},
		Payload:             sdk.Payload{Blob: &sdk.Blob{}},
	}
}

func TestTimeoutsAndLengths(t *testing.T) {
	testutil.CheckLeaks(t)
	p := startProxy(t, testutil.TempRunDir(t))
	defer p.Close()
	c := newClient(t, p)
	ctx := t.Context()
	rx, err := c.CreateRxConnection(ctx, blob("urn:t", 100))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.CreateTxConnection(ctx, blob("urn:t", 100))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rx.GetBufferTimeout(sdk.TimeoutZero); !errors.Is(err, sdk.ErrTimeout) {
		t.Fatalf("poll on an empty ring: %v", err)
	}
	start := time.Now()
	if _, err := rx.GetBufferTimeout(30 * time.Millisecond); !errors.Is(err, sdk.ErrTimeout) || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("30 ms timeout: %v after %v", err, time.Since(start))
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := rx.GetBuffer(cctx); !errors.Is(err, sdk.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx deadline: %v", err)
	}
	b, err := tx.GetBufferTimeout(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Payload()) != 100 || tx.PayloadSize() != 104 || tx.BufferSize() != 24+104 {
		t.Fatalf("sizes: payload %d, partition %d, slot %d", len(b.Payload()), tx.PayloadSize(), tx.BufferSize())
	}
	if err := b.SetPayloadLen(105); !errors.Is(err, sdk.ErrBadBufLen) {
		t.Fatalf("oversized payload length: %v", err)
	}
	if err := b.SetMetadataLen(1); !errors.Is(err, sdk.ErrBadBufLen) {
		t.Fatalf("metadata without a partition: %v", err)
	}
	copy(b.Payload(), "hello")
	_ = b.SetPayloadLen(5)
	if err := tx.PutBuffer(b); err != nil {
		t.Fatal(err)
	}
	r, err := rx.GetBufferTimeout(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Payload()) != "hello" || r.Seq() != 1 || r.Timestamp().IsZero() {
		t.Fatalf("got %q seq %d ts %v", r.Payload(), r.Seq(), r.Timestamp())
	}
	if err := rx.PutBuffer(r); err != nil {
		t.Fatal(err)
	}
	_ = tx.Close()
	_ = rx.Close()
	if _, err := rx.GetBufferTimeout(0); !errors.Is(err, sdk.ErrConnClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// Close wakes a receiver blocked without a timeout.
func TestCloseWakesBlockedReceiver(t *testing.T) {
	testutil.CheckLeaks(t)
	p := startProxy(t, testutil.TempRunDir(t))
	defer p.Close()
	c := newClient(t, p)
	rx, err := c.CreateRxConnection(t.Context(), blob("urn:w", 10))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := rx.GetBufferTimeout(sdk.TimeoutInfinite); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	_ = rx.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, sdk.ErrConnClosed) {
			t.Fatalf("blocked get returned %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not wake the receiver")
	}
}

// The proxy restarts under a running stream: both apps see timeouts or
// transient errors, never a crash, and carry on within 2 s.
func TestReconnectAfterProxyRestart(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := testutil.TempRunDir(t)
	p := startProxy(t, dir)
	c := newClient(t, p)
	ctx := t.Context()
	rx, err := c.CreateRxConnection(ctx, blob("urn:r", 64))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.CreateTxConnection(ctx, blob("urn:r", 64))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func(k int) error {
		b, err := tx.GetBufferTimeout(100 * time.Millisecond)
		if err != nil {
			return err
		}
		copy(b.Payload(), fmt.Sprint(k))
		if err := tx.PutBuffer(b); err != nil {
			return err
		}
		r, err := rx.GetBufferTimeout(100 * time.Millisecond)
		if err != nil {
			return err
		}
		defer rx.PutBuffer(r)
		if got := string(r.Payload()[:len(fmt.Sprint(k))]); got != fmt.Sprint(k) {
			return fmt.Errorf("got %q, want %d", got, k)
		}
		return nil
	}
	for k := range 10 {
		if err := roundTrip(k); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Close()
	restarted := time.Now()
	p2 := startProxy(t, dir)
	defer p2.Close()
	k := 10
	for {
		err := roundTrip(k)
		if err == nil {
			break
		}
		if !errors.Is(err, sdk.ErrTimeout) && !errors.Is(err, sdk.ErrTransient) {
			t.Fatalf("during the restart: %v (want a timeout or a transient error)", err)
		}
		if time.Since(restarted) > 2*time.Second {
			t.Fatalf("not resumed 2 s after the restart: %v", err)
		}
	}
	if tx.Stats().Reconnects != 1 || rx.Stats().Reconnects != 1 {
		t.Fatalf("reconnects: tx %d rx %d", tx.Stats().Reconnects, rx.Stats().Reconnects)
	}
	for k := 11; k < 20; k++ {
		if err := roundTrip(k); err != nil {
			t.Fatal(err)
		}
	}
	_ = tx.Close()
	_ = rx.Close()
}

func TestCreateErrors(t *testing.T) {
	p := startProxy(t, testutil.TempRunDir(t))
	defer p.Close()
	c := newClient(t, p)
	bad := blob("", 10)
	if _, err := c.CreateTxConnection(t.Context(), bad); !errors.Is(err, sdk.ErrConnConfigInvalid) {
		t.Fatalf("empty urn: %v", err)
	}
	tx, err := c.CreateTxConnection(t.Context(), blob("urn:e", 10))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if _, err := c.CreateTxConnection(t.Context(), blob("urn:e", 10)); !errors.Is(err, sdk.ErrConnFailed) {
		t.Fatalf("second sender: %v", err)
	}
	// No proxy at all: a clear failure, not a hang.
	nc, _ := sdk.NewClient(sdk.ClientConfig{APIConnectionString: "Server=unix:/nonexistent/sdk.sock"})
	defer nc.Close()
	cctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := nc.CreateRxConnection(cctx, blob("urn:x", 10)); !errors.Is(err, sdk.ErrConnFailed) {
		t.Fatalf("no proxy: %v", err)
	}
}
