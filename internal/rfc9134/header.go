package rfc9134

import (
	"encoding/binary"
	"fmt"
	"io"
)

// HeaderSize is the size of the RFC 9134 payload header that follows the
// RTP header in every packet.
const HeaderSize = 4

// Payload header (RFC 9134 §4.3), one big-endian 32-bit word:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|T|K|L| I |F counter|     SEP counter     |      P counter      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	bitT       = 31
	bitK       = 30
	bitL       = 29
	shiftI     = 27
	shiftF     = 22
	shiftSEP   = 11
	maskI      = 0x3
	maskF      = 0x1f
	maskSEP    = 0x7ff
	maskP      = 0x7ff
	counterMod = maskP + 1 // P counter modulus: 2048
)

// Interlace values of the I field.
const (
	InterlaceProgressive uint8 = 0 // progressive frame
	interlaceReserved    uint8 = 1 // reserved by RFC 9134: never valid
	InterlaceFirst       uint8 = 2 // first field of an interlaced frame
	InterlaceSecond      uint8 = 3 // second field of an interlaced frame
)

// MaxFrame is the largest F counter value (the counter runs mod 32).
const MaxFrame = maskF

// MaxCounter is the largest SEP or P counter value (11 bits each).
const MaxCounter = maskP

// Header is the RFC 9134 payload header.
type Header struct {
	Sequential bool   // T: packets are sent in order (transmode=1)
	Slice      bool   // K: slice packetization mode (packetmode=1); false = codestream mode
	Last       bool   // L: last packet of the packetization unit (the RTP marker is set too)
	Interlace  uint8  // I: InterlaceProgressive, InterlaceFirst or InterlaceSecond
	Frame      uint8  // F: frame counter mod 32
	SEP        uint16 // SEP: slice index (K=1) or number of P wraps (K=0), 11 bits
	P          uint16 // P: packet index within the unit or slice, mod 2048
}

// MarshalSize returns HeaderSize.
func (*Header) MarshalSize() int { return HeaderSize }

// MarshalTo writes the header into b[:HeaderSize]. It refuses field values
// the wire cannot carry (ErrRange) and a short b (io.ErrShortBuffer).
func (h *Header) MarshalTo(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("rfc9134: header needs %d bytes, got %d: %w", HeaderSize, len(b), io.ErrShortBuffer)
	}
	if err := h.check(); err != nil {
		return 0, err
	}
	binary.BigEndian.PutUint32(b, h.word())
	return HeaderSize, nil
}

// Marshal returns the header in a new buffer.
func (h *Header) Marshal() ([]byte, error) {
	b := make([]byte, HeaderSize)
	if _, err := h.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Unmarshal reads the header from the first HeaderSize bytes of b (the RTP
// payload) and returns HeaderSize; the codestream bytes are b[HeaderSize:].
// I = 01 is reserved and rejected.
func (h *Header) Unmarshal(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("%w: header needs %d bytes, got %d", ErrMalformed, HeaderSize, len(b))
	}
	w := binary.BigEndian.Uint32(b)
	i := uint8(w>>shiftI) & maskI
	if i == interlaceReserved {
		return 0, fmt.Errorf("%w: interlace field 0b01 is reserved", ErrMalformed)
	}
	*h = Header{
		Sequential: w&(1<<bitT) != 0,
		Slice:      w&(1<<bitK) != 0,
		Last:       w&(1<<bitL) != 0,
		Interlace:  i,
		Frame:      uint8(w>>shiftF) & maskF,
		SEP:        uint16(w>>shiftSEP) & maskSEP,
		P:          uint16(w) & maskP,
	}
	return HeaderSize, nil
}

func (h *Header) check() error {
	switch {
	case h.Interlace > InterlaceSecond || h.Interlace == interlaceReserved:
		return fmt.Errorf("%w: interlace %d, need 0, 2 or 3", ErrRange, h.Interlace)
	case h.Frame > MaxFrame:
		return fmt.Errorf("%w: frame counter %d, need <= %d", ErrRange, h.Frame, MaxFrame)
	case h.SEP > MaxCounter:
		return fmt.Errorf("%w: SEP counter %d, need <= %d", ErrRange, h.SEP, MaxCounter)
	case h.P > MaxCounter:
		return fmt.Errorf("%w: P counter %d, need <= %d", ErrRange, h.P, MaxCounter)
	}
	return nil
}

func (h *Header) word() uint32 {
	w := uint32(h.Interlace)<<shiftI | uint32(h.Frame)<<shiftF | uint32(h.SEP)<<shiftSEP | uint32(h.P)
	if h.Sequential {
		w |= 1 << bitT
	}
	if h.Slice {
		w |= 1 << bitK
	}
	if h.Last {
		w |= 1 << bitL
	}
	return w
}

// MaxPackets is the number of packets a codestream-mode unit can number:
// SEP and P together form a 22-bit index.
const MaxPackets = counterMod * (maskSEP + 1)

// Index maps the position i of a packet within its packetization unit
// (codestream mode) to its counters: P = i mod 2048 and SEP = i / 2048, SEP
// counting the wraps of P (RFC 9134 §4.3). i must lie in [0, MaxPackets);
// outside that range the counters wrap.
func Index(i int) (sep, p uint16) {
	return uint16(i>>shiftSEP) & maskSEP, uint16(i) & maskP
}

// IndexOf is the inverse of Index: the position of the packet numbered
// (sep, p) within its unit. Bits above the 11 of each counter are ignored.
func IndexOf(sep, p uint16) int {
	return int(sep&maskSEP)*counterMod + int(p&maskP)
}
