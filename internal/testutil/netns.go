//go:build linux

package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace made for one test (ip netns add).
type NS struct {
	// Name is the namespace's name under /run/netns.
	Name string
}

// nsSeq makes namespace and link names unique within the process; the
// pid makes them unique across test binaries running side by side.
var nsSeq atomic.Uint64

// RequireRoot skips the test unless it runs as root with iproute2 at
// hand; under CI=true it fails instead, so a missing privilege is not a
// silent hole.
func RequireRoot(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2 (ip)"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// NetNS creates a network namespace named after name (made unique), with
// lo up, and deletes it when the test ends. Sockets still open in it keep
// it alive until they close.
func NetNS(t testing.TB, name string) *NS {
	t.Helper()
	RequireRoot(t)
	ns := &NS{Name: fmt.Sprintf("mm%d-%s-%d", os.Getpid(), name, nsSeq.Add(1))}
	ipCmd(t, "netns", "add", ns.Name)
	t.Cleanup(func() {
		if b, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, b)
		}
	})
	ipCmd(t, "-n", ns.Name, "link", "set", "lo", "up")
	return ns
}

// Veth links a and b with a veth pair, gives each end its address (a /24
// unless a prefix is given, e.g. "10.9.0.1" or "10.9.0.1/24"), turns
// MULTICAST on and brings both ends and lo up. It returns the names of
// the two ends, in a and in b.
func Veth(t testing.TB, a *NS, aAddr string, b *NS, bAddr string) (aDev, bDev string) {
	t.Helper()
	n := nsSeq.Add(1)
	aDev, bDev = fmt.Sprintf("mmv%da", n), fmt.Sprintf("mmv%db", n)
	ipCmd(t, "link", "add", aDev, "netns", a.Name, "type", "veth", "peer", "name", bDev, "netns", b.Name)
	for _, end := range []struct {
		ns        *NS
		dev, addr string
	}{{a, aDev, aAddr}, {b, bDev, bAddr}} {
		addr := end.addr
		if !strings.Contains(addr, "/") {
			addr += "/24"
		}
		ipCmd(t, "-n", end.ns.Name, "addr", "add", addr, "dev", end.dev)
		ipCmd(t, "-n", end.ns.Name, "link", "set", end.dev, "multicast", "on", "up")
		ipCmd(t, "-n", end.ns.Name, "link", "set", "lo", "up")
	}
	// Until linkwatch has run (up to a second after the carrier came up)
	// the qdisc is noop and silently drops what is sent: wait for both
	// ends to be operationally up with a real qdisc.
	for _, end := range []struct {
		ns  *NS
		dev string
	}{{a, aDev}, {b, bDev}} {
		Eventually(t, 5*time.Second, func() error {
			out, err := exec.Command("ip", "-n", end.ns.Name, "link", "show", "dev", end.dev).CombinedOutput()
			if err != nil {
				return fmt.Errorf("ip link show %s: %w: %s", end.dev, err, out)
			}
			if s := string(out); !strings.Contains(s, "state UP") || strings.Contains(s, "qdisc noop") {
				return fmt.Errorf("%s not up yet: %s", end.dev, strings.TrimSpace(s))
			}
			return nil
		})
	}
	return aDev, bDev
}

// Do runs fn on an OS thread switched into the namespace and returns its
// error. Sockets fn creates stay in the namespace afterwards: a socket
// belongs to the namespace it was made in, not to a thread. fn runs on a
// goroutine of its own, so it must not call t.Fatal (return an error
// instead), and goroutines it starts run outside the namespace. If the
// thread cannot be switched back it is left locked, so the runtime
// retires it with its goroutine instead of reusing it in the wrong
// namespace.
func (ns *NS) Do(fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- ns.do(fn) }() // exits when fn returns; Do waits for it
	return <-done
}

func (ns *NS) do(fn func() error) error {
	target, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns %s: %w", ns.Name, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	// Opened after locking: the namespace of this very thread.
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: own namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: setns: %w", ns.Name, err)
	}
	fnErr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netns %s: switching back: %w (thread retired)", ns.Name, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// Exec returns a command that runs name with args inside the namespace
// (ip netns exec).
func (ns *NS) Exec(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, b)
	}
}

// LAN is a switched test network: a Linux bridge in a namespace of its
// own, with one namespace per host plugged into it by a veth pair. It is
// what a rack of machines on one switch looks like, with the switch port
// of each host under the test's control (SetLink), so a test can cut one
// host off while the others keep talking.
type LAN struct {
	// NS holds the bridge and the switch-side end of every host's veth.
	NS *NS
	// Bridge is the bridge device's name in NS.
	Bridge string
	// Hosts are the attached hosts by the names given to NewLAN.
	Hosts map[string]*LANHost
}

