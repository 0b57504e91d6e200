package netio

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; a closed Conn
// reports net.ErrClosed and an expired deadline os.ErrDeadlineExceeded,
// as the net package does.
var (
	// ErrUnsupported: the platform or the kernel lacks what was asked for
	// (not Linux, SO_TXTIME refused). It wraps errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("netio: %w", errors.ErrUnsupported)
	// ErrConfig: an invalid Config; the message names every bad field.
	ErrConfig = errors.New("netio: invalid config")
	// ErrGSODisabled: a GSO send failed with EIO, so UDP GSO is now off for
	// the socket. The packets were re-sent with sendmmsg: it is a warning
	// about the extra cost, reported once per socket, not a lost send.
	ErrGSODisabled = errors.New("netio: UDP GSO disabled")
	// ErrNotLocal: an interface address that no interface of this host
	// (in the caller's network namespace) has.
	ErrNotLocal = errors.New("not an address of this host")
)
