package memif

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkLeaks compares goroutines, open fds and memif region mappings at
// cleanup with their count now, polling until they settle (a local helper:
// internal/testutil is being written concurrently).
func checkLeaks(t *testing.T) {
	t.Helper()
	g0, f0, m0 := runtime.NumGoroutine(), countFDs(t), countRegionMaps(t)
	t.Cleanup(func() {
		var g, f, m int
		ok := eventually(5*time.Second, func() bool {
			g, f, m = runtime.NumGoroutine(), countFDs(t), countRegionMaps(t)
			return g <= g0 && f <= f0 && m <= m0
		})
		if !ok {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("leak: goroutines %d→%d, fds %d→%d, memif mappings %d→%d\nfds: %s\n%s", g0, g, f0, f, m0, m, fdLinks(), buf[:n])
		}
	})
}

// eventually polls cond every few milliseconds until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// fdLinks lists open fds with their targets, for leak reports.
func fdLinks() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		b.WriteString(e.Name() + "→" + l + " ")
	}
	return b.String()
}

func countRegionMaps(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "memif region")
}

// sockPath is a socket path in a short temporary directory: t.TempDir
// names can exceed sun_path's 108 bytes.
func sockPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "memif")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "m.sock")
}

// listen starts a Listener on path, closed at cleanup.
func listen(t testing.TB, lc ListenConfig) *Listener {
	t.Helper()
	l, err := Listen(lc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// pair links a master interface (cfg master) and a slave (cfg slave) over
// a real socket at slave.SocketPath; both Conns close at cleanup.
func pair(t testing.TB, master, slave Config) (m, s *Conn) {
	t.Helper()
	l := listen(t, ListenConfig{Path: slave.SocketPath})
	master.ID = slave.ID
	iface, err := l.Register(master)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		merr error
		wg   sync.WaitGroup
	)
	wg.Go(func() { m, merr = iface.Accept(ctx) })
	s, err = Dial(ctx, slave)
	wg.Wait()
	if err != nil || merr != nil {
		t.Fatalf("dial: %v, accept: %v", err, merr)
	}
	t.Cleanup(func() { _ = s.Close(); _ = m.Close() })
	return m, s
}

// vec builds a 128-byte message from hex dump rows "0020: 00 61 70 70";
// bytes not given are zero.
func vec(t testing.TB, rows ...string) []byte {
	t.Helper()
	b := make([]byte, MsgSize)
	for _, row := range rows {
		off, data, ok := strings.Cut(row, ":")
		if !ok {
			t.Fatalf("bad row %q", row)
		}
		o, err := hex.DecodeString(strings.TrimSpace(off))
		if err != nil || len(o) != 2 {
			t.Fatalf("bad offset in %q", row)
		}
		d, err := hex.DecodeString(strings.ReplaceAll(data, " ", ""))
		if err != nil {
			t.Fatalf("bad bytes in %q: %v", row, err)
		}
		copy(b[int(o[0])<<8|int(o[1]):], d)
	}
	return b
}

// mcmName is the 31-character name of the spec §12 vectors.
const mcmName = "memif_tx_5a1b8c3d-2e4f-4a6b-8c7"