// LANHost is one host on a LAN.
type LANHost struct {
	// NS is the host's own namespace.
	NS *NS
	// Addr is its IPv4 address, without the prefix length.
	Addr string
	// Dev is its interface, in NS.
	Dev string
	// Port is the switch-side end of its veth, enslaved to the bridge, in
	// the LAN's namespace.
	Port string
}

// NewLAN makes a LAN named after name: a namespace holding a bridge
// "br0", and for each entry of hosts (host name → IPv4 address, a /24
// unless a prefix is given) a namespace with lo up and a veth whose host
// end carries the address and whose other end is a bridge port. It
// returns once every link is up with a real qdisc and every port
// forwards. Everything goes when the test ends, namespaces last.
func NewLAN(t testing.TB, name string, hosts map[string]string) *LAN {
	t.Helper()
	lan := &LAN{NS: NetNS(t, name), Bridge: "br0", Hosts: map[string]*LANHost{}}
	// No STP: a port forwards as soon as it is up, instead of after the
	// 15 s listening and learning delays a real switch would take.
	ipCmd(t, "-n", lan.NS.Name, "link", "add", lan.Bridge, "type", "bridge", "stp_state", "0")
	ipCmd(t, "-n", lan.NS.Name, "link", "set", lan.Bridge, "up")
	for _, hn := range sortedHosts(hosts) {
		addr := hosts[hn]
		if !strings.Contains(addr, "/") {
			addr += "/24"
		}
		n := nsSeq.Add(1)
		h := &LANHost{NS: NetNS(t, hn), Addr: strings.Split(addr, "/")[0],
			Dev: fmt.Sprintf("mml%dh", n), Port: fmt.Sprintf("mml%dp", n)}
		ipCmd(t, "link", "add", h.Dev, "netns", h.NS.Name, "type", "veth", "peer", "name", h.Port, "netns", lan.NS.Name)
		ipCmd(t, "-n", lan.NS.Name, "link", "set", h.Port, "master", lan.Bridge, "up")
		ipCmd(t, "-n", h.NS.Name, "addr", "add", addr, "dev", h.Dev)
		ipCmd(t, "-n", h.NS.Name, "link", "set", h.Dev, "multicast", "on", "up")
		lan.Hosts[hn] = h
	}
	for _, hn := range sortedHosts(hosts) {
		lan.waitUp(t, hn)
	}
	return lan
}

// SetLink takes host's switch port down or up, as pulling and putting
// back its cable: the host keeps its address and routes but its
// interface loses carrier, and TCP connections through it stall rather
// than reset. Up waits until the port forwards again.
func (l *LAN) SetLink(t testing.TB, host string, up bool) {
	t.Helper()
	h := l.Hosts[host]
	if h == nil {
		t.Fatalf("lan: no host %q", host)
	}
	state := "down"
	if up {
		state = "up"
	}
	ipCmd(t, "-n", l.NS.Name, "link", "set", h.Port, state)
	if up {
		l.waitUp(t, host)
	}
}

// waitUp waits until host's interface is operationally up with a real
// qdisc (until linkwatch has run, a noop qdisc drops what is sent; see
// Veth) and its bridge port forwards.
func (l *LAN) waitUp(t testing.TB, host string) {
	t.Helper()
	h := l.Hosts[host]
	Eventually(t, 5*time.Second, func() error {
		out, err := exec.Command("ip", "-n", h.NS.Name, "link", "show", "dev", h.Dev).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip link show %s: %w: %s", h.Dev, err, out)
		}
		if s := string(out); !strings.Contains(s, "state UP") || strings.Contains(s, "qdisc noop") {
			return fmt.Errorf("%s of %s not up yet: %s", h.Dev, host, strings.TrimSpace(s))
		}
		out, err = exec.Command("ip", "-n", l.NS.Name, "-d", "link", "show", "dev", h.Port).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip link show %s: %w: %s", h.Port, err, out)
		}
		if s := string(out); !strings.Contains(s, "state UP") || !strings.Contains(s, "bridge_slave state forwarding") {
			return fmt.Errorf("bridge port %s of %s not forwarding yet: %s", h.Port, host, strings.TrimSpace(s))
		}
		return nil
	})
}

// sortedHosts orders host names, so namespaces and devices are made in
// the same order on every run.
func sortedHosts(hosts map[string]string) []string {
	names := make([]string, 0, len(hosts))
	for n := range hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
