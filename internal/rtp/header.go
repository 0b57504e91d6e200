package rtp

import (
	"encoding/binary"
	"io"
)

// Fixed header layout (RFC 3550 §5.1), big-endian:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	|V=2|P|X|  CC   |M|     PT      |       sequence number         |
//	|                           timestamp                           |
//	|                             SSRC                              |
//	|            CSRC list: CC × 32 bits (skipped)                  |
//	| if X: profile (16)            | length in 32-bit words (16)   |
//	|            extension: length × 32 bits (skipped)              |
//	|            payload ...        | padding, last byte = count    |
const (
	// HeaderSize is the fixed header without CSRCs or extension.
	HeaderSize = 12
	// Version is the only RTP version there is (RFC 3550 §5.1).
	Version = 2

	seqOffset  = 2
	tsOffset   = 4
	ssrcOffset = 8

	versionShift  = 6
	paddingBit    = 1 << 5
	extensionBit  = 1 << 4
	ccMask        = 0x0f
	markerBit     = 1 << 7
	ptMask        = 0x7f
	csrcSize      = 4
	extHeaderSize = 4 // profile + length
	extWordSize   = 4
)

// Header is the part of the RTP header ST 2110 senders set. The other
// fields are fixed on output (V=2, P=0, X=0, CC=0) and handled on input.
type Header struct {
	Marker      bool   // M: last packet of a frame or field (§1)
	PayloadType uint8  // PT: 7 bits, dynamic 96–127 in ST 2110
	Seq         uint16 // sequence number, +1 per packet, wraps
	Timestamp   uint32 // media clock: 90 kHz video, 48 kHz audio
	SSRC        uint32 // stream identifier, constant for its life
}

// MarshalSize returns HeaderSize: marshalled headers carry no CSRCs and
// no extension.
func (*Header) MarshalSize() int { return HeaderSize }

// MarshalTo writes the header into b[:HeaderSize] with V=2, P=0, X=0,
// CC=0. It fails with io.ErrShortBuffer if b is shorter, and with
// ErrPayloadType if PayloadType does not fit 7 bits.
func (h *Header) MarshalTo(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, errDetail(io.ErrShortBuffer, "buffer", len(b), ">=", HeaderSize)
	}
	if h.PayloadType > ptMask {
		return 0, errDetail(ErrPayloadType, "payload type", int(h.PayloadType), "<=", ptMask)
	}
	b[0] = Version << versionShift
	b[1] = h.PayloadType
	Patch(b, h.Seq, h.Timestamp, h.Marker)
	binary.BigEndian.PutUint32(b[ssrcOffset:], h.SSRC)
	return HeaderSize, nil
}

// Marshal returns the header in a new buffer.
func (h *Header) Marshal() ([]byte, error) {
	b := make([]byte, HeaderSize)
	n, err := h.MarshalTo(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// Unmarshal reads the header at the start of b into h and returns its
// length including the CSRC list and the header extension, that is the
// offset of the payload. It does not look at padding: use Parse for the
// payload bounds. On error h is left unchanged.
func (h *Header) Unmarshal(b []byte) (int, error) {
	n, err := headerLen(b)
	if err != nil {
		return 0, err
	}
	h.read(b)
	return n, nil
}

// Parse reads the header of pkt into h and returns the payload: it skips
// 4*CC CSRC bytes and a header extension when X=1, and strips padding when
// P=1. Errors wrap ErrShort (fewer bytes than the header, CSRCs, extension
// or padding count claim), ErrVersion (V != 2) or ErrPadding (padding count
// 0 or larger than the bytes after the header). The payload aliases pkt,
// its capacity ends with it; it may be empty. Parse never panics and
// allocates nothing for an accepted packet. On error h is left unchanged.
func Parse(h *Header, pkt []byte) (payload []byte, err error) {
	n, err := headerLen(pkt)
	if err != nil {
		return nil, err
	}
	end := len(pkt)
	if pkt[0]&paddingBit != 0 {
		if end == n {
			return nil, errDetail(ErrShort, "bytes after header for padding count", 0, ">=", 1)
		}
		// The count includes the count byte itself (RFC 3550 §5.1), so
		// 0 is malformed and the whole payload may be padding.
		pad := int(pkt[end-1])
		if pad == 0 || pad > end-n {
			return nil, errDetail(ErrPadding, "padding count", pad, "<=", end-n)
		}
		end -= pad
	}
	h.read(pkt)
	return pkt[n:end:end], nil
}

// headerLen validates the header at the start of b and returns its length
// with CSRCs and extension.
func headerLen(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, errDetail(ErrShort, "header bytes", len(b), ">=", HeaderSize)
	}
	if v := int(b[0] >> versionShift); v != Version {
		return 0, errDetail(ErrVersion, "version", v, "==", Version)
	}
	n := HeaderSize + csrcSize*int(b[0]&ccMask)
	if len(b) < n {
		return 0, errDetail(ErrShort, "bytes for csrc list", len(b), ">=", n)
	}
	if b[0]&extensionBit != 0 {
		if len(b) < n+extHeaderSize {
			return 0, errDetail(ErrShort, "bytes for extension header", len(b), ">=", n+extHeaderSize)
		}
		// At most 4 + 4*65535 bytes: n stays far from overflowing int.
		n += extHeaderSize + extWordSize*int(binary.BigEndian.Uint16(b[n+2:]))
		if len(b) < n {
			return 0, errDetail(ErrShort, "bytes for extension", len(b), ">=", n)
		}
	}
	return n, nil
}

// read fills h from a header headerLen accepted.
func (h *Header) read(b []byte) {
	_ = b[HeaderSize-1]
	h.Marker = b[1]&markerBit != 0
	h.PayloadType = b[1] & ptMask
	h.Seq = binary.BigEndian.Uint16(b[seqOffset:])
	h.Timestamp = binary.BigEndian.Uint32(b[tsOffset:])
	h.SSRC = binary.BigEndian.Uint32(b[ssrcOffset:])
}

// Patch rewrites sequence number, timestamp and marker of a header already
// marshalled into b, leaving version, payload type and SSRC alone: a
// sender keeps a frame's headers precomputed and patches these per frame.
// b must hold at least HeaderSize bytes (a shorter b is a bug and panics).
func Patch(b []byte, seq uint16, ts uint32, marker bool) {
	_ = b[HeaderSize-1] // one bounds check for the writes below
	if marker {
		b[1] |= markerBit
	} else {
		b[1] &^= markerBit
	}
	binary.BigEndian.PutUint16(b[seqOffset:], seq)
	binary.BigEndian.PutUint32(b[tsOffset:], ts)
}
