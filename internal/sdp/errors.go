package sdp

import (
	"errors"
	"strconv"
)

// ErrInvalid is wrapped by every error Parse and Validate return: the SDP
// is malformed (Parse) or not a conforming ST 2110 description (Validate).
// The wrapping error says where and what was allowed.
var ErrInvalid = errors.New("sdp: invalid")

// ParseError locates a fault Parse found: the line, its text and what was
// wrong with it, e.g.
//
//	sdp: line 9 "a=fmtp:96 sampling=YCbCr-4:2:2; wid...": depth "11": want 8, 10, 12, 16 or 16f
//
// It wraps ErrInvalid.
type ParseError struct {
	Line int    // 1-based line number; 0 when the fault is not on one line (size limits, missing o=)
	Text string // the offending line without its line end; "" when Line is 0
	Msg  string // what was wrong and what is allowed
}

// quoteMax bounds how much of the offending line an error repeats: enough
// to recognise the line, short enough for a log line.
const quoteMax = 40

// Error formats the fault with its line number and the start of the line.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "sdp: " + e.Msg
	}
	text := e.Text
	if len(text) > quoteMax {
		cut := quoteMax
		for cut > 0 && text[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		text = text[:cut] + "..."
	}
	return "sdp: line " + strconv.Itoa(e.Line) + " " + strconv.Quote(text) + ": " + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }
