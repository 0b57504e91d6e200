package memif

import (
	"fmt"
	"time"
)

// Role is a side of a memif link.
type Role uint8

// Roles.
const (
	RoleSlave Role = iota
	RoleMaster
)

// String returns "slave" or "master".
func (r Role) String() string {
	switch r {
	case RoleSlave:
		return "slave"
	case RoleMaster:
		return "master"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Mode is the interface mode of INIT; both sides must agree.
type Mode uint8

// Interface modes (memif.md §2).
const (
	ModeEthernet   Mode = 0
	ModeIP         Mode = 1
	ModePuntInject Mode = 2
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeEthernet:
		return "ethernet"
	case ModeIP:
		return "ip"
	case ModePuntInject:
		return "punt/inject"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// libmemif defaults (memif.md §2): a 0 in Config means these.
const (
	DefaultLog2RingSize     = 10
	DefaultBufferSize       = 2048
	DefaultHandshakeTimeout = 5 * time.Second
)

// Config describes one interface, in either role. Zero values mean the
// libmemif defaults.
type Config struct {
	SocketPath   string // filesystem path, or "@name" for the abstract namespace (slave)
	ID           uint32 // interface id (INIT)
	Name         string // interface and application name, ≤ 31 bytes
	Secret       string // ≤ 23 bytes; "" = none
	Mode         Mode
	Log2RingSize uint8  // 0 → 10; ≤ 14
	BufferSize   uint32 // 0 → 2048
	NumS2M       uint8  // 0 → 1 (slave: rings it creates; master: most it accepts)
	NumM2S       uint8  // 0 → 1
	Poll         bool   // poll this side's rx rings (MASK_INT) instead of waiting on eventfds
	// AcceptImports (slave, mediamesh extension) lets the master hand over
	// read-only regions with IMPORT_REGION and name them in M2S
	// descriptors: zero-copy receive. Agree on it out of band only.
	AcceptImports    bool
	CacheLine        int // 0 → 64 on amd64, 128 on arm64 (must match the peer's build)
	HandshakeTimeout time.Duration
}

// withDefaults fills zero values and validates.
func (c Config) withDefaults() (Config, error) {
	if c.Log2RingSize == 0 {
		c.Log2RingSize = DefaultLog2RingSize
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.NumS2M == 0 {
		c.NumS2M = 1
	}
	if c.NumM2S == 0 {
		c.NumM2S = 1
	}
	if c.CacheLine == 0 {
		c.CacheLine = defaultCacheLine
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	switch {
	case c.Log2RingSize > MaxLog2RingSize:
		return c, fmt.Errorf("%w: log2 ring size %d, at most %d", ErrConfig, c.Log2RingSize, MaxLog2RingSize)
	case len(c.Name) >= NameSize:
		return c, fmt.Errorf("%w: name is %d bytes, at most %d", ErrConfig, len(c.Name), NameSize-1)
	case hasNUL(c.Name):
		return c, fmt.Errorf("%w: name contains NUL", ErrConfig)
	case len(c.Secret) >= SecretSize:
		return c, fmt.Errorf("%w: secret is %d bytes, at most %d", ErrConfig, len(c.Secret), SecretSize-1)
	case hasNUL(c.Secret):
		return c, fmt.Errorf("%w: secret contains NUL", ErrConfig)
	case c.CacheLine != 64 && c.CacheLine != 128:
		return c, fmt.Errorf("%w: cache line %d, want 64 or 128", ErrConfig, c.CacheLine)
	case c.Mode > ModePuntInject:
		return c, fmt.Errorf("%w: mode %d", ErrConfig, c.Mode)
	}
	// libmemif multiplies in 32 bits and descriptors carry u32 offsets
	// (memif.md §6.4, §9).
	n := uint64(1) << c.Log2RingSize
	rings := uint64(c.NumS2M) + uint64(c.NumM2S)
	if total := uint64(c.BufferSize) * n * rings; total >= 1<<32 {
		return c, fmt.Errorf("%w: %d-byte buffers × %d slots × %d rings = %d bytes, must stay below 4 GiB",
			ErrConfig, c.BufferSize, n, rings, total)
	}
	return c, nil
}

func hasNUL(s string) bool {
	for i := range len(s) {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// ringBytes is one ring's size (memif.md §6.4): header of two cache lines
// plus N descriptors.
func ringBytes(cacheLine int, log2 uint8) int {
	return 2*cacheLine + DescSize<<log2
}
