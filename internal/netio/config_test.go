package netio

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	ip := netip.MustParseAddr
	tests := []struct {
		name   string
		listen bool
		cfg    Config
		want   string // substring of the error; "" = valid
	}{
		{"listen unicast", true, Config{Local: ap("127.0.0.1:0")}, ""},
		{"listen group", true, Config{Local: ap("239.1.1.1:5004"), Interface: ip("10.0.0.1"), Source: ip("10.0.0.9")}, ""},
		{"listen mapped", true, Config{Local: ap("[::ffff:239.1.1.1]:5004")}, ""},
		{"listen no local", true, Config{}, "need an IPv4 address"},
		{"listen ipv6", true, Config{Local: ap("[::1]:5004")}, "need an IPv4 address"},
		{"listen group port 0", true, Config{Local: ap("239.1.1.1:0")}, "needs a port"},
		{"listen source unicast", true, Config{Local: ap("10.0.0.1:5004"), Source: ip("10.0.0.9")}, "needs a multicast Local"},
		{"listen source multicast", true, Config{Local: ap("239.1.1.1:5004"), Source: ip("239.0.0.1")}, "IPv4 unicast"},
		{"listen remote", true, Config{Local: ap("127.0.0.1:0"), Remote: ap("127.0.0.1:9")}, "no remote"},
		{"listen txtime", true, Config{Local: ap("127.0.0.1:0"), TxTime: true}, "only for Dial"},
		{"listen bad buffer", true, Config{Local: ap("127.0.0.1:0"), RecvBuffer: -1}, "RecvBuffer -1"},
		{"listen bad interface", true, Config{Local: ap("239.1.1.1:1"), Interface: ip("::1")}, "Interface ::1"},
		{"dial", false, Config{Remote: ap("239.1.1.1:5004"), Local: ap("10.0.0.1:0")}, ""},
		{"dial no remote", false, Config{}, "Remote invalid AddrPort"},
		{"dial remote port 0", false, Config{Remote: ap("10.0.0.1:0")}, "and a port"},
		{"dial remote any", false, Config{Remote: ap("0.0.0.0:9")}, "and a port"},
		{"dial local multicast", false, Config{Remote: ap("10.0.0.1:9"), Local: ap("239.1.1.1:0")}, "unicast source"},
		{"dial source", false, Config{Remote: ap("10.0.0.1:9"), Source: ip("10.0.0.2")}, "only for a multicast Listen"},
		{"dial ttl", false, Config{Remote: ap("10.0.0.1:9"), TTL: 256}, "TTL 256"},
		{"dial big buffer", false, Config{Remote: ap("10.0.0.1:9"), SendBuffer: maxBuffer + 1}, "SendBuffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.listen {
				_, err = tt.cfg.checkListen()
			} else {
				_, err = tt.cfg.checkDial()
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrConfig containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigAllErrorsAtOnce(t *testing.T) {
	t.Parallel()
	_, err := Config{Remote: netip.MustParseAddrPort("10.0.0.1:0"), TTL: -1, RecvBuffer: -5}.checkDial()
	for _, want := range []string{"Remote", "TTL -1", "RecvBuffer -5"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
}

func TestConfigDefaultTTL(t *testing.T) {
	t.Parallel()
	cfg, err := Config{Remote: netip.MustParseAddrPort("239.1.1.1:5004")}.checkDial()
	if err != nil || cfg.TTL != DefaultTTL {
		t.Fatalf("TTL = %d, %v; want %d", cfg.TTL, err, DefaultTTL)
	}
}

func TestModeString(t *testing.T) {
	t.Parallel()
	for m, want := range map[Mode]string{SendGSO: "gso", SendMmsg: "mmsg", SendEach: "each", 7: "mode(7)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d) = %q, want %q", m, got, want)
		}
	}
}
