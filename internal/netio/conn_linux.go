package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SO_TXTIME flags (include/uapi/linux/net_tstamp.h); x/sys/unix lacks them.
const (
	sofTxTimeReportErrors = 1 << 1
)

// Conn is one UDP socket opened by Listen or Dial. Send and Recv may run
// concurrently with each other and with Close, each with its own batch.
type Conn struct {
	pc     *net.UDPConn    // owns the fd; its poller registration drives rc
	rc     syscall.RawConn // raw access through the runtime poller
	local  netip.AddrPort
	caps   Caps        // as granted at open; GSO lives in gso
	gso    atomic.Bool // UDP_SEGMENT usable; cleared by the EIO fallback
	txTime bool

	closeOnce sync.Once
	closeErr  error

	stats struct {
		syscalls, packets, bytes   atomic.Uint64
		gsoFallbacks, txTimeErrors atomic.Uint64
		truncated                  atomic.Uint64
		rxDrops                    atomic.Uint32 // latest SO_RXQ_OVFL counter
	}

	errq errQueue // drained by Stats when TxTime is on
}

// Listen opens a receiving socket: bound to cfg.Local, joined to the group
// when Local is multicast (source-specific when cfg.Source is set), with
// IP_MULTICAST_ALL off so it gets only what it joined, and SO_RXQ_OVFL on
// so drops are counted.
func Listen(cfg Config) (*Conn, error) { return listen(cfg, unix.IPPROTO_UDP) }

// Dial opens a sending socket connected to cfg.Remote, so sends carry no
// address, with GSO probed.
func Dial(cfg Config) (*Conn, error) { return dial(cfg, unix.IPPROTO_UDP) }

// listen and dial take the IP protocol so tests can open UDP-Lite sockets,
// on which the kernel refuses GSO with EIO (udp_send_skb): the one EIO
// source a test can provoke without IPsec.
func listen(cfg Config, proto int) (*Conn, error) {
	cfg, err := cfg.checkListen()
	if err != nil {
		return nil, err
	}
	ifindex, err := interfaceIndex(cfg.Interface)
	if err != nil {
		return nil, err
	}
	return open(proto, func(fd int, c *Conn) error {
		if err := setCommon(fd, cfg, c); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); err != nil {
			return sockErr("IP_MULTICAST_ALL", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
			return sockErr("SO_RXQ_OVFL", err)
		}
		// GRO and timestamps are offers: without them Recv still works.
		c.caps.GRO = cfg.GRO && unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1) == nil
		c.caps.Timestamps = cfg.Timestamps && unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
		if err := unix.Bind(fd, sockaddr(cfg.Local)); err != nil {
			return sockErr(fmt.Sprintf("bind %v", cfg.Local), err)
		}
		if cfg.Local.Addr().IsMulticast() {
			return join(fd, cfg.Local.Addr(), cfg.Interface, ifindex, cfg.Source)
		}
		return nil
	})
}

func dial(cfg Config, proto int) (*Conn, error) {
	cfg, err := cfg.checkDial()
	if err != nil {
		return nil, err
	}
	ifindex, err := interfaceIndex(cfg.Interface)
	if err != nil {
		return nil, err
	}
	return open(proto, func(fd int, c *Conn) error {
		if err := setCommon(fd, cfg, c); err != nil {
			return err
		}
		if cfg.Remote.Addr().IsMulticast() {
			if cfg.Interface.IsValid() {
				mreq := &unix.IPMreqn{Address: cfg.Interface.As4(), Ifindex: int32(ifindex)}
				if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq); err != nil {
					return sockErr("IP_MULTICAST_IF", err)
				}
			}
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, cfg.TTL); err != nil {
				return sockErr("IP_MULTICAST_TTL", err)
			}
			loop := 1
			if cfg.NoLoop {
				loop = 0
			}
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, loop); err != nil {
				return sockErr("IP_MULTICAST_LOOP", err)
			}
		}
		if cfg.TxTime {
			// struct sock_txtime {clockid_t clockid; u32 flags}. CLOCK_TAI
			// is what etf expects (st2110.md §6) and needs CAP_NET_ADMIN
			// (sk_setsockopt); there is no fallback: a sender that asked
			// for launch times must know it has none.
			var st [8]byte
			binary.NativeEndian.PutUint32(st[0:], unix.CLOCK_TAI)
			binary.NativeEndian.PutUint32(st[4:], sofTxTimeReportErrors)
			if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_TXTIME, string(st[:])); err != nil {
				return fmt.Errorf("%w: SO_TXTIME (CLOCK_TAI): %w", ErrUnsupported, err)
			}
			c.caps.TxTime, c.txTime = true, true
			c.errq.init()
		}
		// Reading UDP_SEGMENT succeeds on kernels that have UDP GSO (4.18+);
		// whether a route can really use it shows only at the first send.
		if _, err := unix.GetsockoptInt(fd, unix.SOL_UDP, unix.UDP_SEGMENT); err == nil {
			c.gso.Store(true)
		}
		if cfg.Local.IsValid() || cfg.Local.Port() != 0 {
			if err := unix.Bind(fd, sockaddr(cfg.Local)); err != nil {
				return sockErr(fmt.Sprintf("bind %v", cfg.Local), err)
			}
		}
		if err := unix.Connect(fd, sockaddr(cfg.Remote)); err != nil {
			return sockErr(fmt.Sprintf("connect %v", cfg.Remote), err)
		}
		return nil
	})
}

