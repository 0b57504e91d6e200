package rfc8331

import (
	"fmt"
	"math/bits"
)

// ANC packet in the payload (RFC 8331 §2.1), after a 32-bit header the
// SMPTE ST 291-1 words, 10 bits each, packed MSB first, then zero bits up
// to the next 32-bit boundary:
//
//	|C|   Line_Number (11)  | Horizontal_Offset (12)|S| StreamNum(7)|
//	|   DID (10)  |  SDID (10)  | Data_Count (10) | UDW... (10 each)
//	| Checksum_Word (10) | word_align (0..31 zero bits)
//
// DID, SDID, Data_Count and (here) every UDW are 8-bit values with b8 the
// even parity of b0..b7 and b9 = NOT b8. Checksum_Word b0..b8 is the sum,
// mod 512, of b0..b8 of every word from DID to the last UDW; its b9 = NOT b8.
const (
	ancHeaderBytes = 4
	wordBits       = 10
	fixedWords     = 4 // DID, SDID, Data_Count, Checksum_Word
	maxLine        = 0x7ff
	maxHOffset     = 0xfff
	maxStream      = 0x7f
)

// Limits and special values of Packet fields.
const (
	// MaxData is the most user data words one ANC packet carries.
	MaxData = 255
	// LineAny is the Line_Number of ANC data not tied to a line.
	LineAny = maxLine
	// HOffsetAny is the Horizontal_Offset of ANC data without a horizontal
	// location.
	HOffsetAny = maxHOffset
)

// Packet is one ANC data packet.
type Packet struct {
	C       bool   // carried in the colour-difference (C) channel, not luma (Y)
	Line    uint16 // Line_Number, 11 bits
	HOffset uint16 // Horizontal_Offset, 12 bits
	S       bool   // StreamNum carries a data stream number
	Stream  uint8  // StreamNum, 7 bits
	DID     uint8  // data identifier
	SDID    uint8  // secondary data identifier (or data block number)
	Data    []byte // user data words as 8-bit values; at most MaxData
}

// packetSize returns the bytes of an ANC packet with n user data words.
func packetSize(n int) int {
	return ancHeaderBytes + ((fixedWords+n)*wordBits+31)/32*4
}

// withParity returns the 10-bit word of v: b8 makes b0..b8 even, b9 = NOT b8.
func withParity(v uint8) uint16 {
	p := uint16(bits.OnesCount8(v) & 1)
	return uint16(v) | p<<8 | (p^1)<<9
}

// AppendPacket appends one ANC packet in RFC 8331 bit layout to b,
// computing the parity bits and the Checksum_Word. It allocates only when
// b lacks capacity.
func AppendPacket(b []byte, p *Packet) ([]byte, error) {
	switch {
	case p.Line > maxLine:
		return b, fmt.Errorf("%w: Line_Number %d, max %d", ErrRange, p.Line, maxLine)
	case p.HOffset > maxHOffset:
		return b, fmt.Errorf("%w: Horizontal_Offset %d, max %d", ErrRange, p.HOffset, maxHOffset)
	case p.Stream > maxStream:
		return b, fmt.Errorf("%w: StreamNum %d, max %d", ErrRange, p.Stream, maxStream)
	case len(p.Data) > MaxData:
		return b, fmt.Errorf("%w: %d user data words, max %d", ErrRange, len(p.Data), MaxData)
	}
	w := uint32(p.Line)<<20 | uint32(p.HOffset)<<8 | uint32(p.Stream)
	if p.C {
		w |= 1 << 31
	}
	if p.S {
		w |= 1 << 7
	}
	b = append(b, byte(w>>24), byte(w>>16), byte(w>>8), byte(w))

	var bw bitWriter
	b = bw.put(b, withParity(p.DID))
	b = bw.put(b, withParity(p.SDID))
	b = bw.put(b, withParity(uint8(len(p.Data))))
	for _, v := range p.Data {
		b = bw.put(b, withParity(v))
	}
	cs := bw.sum & 0x1ff
	b = bw.put(b, cs|(^cs>>8&1)<<9)
	return bw.flush(b), nil
}

// bitWriter packs 10-bit words MSB first. It holds fewer than 8 pending
// bits between calls, counts the bits written (to pad to 32) and sums the
// words' 9 LSBs for the Checksum_Word.
type bitWriter struct {
	acc   uint32
	n     uint // pending bits in acc
	total int  // bits written, pending included
	sum   uint16
}

func (w *bitWriter) put(b []byte, word uint16) []byte {
	w.sum += word & 0x1ff
	w.acc = w.acc<<wordBits | uint32(word&0x3ff)
	w.n += wordBits
	w.total += wordBits
	for w.n >= 8 {
		w.n -= 8
		b = append(b, byte(w.acc>>w.n))
	}
	return b
}

// flush writes the pending bits and the zero word_align bits that bring the
// words to a multiple of 32 bits (the 32-bit packet header already is one).
func (w *bitWriter) flush(b []byte) []byte {
	if w.n > 0 {
		b = append(b, byte(w.acc<<(8-w.n)))
		w.total += int(8 - w.n)
	}
	for ; w.total%32 != 0; w.total += 8 {
		b = append(b, 0)
	}
	return b
}

// AppendPayload appends a whole RTP payload to b: h with Length and Count
// set from pkts, then every packet. On error b is returned unchanged.
func AppendPayload(b []byte, h Header, pkts []Packet) ([]byte, error) {
	if len(pkts) > 0xff {
		return b, fmt.Errorf("%w: %d ANC packets, max 255", ErrRange, len(pkts))
	}
	start := len(b)
	var hdr [HeaderSize]byte // placeholder until Length is known
	b = append(b, hdr[:]...)
	var err error
	for i := range pkts {
		if b, err = AppendPacket(b, &pkts[i]); err != nil {
			return b[:start], fmt.Errorf("packet %d: %w", i, err)
		}
	}
	n := len(b) - start - HeaderSize
	if n > 0xffff {
		return b[:start], fmt.Errorf("%w: %d bytes of ANC data, max 65535", ErrRange, n)
	}
	h.Length, h.Count = uint16(n), uint8(len(pkts))
	if _, err := h.MarshalTo(b[start:]); err != nil {
		return b[:start], err
	}
	return b, nil
}
