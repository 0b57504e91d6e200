package netio

import (
	"errors"
	"fmt"
	"net/netip"
)

// Config describes one UDP socket. Zero values mean defaults. Only IPv4 is
// supported: ST 2110 networks are IPv4 (st2110.md §10, §11).
type Config struct {
	// Local is the bind address. Listen: the multicast group itself (never
	// 0.0.0.0 for multicast: a wildcard socket gets every group any socket
	// on the host joined on that port, §11) or a local unicast address,
	// with the port. Dial: the source address; zero = the kernel's choice,
	// port 0 = any port.
	Local netip.AddrPort
	// Remote is the destination of a Dial (unicast or multicast); zero for
	// Listen.
	Remote netip.AddrPort
	// Interface is a local IPv4 address naming the interface
	// (media-proxy's -i): the join interface of a multicast Listen and
	// IP_MULTICAST_IF of a multicast Dial. Invalid = the kernel's choice.
	Interface netip.Addr
	// Source makes a multicast Listen a source-specific join (IGMPv3
	// INCLUDE, RFC 4570 source-filter): only datagrams from Source are
	// delivered. Invalid = any-source join.
	Source netip.Addr
	// TTL is the multicast TTL of a Dial (0 = DefaultTTL; the kernel's 1
	// would not cross a router).
	TTL int
	// NoLoop turns IP_MULTICAST_LOOP off. By default it is on, so
	// receivers on the same host get the stream; turn it off in production.
	NoLoop bool
	// RecvBuffer and SendBuffer are SO_RCVBUF/SO_SNDBUF requests in bytes
	// (0 = the kernel default). The FORCE variant, which passes
	// net.core.rmem_max/wmem_max but needs CAP_NET_ADMIN, is tried first.
	// Caps reports what the kernel granted.
	RecvBuffer, SendBuffer int
	// ReusePort lets several sockets share one address and port. A
	// multicast Listen sets SO_REUSEADDR, which is enough for that, and every
	// socket gets each datagram its own join admits; it deliberately does not
	// set SO_REUSEPORT, because Linux (seen on 6.18) steers a multicast
	// datagram that exactly one socket admits to any member of its reuseport
	// group, past that member's source filter and join interface (early demux
	// followed by reuseport selection). Unicast sockets set SO_REUSEADDR and
	// SO_REUSEPORT: the kernel then spreads datagrams over them.
	ReusePort bool
	// TxTime enables SO_TXTIME (CLOCK_TAI, SOF_TXTIME_REPORT_ERRORS) on a
	// Dial: sends then carry SCM_TXTIME launch times, which an etf qdisc
	// honours (st2110.md §6). Dial fails with ErrUnsupported if the kernel
	// refuses.
	TxTime bool
	// GRO enables UDP_GRO on a Listen: the kernel may hand several
	// datagrams of one flow over as one Message (see Message.Segment).
	// Callers normally turn it on.
	GRO bool
	// Timestamps enables SO_TIMESTAMPNS on a Listen: Message.At then holds
	// each datagram's arrival time, for the ST 2110-21 timing check.
	Timestamps bool
}

// DefaultTTL is the multicast TTL when Config.TTL is 0.
const DefaultTTL = 64

// maxBuffer bounds RecvBuffer and SendBuffer: the kernel doubles the value
// into an int, and nothing sane needs more.
const maxBuffer = 1 << 30

// Caps is what the kernel granted a socket.
type Caps struct {
	GSO        bool // UDP_SEGMENT usable (Dial); false after a fallback
	GRO        bool // UDP_GRO on (Listen)
	TxTime     bool // SO_TXTIME on (Dial)
	Timestamps bool // SO_TIMESTAMPNS on (Listen)
	// RecvBuffer and SendBuffer are the kernel's figures (getsockopt): twice
	// the granted request, as the kernel counts bookkeeping overhead.
	RecvBuffer, SendBuffer int
}

// Stats are a socket's counters since Listen or Dial.
type Stats struct {
	Syscalls     uint64 // sendmsg, sendmmsg and recvmmsg calls, EAGAIN included
	Packets      uint64 // datagrams sent or received (GRO segments counted one by one)
	Bytes        uint64 // UDP payload bytes sent or received
	GSOFallbacks uint64 // GSO sends that failed with EIO and were re-sent with sendmmsg
	RxQueueDrops uint64 // the kernel's count of datagrams dropped on a full receive buffer (SO_RXQ_OVFL, mod 2^32)
	TxTimeErrors uint64 // launch-time errors the qdisc reported on the error queue
	Truncated    uint64 // datagrams cut short because a RecvBatch buffer was too small
}

