package sdk

import "fmt"

// MCM's error codes (mesh_dp.h), returned negated by the C API. mediamesh
// adds ErrCodeTransient.
const (
	ErrCodeBadClientPtr       = 1000
	ErrCodeBadConnPtr         = 1001
	ErrCodeBadConfigPtr       = 1002
	ErrCodeBadBufPtr          = 1003
	ErrCodeBadBufLen          = 1004
	ErrCodeClientConfigInval  = 1005
	ErrCodeMaxConn            = 1006
	ErrCodeFoundAllocated     = 1007
	ErrCodeConnFailed         = 1008
	ErrCodeConnConfigInval    = 1009
	ErrCodeConnConfigIncompat = 1010
	ErrCodeConnClosed         = 1011
	ErrCodeTimeout            = 1012
	ErrCodeNotImplemented     = 1013
	// ErrCodeTransient: media-proxy is unreachable or restarting; the
	// connection relinks by itself, retry.
	ErrCodeTransient = 2000
)

// Error is an SDK error with MCM's code. errors.Is matches by code, so
// errors.Is(err, sdk.ErrTimeout) works for any wrapped *Error of that code.
type Error struct {
	Code int
	Op   string
	Err  error
}

func (e *Error) Error() string {
	s := ErrText(e.Code)
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrBadBufPtr           = &Error{Code: ErrCodeBadBufPtr}
	ErrBadBufLen           = &Error{Code: ErrCodeBadBufLen}
	ErrClientConfigInvalid = &Error{Code: ErrCodeClientConfigInval}
	ErrMaxConn             = &Error{Code: ErrCodeMaxConn}
	ErrFoundAllocated      = &Error{Code: ErrCodeFoundAllocated}
	ErrConnFailed          = &Error{Code: ErrCodeConnFailed}
	ErrConnConfigInvalid   = &Error{Code: ErrCodeConnConfigInval}
	ErrConnConfigIncompat  = &Error{Code: ErrCodeConnConfigIncompat}
	ErrConnClosed          = &Error{Code: ErrCodeConnClosed}
	ErrTimeout             = &Error{Code: ErrCodeTimeout}
	ErrNotImplemented      = &Error{Code: ErrCodeNotImplemented}
	ErrTransient           = &Error{Code: ErrCodeTransient}
)

var errTexts = map[int]string{
	ErrCodeBadClientPtr:       "Bad client pointer",
	ErrCodeBadConnPtr:         "Bad connection pointer",
	ErrCodeBadConfigPtr:       "Bad configuration pointer",
	ErrCodeBadBufPtr:          "Bad buffer pointer",
	ErrCodeBadBufLen:          "Bad buffer length",
	ErrCodeClientConfigInval:  "Invalid parameters in client configuration",
	ErrCodeMaxConn:            "Reached max number of connections",
	ErrCodeFoundAllocated:     "Found allocated resources",
	ErrCodeConnFailed:         "Connection creation failed",
	ErrCodeConnConfigInval:    "Invalid parameters in connection configuration",
	ErrCodeConnConfigIncompat: "Incompatible parameters in connection configuration",
	ErrCodeConnClosed:         "Connection is closed",
	ErrCodeTimeout:            "Timeout occurred",
	ErrCodeNotImplemented:     "Feature not implemented yet",
	ErrCodeTransient:          "Transient error: media proxy unavailable, retrying",
}

// ErrText is MCM's mesh_err2str text for a code (negative or positive).
func ErrText(code int) string {
	if code < 0 {
		code = -code
	}
	if s, ok := errTexts[code]; ok {
		return s
	}
	return "Unknown error code"
}

func configErr(code int, format string, args ...any) error {
	return &Error{Code: code, Op: "config", Err: fmt.Errorf(format, args...)}
}