// open creates a socket, lets setup configure it, then hands it to the net
// package, which registers it with the runtime poller: Close then wakes
// blocked readers with net.ErrClosed and deadlines work, with no thread
// parked in a syscall.
func open(proto int, setup func(fd int, c *Conn) error) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, sockErr("socket", err)
	}
	c := &Conn{}
	if err := setup(fd, c); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// FilePacketConn dups the fd (socket options and memberships belong to
	// the socket, not the fd) and makes the dup nonblocking.
	f := os.NewFile(uintptr(fd), "netio")
	pc, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("netio: %w", err)
	}
	c.pc = pc.(*net.UDPConn)
	if c.rc, err = c.pc.SyscallConn(); err != nil {
		c.pc.Close()
		return nil, fmt.Errorf("netio: %w", err)
	}
	c.local = c.pc.LocalAddr().(*net.UDPAddr).AddrPort()
	c.local = netip.AddrPortFrom(c.local.Addr().Unmap(), c.local.Port())
	c.caps.GSO = c.gso.Load()
	return c, nil
}

// setCommon applies the options Listen and Dial share.
func setCommon(fd int, cfg Config, c *Conn) error {
	if cfg.ReusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return sockErr("SO_REUSEADDR", err)
		}
	}
	// See Config.ReusePort for why a multicast receiver stops at SO_REUSEADDR.
	if cfg.ReusePort && !cfg.Local.Addr().IsMulticast() {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return sockErr("SO_REUSEPORT", err)
		}
	}
	var err error
	if c.caps.RecvBuffer, err = setBuffer(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, cfg.RecvBuffer); err != nil {
		return sockErr("SO_RCVBUF", err)
	}
	if c.caps.SendBuffer, err = setBuffer(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, cfg.SendBuffer); err != nil {
		return sockErr("SO_SNDBUF", err)
	}
	return nil
}

// setBuffer asks for size bytes with the FORCE option (CAP_NET_ADMIN
// passes net.core.[rw]mem_max), else the capped one, and returns the
// kernel's figure.
func setBuffer(fd, force, plain, size int) (int, error) {
	if size > 0 && unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size); err != nil {
			return 0, err
		}
	}
	return unix.GetsockoptInt(fd, unix.SOL_SOCKET, plain)
}

// join adds the membership: IP_ADD_SOURCE_MEMBERSHIP for a
// source-specific join (IGMPv3 INCLUDE), IP_ADD_MEMBERSHIP otherwise.
func join(fd int, group, iface netip.Addr, ifindex int, source netip.Addr) error {
	var ifa [4]byte // INADDR_ANY: the kernel picks the interface by route
	if iface.IsValid() {
		ifa = iface.As4()
	}
	if source.IsValid() {
		// struct ip_mreq_source, Linux order: multiaddr, interface,
		// sourceaddr (st2110.md §11; the BSDs put the source second).
		var m [12]byte
		g, s := group.As4(), source.As4()
		copy(m[0:], g[:])
		copy(m[4:], ifa[:])
		copy(m[8:], s[:])
		if err := unix.SetsockoptString(fd, unix.IPPROTO_IP, unix.IP_ADD_SOURCE_MEMBERSHIP, string(m[:])); err != nil {
			return sockErr(fmt.Sprintf("join %v source %v", group, source), err)
		}
		return nil
	}
	mreq := &unix.IPMreqn{Multiaddr: group.As4(), Address: ifa, Ifindex: int32(ifindex)}
	if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); err != nil {
		return sockErr(fmt.Sprintf("join %v", group), err)
	}
	return nil
}

