//go:build linux

package bridge_test

import (
	"context"
	"net"
	"testing"

	"mediamesh/internal/testutil"
)

// BenchmarkBridgeNetns is BenchmarkBridge between two network namespaces
// joined by a veth pair, as two nodes are: the bridge's throughput, and a
// plain single TCP stream between the same namespaces right after it
// (tcp-MB/s); ratio = bridge / plain, target ≥ 0.8. Needs root.
func BenchmarkBridgeNetns(b *testing.B) {
	testutil.RequireRoot(b)
	nsA, nsB := testutil.NetNS(b, "bra"), testutil.NetNS(b, "brb")
	testutil.Veth(b, nsA, "10.91.0.1", nsB, "10.91.0.2")
	benchSizes(b, []int{1 << 20, 5_000_000}, link{addr: "10.91.0.2:0", inB: nsB.Do, dial: dialFrom(nsA)})
}

// dialFrom dials addr from inside ns.
func dialFrom(ns *testutil.NS) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	}
}
