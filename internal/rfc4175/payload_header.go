package rfc4175

import (
	"encoding/binary"
	"io"
)

// Payload header layout (RFC 4175 §4.1, §4.3; st2110.md §3), after the
// 12-byte RTP header, big-endian:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	| Extended Sequence Number (16) | SRD Length (16)               |
//	|F|   SRD Row Number (15)       |C|   SRD Offset (15)           |
//	| [one more 6-byte SRD per C = 1]                               |
//	| sample data of SRD 1 | sample data of SRD 2 | ...             |
const (
	// SRDSize is the wire size of one SRD header.
	SRDSize = 6
	// MaxSRDs bounds the SRDs of one packet; more are rejected as
	// malformed. Real senders use at most 3 (GStreamer, FFmpeg).
	MaxSRDs = 8

	extSeqSize   = 2
	srdLenOffset = 0
	srdRowOffset = 2
	srdOffOffset = 4
	flagBit      = 1 << 15 // F in the row word, C in the offset word
	fieldMask    = 1<<15 - 1
)

// SRD is one sample row data header: a segment of one line.
type SRD struct {
	Length   uint16 // bytes of sample data, a whole number of pgroups
	Field    bool   // F: second field (interlaced only)
	Row      uint16 // line number in the field, 0 = first active line; 15 bits
	Offset   uint16 // pixel position of the segment's first pixel in its line; 15 bits
	Continue bool   // C: another SRD header follows
}

// PayloadHeader is the RFC 4175 header after the RTP header: the high 16
// bits of the extended sequence number and N SRD headers. Only SRDs[:N]
// are meaningful.
type PayloadHeader struct {
	ExtSeq uint16 // seq32 = ExtSeq<<16 | rtp seq
	SRDs   [MaxSRDs]SRD
	N      int
}

// MarshalSize returns the header length: 2 + 6*N.
func (p *PayloadHeader) MarshalSize() int { return extSeqSize + SRDSize*p.N }

// MarshalTo writes the header into b[:MarshalSize()], setting Continue on
// all SRDs but the last whatever the SRDs say. It fails with
// io.ErrShortBuffer if b is too small, and with ErrMalformed if N is not in
// 1..MaxSRDs or a Row or Offset does not fit 15 bits.
func (p *PayloadHeader) MarshalTo(b []byte) (int, error) {
	if p.N < 1 || p.N > MaxSRDs {
		return 0, errDetail(ErrMalformed, "srd count", p.N, "in 1 to", MaxSRDs)
	}
	n := p.MarshalSize()
	if len(b) < n {
		return 0, errDetail(io.ErrShortBuffer, "buffer", len(b), ">=", n)
	}
	for _, s := range p.SRDs[:p.N] {
		if s.Row > fieldMask {
			return 0, errDetail(ErrMalformed, "row", int(s.Row), "<=", fieldMask)
		}
		if s.Offset > fieldMask {
			return 0, errDetail(ErrMalformed, "offset", int(s.Offset), "<=", fieldMask)
		}
	}
	binary.BigEndian.PutUint16(b, p.ExtSeq)
	for i, s := range p.SRDs[:p.N] {
		s.Continue = i < p.N-1
		putSRD(b[extSeqSize+SRDSize*i:], s)
	}
	return n, nil
}

// Marshal returns the header in a new buffer.
func (p *PayloadHeader) Marshal() ([]byte, error) {
	b := make([]byte, max(p.MarshalSize(), 0))
	n, err := p.MarshalTo(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// Unmarshal reads the payload header at the start of b (the RTP payload)
// and returns its length, the offset of the first SRD's sample data; the
// data of SRD i follows that of SRD i-1. It checks the structure only:
// SRDs up to the first with C = 0, at most MaxSRDs of them, all present,
// and their lengths summing to no more than the bytes after the header
// (bytes beyond the sum are ignored). Geometry is Locate's job. Errors wrap
// ErrMalformed; p is left unchanged then. SRDs[N:] are zeroed.
func (p *PayloadHeader) Unmarshal(b []byte) (int, error) {
	// Validate first, then fill p: p stays unchanged on error without a
	// copy of the whole header through a temporary.
	if len(b) < extSeqSize+SRDSize {
		return 0, errDetail(ErrMalformed, "payload bytes", len(b), ">=", extSeqSize+SRDSize)
	}
	n, count, sum := extSeqSize, 0, 0
	for {
		if count == MaxSRDs {
			return 0, errDetail(ErrMalformed, "srd count", count+1, "<=", MaxSRDs)
		}
		if len(b) < n+SRDSize {
			// Also a C = 1 on the last SRD that fits the packet.
			return 0, errDetail(ErrMalformed, "bytes for srd headers", len(b), ">=", n+SRDSize)
		}
		sum += int(binary.BigEndian.Uint16(b[n+srdLenOffset:]))
		count++
		more := b[n+srdOffOffset]&(flagBit>>8) != 0
		n += SRDSize
		if !more {
			break
		}
	}
	if sum > len(b)-n {
		return 0, errDetail(ErrMalformed, "sample bytes after header", len(b)-n, ">=", sum)
	}
	p.ExtSeq = binary.BigEndian.Uint16(b)
	p.N = count
	for i := range p.SRDs {
		if i < count {
			p.SRDs[i] = getSRD(b[extSeqSize+SRDSize*i:])
		} else {
			p.SRDs[i] = SRD{}
		}
	}
	return n, nil
}

func putSRD(b []byte, s SRD) {
	row, off := s.Row, s.Offset
	if s.Field {
		row |= flagBit
	}
	if s.Continue {
		off |= flagBit
	}
	binary.BigEndian.PutUint16(b[srdLenOffset:], s.Length)
	binary.BigEndian.PutUint16(b[srdRowOffset:], row)
	binary.BigEndian.PutUint16(b[srdOffOffset:], off)
}

func getSRD(b []byte) SRD {
	row := binary.BigEndian.Uint16(b[srdRowOffset:])
	off := binary.BigEndian.Uint16(b[srdOffOffset:])
	return SRD{
		Length:   binary.BigEndian.Uint16(b[srdLenOffset:]),
		Field:    row&flagBit != 0,
		Row:      row & fieldMask,
		Offset:   off & fieldMask,
		Continue: off&flagBit != 0,
	}
}
