package rfc8331

import (
	"encoding/binary"
	"fmt"
)

// Decoder walks the ANC packets of one payload without allocating. The
// Data of each packet it returns aliases a 255-byte array inside the
// Decoder and is valid until the next call to Next or Reset.
//
// Damage inside a packet is graded: a wrong parity bit is counted
// (ParityErrors) and the value kept; a wrong Checksum_Word returns the
// packet with ErrChecksum; a layout error (a count or length that runs past
// the data, non-zero word_align bits, bytes left after the last packet)
// returns ErrMalformed and ends the walk, since nothing after it can be
// located.
type Decoder struct {
	data    []byte // the ANC data: the payload after the header, Length bytes
	off     int    // byte offset of the next ANC packet
	left    int    // ANC packets still announced by ANC_Count
	seen    int    // ANC packets decoded since Reset
	parity  int    // parity errors since Reset
	stopped bool   // a layout error ended the walk
	scratch [MaxData]byte
}

// Reset starts a walk over count ANC packets in data, the bytes that follow
// the payload header (exactly Length of them).
func (d *Decoder) Reset(data []byte, count int) {
	d.data, d.off, d.left, d.seen, d.parity, d.stopped = data, 0, max(count, 0), 0, 0, false
}

// ResetPayload reads the header of a whole RTP payload, checks its Length
// against the bytes present and an empty ANC_Count against a zero Length,
// and starts the walk over its packets. Bytes past Length are ignored.
func (d *Decoder) ResetPayload(payload []byte) (Header, error) {
	var h Header
	d.Reset(nil, 0)
	if _, err := h.Unmarshal(payload); err != nil {
		return Header{}, err
	}
	switch rest := len(payload) - HeaderSize; {
	case int(h.Length) > rest:
		return Header{}, fmt.Errorf("%w: Length %d, %d bytes follow the header", ErrMalformed, h.Length, rest)
	case h.Count == 0 && h.Length != 0:
		return Header{}, fmt.Errorf("%w: ANC_Count 0 with Length %d", ErrMalformed, h.Length)
	}
	d.Reset(payload[HeaderSize:HeaderSize+int(h.Length)], int(h.Count))
	return h, nil
}

// ParityErrors returns how many DID, SDID, Data_Count and user data words
// since Reset had parity bits that did not match their value.
func (d *Decoder) ParityErrors() int { return d.parity }

// Next decodes the next ANC packet into p. It returns (true, nil) for a
// good packet, (true, ErrChecksum) for one whose checksum failed, (false,
// nil) at the end, and (false, ErrMalformed) when the layout breaks; after
// that or the end it keeps returning (false, nil).
func (d *Decoder) Next(p *Packet) (bool, error) {
	if d.stopped {
		return false, nil
	}
	if d.left == 0 {
		d.stopped = true
		if extra := len(d.data) - d.off; extra != 0 {
			return false, fmt.Errorf("%w: %d bytes after the last ANC packet", ErrMalformed, extra)
		}
		return false, nil
	}
	b := d.data[d.off:]
	const minBytes = ancHeaderBytes + 4 // header, then DID, SDID, Data_Count in the next 30 bits
	if len(b) < minBytes {
		d.stopped = true
		return false, fmt.Errorf("%w: ANC packet %d at byte %d: %d bytes left, need %d (ANC_Count larger than the packets present)",
			ErrMalformed, d.seen, d.off, len(b), minBytes)
	}
	dc := word10(b, 32+2*wordBits)
	n := int(dc & 0xff)
	size := packetSize(n)
	if size > len(b) {
		d.stopped = true
		return false, fmt.Errorf("%w: ANC packet %d at byte %d: Data_Count %d needs %d bytes, %d left",
			ErrMalformed, d.seen, d.off, n, size, len(b))
	}
	b = b[:size]
	end := 32 + (fixedWords+n)*wordBits // bit after the Checksum_Word
	if !zeroFrom(b, end) {
		d.stopped = true
		return false, fmt.Errorf("%w: ANC packet %d at byte %d: non-zero word_align bits", ErrMalformed, d.seen, d.off)
	}

	w := binary.BigEndian.Uint32(b)
	*p = Packet{
		C:       w&(1<<31) != 0,
		Line:    uint16(w>>20) & maxLine,
		HOffset: uint16(w>>8) & maxHOffset,
		S:       w&(1<<7) != 0,
		Stream:  uint8(w) & maxStream,
		Data:    d.scratch[:n],
	}
	did, sdid := word10(b, 32), word10(b, 32+wordBits)
	p.DID, p.SDID = d.value(did), d.value(sdid)
	d.value(dc)
	sum := did&0x1ff + sdid&0x1ff + dc&0x1ff
	for i := range n {
		u := word10(b, 32+(3+i)*wordBits)
		sum += u & 0x1ff
		d.scratch[i] = d.value(u)
	}
	sum &= 0x1ff
	cs := word10(b, end-wordBits)
	d.off += size
	d.left--
	d.seen++
	if cs&0x1ff != sum || cs>>9 == cs>>8&1 {
		return true, fmt.Errorf("%w: ANC packet %d (DID %#02x SDID %#02x): checksum word %#03x, computed %#03x",
			ErrChecksum, d.seen-1, p.DID, p.SDID, cs, sum|(^sum>>8&1)<<9)
	}
	return true, nil
}

// value returns the 8-bit value of a word and counts a parity mismatch.
func (d *Decoder) value(word uint16) uint8 {
	if word != withParity(uint8(word)) {
		d.parity++
	}
	return uint8(word)
}

// word10 reads the 10-bit word at bit offset bit of b. Words of an ANC
// packet start at even bit offsets within a byte (32-bit aligned header,
// then steps of 10), so every word lies within two bytes.
func word10(b []byte, bit int) uint16 {
	i, s := bit>>3, uint(bit&7)
	return (uint16(b[i])<<8 | uint16(b[i+1])) >> (6 - s) & 0x3ff
}

// zeroFrom reports whether every bit of b from bit offset bit on is zero.
func zeroFrom(b []byte, bit int) bool {
	i := bit >> 3
	if s := bit & 7; s != 0 {
		if b[i]&(0xff>>s) != 0 {
			return false
		}
		i++
	}
	for _, v := range b[i:] {
		if v != 0 {
			return false
		}
	}
	return true
}