// interfaceIndex resolves a Config.Interface address (0 when unset), so a
// wrong -i fails with the host's addresses listed rather than ENODEV.
func interfaceIndex(ip netip.Addr) (int, error) {
	if !ip.IsValid() {
		return 0, nil
	}
	ifi, err := InterfaceByIP(ip)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}

func sockaddr(ap netip.AddrPort) *unix.SockaddrInet4 {
	sa := &unix.SockaddrInet4{Port: int(ap.Port())}
	if ap.Addr().IsValid() {
		sa.Addr = ap.Addr().As4()
	}
	return sa
}

func sockErr(op string, err error) error {
	return fmt.Errorf("netio: %s: %w", op, err)
}

// Close closes the socket. It is idempotent; a blocked Recv or Send
// returns an error matching net.ErrClosed, and once Close returns no call
// is inside a syscall on the fd.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.pc.Close() })
	return c.closeErr
}

// LocalAddr returns the bound address (the group and port for a
// multicast Listen).
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// Caps returns what the kernel granted; GSO turns false after a fallback.
func (c *Conn) Caps() Caps {
	caps := c.caps
	caps.GSO = c.gso.Load()
	return caps
}

// Stats returns the counters. With TxTime on it first drains the socket's
// error queue to count launch-time errors (one nonblocking recvmsg per
// queued report), which keeps that syscall off the send path.
func (c *Conn) Stats() Stats {
	if c.txTime {
		c.drainErrQueue()
	}
	return Stats{
		Syscalls:     c.stats.syscalls.Load(),
		Packets:      c.stats.packets.Load(),
		Bytes:        c.stats.bytes.Load(),
		GSOFallbacks: c.stats.gsoFallbacks.Load(),
		RxQueueDrops: uint64(c.stats.rxDrops.Load()),
		TxTimeErrors: c.stats.txTimeErrors.Load(),
		Truncated:    c.stats.truncated.Load(),
	}
}

// SetReadDeadline sets the deadline of Recv; an expired one makes Recv
// return an error matching os.ErrDeadlineExceeded.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of a Send waiting for socket buffer
// space.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// errQueue is the scratch for reading MSG_ERRQUEUE reports.
type errQueue struct {
	mu    sync.Mutex // serialises drains; guards the fields below
	msg   unix.Msghdr
	iov   unix.Iovec
	buf   [64]byte
	ctl   [128]byte
	count uint64
	drain func(fd uintptr)
}

func (q *errQueue) init() { q.drain = q.read }

// read empties the error queue, counting SO_TXTIME reports (etf's
// "missed deadline" and "invalid parameter", SO_EE_ORIGIN_TXTIME).
func (q *errQueue) read(fd uintptr) {
	for range 256 {
		q.iov.Base = &q.buf[0]
		q.iov.SetLen(len(q.buf))
		q.msg.Iov, q.msg.Iovlen = &q.iov, 1
		q.msg.Control = &q.ctl[0]
		q.msg.SetControllen(len(q.ctl))
		q.msg.Flags = 0
		if _, errno := recvmsg(fd, &q.msg, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT); errno != 0 {
			return
		}
		if origin, ok := parseErrQueue(q.ctl[:min(int(q.msg.Controllen), len(q.ctl))]); ok && origin == unix.SO_EE_ORIGIN_TXTIME {
			q.count++
		}
	}
}

func (c *Conn) drainErrQueue() {
	c.errq.mu.Lock()
	defer c.errq.mu.Unlock()
	c.errq.count = 0
	_ = c.rc.Control(c.errq.drain) // fails only once closed, with nothing to count
	c.stats.txTimeErrors.Add(c.errq.count)
}