// Mode picks the send mechanism of Conn.Send.
type Mode uint8

// Send modes, from the fewest syscalls to the most.
const (
	// SendGSO sends each run of equal-size packets (the last of a run may
	// be shorter) as one UDP_SEGMENT super-datagram, at most 64 segments
	// and 65 507 bytes each; the runs of a batch go out in one sendmmsg.
	// Without GSO it behaves as SendMmsg.
	SendGSO Mode = iota
	// SendMmsg sends the whole batch with one sendmmsg.
	SendMmsg
	// SendEach sends one sendmsg per packet: the baseline.
	SendEach
)

// String returns the mode's name as benchmarks use it.
func (m Mode) String() string {
	switch m {
	case SendGSO:
		return "gso"
	case SendMmsg:
		return "mmsg"
	case SendEach:
		return "each"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// checkListen validates cfg for Listen and returns it normalised
// (addresses unmapped). Every problem is reported at once.
func (cfg Config) checkListen() (Config, error) {
	cfg.normalise()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	switch l := cfg.Local.Addr(); {
	case !l.Is4():
		bad("Local %v: need an IPv4 address", cfg.Local)
	case l.IsMulticast() && cfg.Local.Port() == 0:
		bad("Local %v: a multicast listen needs a port", cfg.Local)
	case !l.IsMulticast() && cfg.Source.IsValid():
		bad("Source %v: a source-specific join needs a multicast Local, got %v", cfg.Source, l)
	}
	if cfg.Remote.IsValid() {
		bad("Remote %v: Listen takes no remote", cfg.Remote)
	}
	if cfg.Source.IsValid() && (!cfg.Source.Is4() || cfg.Source.IsMulticast() || cfg.Source.IsUnspecified()) {
		bad("Source %v: need an IPv4 unicast address", cfg.Source)
	}
	if cfg.TxTime {
		bad("TxTime: only for Dial")
	}
	errs = append(errs, cfg.checkCommon()...)
	return cfg, errors.Join(errs...)
}

// checkDial validates cfg for Dial and returns it normalised (addresses
// unmapped, TTL defaulted).
func (cfg Config) checkDial() (Config, error) {
	cfg.normalise()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if r := cfg.Remote; !r.Addr().Is4() || r.Port() == 0 || r.Addr().IsUnspecified() {
		bad("Remote %v: need an IPv4 address and a port", cfg.Remote)
	}
	if l := cfg.Local.Addr(); l.IsValid() && (!l.Is4() || l.IsMulticast()) {
		bad("Local %v: need an IPv4 unicast source address", cfg.Local)
	}
	if cfg.Source.IsValid() {
		bad("Source %v: only for a multicast Listen", cfg.Source)
	}
	if cfg.TTL < 0 || cfg.TTL > 255 {
		bad("TTL %d: need 0..255", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	errs = append(errs, cfg.checkCommon()...)
	return cfg, errors.Join(errs...)
}

func (cfg Config) checkCommon() []error {
	var errs []error
	if i := cfg.Interface; i.IsValid() && (!i.Is4() || i.IsMulticast() || i.IsUnspecified()) {
		errs = append(errs, fmt.Errorf("%w: Interface %v: need a local IPv4 unicast address", ErrConfig, i))
	}
	for _, b := range []struct {
		name string
		v    int
	}{{"RecvBuffer", cfg.RecvBuffer}, {"SendBuffer", cfg.SendBuffer}} {
		if b.v < 0 || b.v > maxBuffer {
			errs = append(errs, fmt.Errorf("%w: %s %d: need 0..%d", ErrConfig, b.name, b.v, maxBuffer))
		}
	}
	return errs
}

func (cfg *Config) normalise() {
	cfg.Local = netip.AddrPortFrom(cfg.Local.Addr().Unmap(), cfg.Local.Port())
	cfg.Remote = netip.AddrPortFrom(cfg.Remote.Addr().Unmap(), cfg.Remote.Port())
	cfg.Interface = cfg.Interface.Unmap()
	cfg.Source = cfg.Source.Unmap()
}
