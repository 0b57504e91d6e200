//go:build integration

package test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"mediamesh/internal/memif"
	"mediamesh/internal/testutil"
)

// needPeer skips when a third-party peer is missing, but fails in CI,
// where scripts/deps.sh must have installed it.
func needPeer(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing: scripts/deps.sh installs Debian's %s", bin, pkg)
		}
		t.Skipf("%s not installed (Debian package %s)", bin, pkg)
	}
	return p
}

// Our memif slave against DPDK's memif PMD (an independent C
// implementation of the protocol, wire-compatible with libmemif and VPP)
// as master: testpmd forwards every packet it receives straight back (io
// mode on one port), so what comes back must be what we sent, in order.
// This exercises the handshake, S2M and M2S rings and chained buffers
// against a real peer.
func TestMemifAgainstDPDK(t *testing.T) {
	testpmd := needPeer(t, "dpdk-testpmd", "dpdk-dev")
	dir := testutil.TempRunDir(t)
	sock := filepath.Join(dir, "memif.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testpmd, "--no-huge", "-m", "1024", "--no-pci", "--file-prefix", "mm"+filepath.Base(dir),
		"--vdev=net_memif0,role=server,socket="+sock+",socket-abstract=no,bsize=2048,rsize=10",
		"--", "--forward-mode=io", "--total-num-mbufs=8192", "--no-lsc-interrupt", "--stats-period", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("testpmd:\n%s", out.String())
		}
	}()

	var c *memif.Conn
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		c, err = memif.Dial(ctx, memif.Config{SocketPath: sock, Name: "mediamesh", BufferSize: 2048, Log2RingSize: 8})
		return err
	})
	defer c.Close()

	const n = 2000
	payload := func(k int) []byte {
		p := make([]byte, 60+k%1400) // Ethernet-sized frames, so testpmd keeps them
		for i := range p {
			p[i] = byte(k*31 + i)
		}
		return p
	}
	// Lock-step, one frame in flight. testpmd drops frames until its
	// forwarding loop sees the link up, so a frame whose echo does not come
	// within 50 ms is sent again; a late echo of an earlier frame is skipped.
	q := c.Rx(0)
	var got []byte
	isEarlier := func(b []byte, k int) bool {
		for j := max(0, k-2); j < k; j++ {
			if bytes.Equal(b, payload(j)) {
				return true
			}
		}
		return false
	}
	resends := 0
	for k := 0; k < n; k++ {
	send:
		if err := c.Tx(0).WaitRoom(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Tx(0).Send(payload(k)); err != nil {
			t.Fatal(err)
		}
		for {
			if q.Available() == 0 {
				err := q.WaitTimeout(50 * time.Millisecond)
				if errors.Is(err, memif.ErrTimeout) {
					if resends++; resends > 200 {
						t.Fatalf("no echo of frame %d", k)
					}
					goto send
				}
				if err != nil {
					t.Fatalf("after %d echoes: %v", k, err)
				}
				continue
			}
			b, more, err := q.Next()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b...)
			q.Release(1)
			if more {
				continue
			}
			if bytes.Equal(got, payload(k)) {
				got = got[:0]
				break
			}
			if !isEarlier(got, k) {
				t.Fatalf("echo for frame %d: %d bytes that match no frame sent", k, len(got))
			}
			got = got[:0]
		}
	}
	t.Logf("%d frames echoed intact (%d resent while testpmd came up)", n, resends)
}
