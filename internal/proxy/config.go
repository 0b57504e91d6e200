package proxy

import "time"

// Config is what a Proxy needs to run. Zero values mean the documented
// defaults; internal/conf fills it from flags, environment and file.
type Config struct {
	// RunDir holds the SDK unix socket (RunDir/sdk.sock) and one memif
	// socket per connection. Created 0770 if missing.
	RunDir string
	// SDKAddr is the TCP address of MCM's SDK API (gRPC), e.g.
	// "127.0.0.1:8002". Empty disables the TCP listener.
	SDKAddr string
	// Token, when set, must be presented by TCP clients as gRPC metadata
	// "authorization: Bearer <token>". A non-loopback SDKAddr needs a Token
	// unless Insecure is set.
	Token string
	// Insecure allows unauthenticated TCP on any address (lab use).
	Insecure bool
	// SocketGroup, when set, is the group (name or gid) given to the unix
	// sockets the proxy creates (mode 0660).
	SocketGroup string
	// AllowUIDs and AllowGIDs restrict which peers may use the unix SDK
	// socket (checked with SO_PEERCRED). Both empty: file permissions decide.
	AllowUIDs []uint32
	AllowGIDs []uint32
	// MaxConnections caps the connections the proxy holds at once (default
	// 1024): each one owns a socket, a goroutine and an app's shared memory
	// mapping, so a client must not be able to create them without bound.
	MaxConnections int
	// LivenessInterval bounds how fast a dead app is detected (default 200ms;
	// the contract is detection within 1 s).
	LivenessInterval time.Duration
	// ST2110IP is the local IPv4 address of the ST 2110 interface (-i):
	// senders' source address and receivers' join interface.
	ST2110IP string
	// PTPClock is a PTP hardware clock (/dev/ptpN) for ST 2110 timestamps;
	// empty uses the system clock in TAI.
	PTPClock string
}
