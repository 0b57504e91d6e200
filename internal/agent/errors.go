package agent

import "errors"

// Outcomes of registry operations; grpcCode maps each to its gRPC status.
var (
	// ErrInvalid: a request or config is malformed.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound: an unknown proxy, connection or command id.
	ErrNotFound = errors.New("not found")
	// ErrIncompatible: a connection does not match its group's config, or
	// a group would get a second source (mcm-api.md §5.4).
	ErrIncompatible = errors.New("incompatible with the group")
	// ErrConflict: an id is taken by another proxy.
	ErrConflict = errors.New("conflict")
	// ErrNotReady: the proxy has no command stream open.
	ErrNotReady = errors.New("proxy command stream not ready")
	// ErrForbidden: a caller acts for a proxy registered under another
	// client certificate.
	ErrForbidden = errors.New("permission denied")
	// ErrClosed: the agent is shutting down.
	ErrClosed = errors.New("agent closed")
)
