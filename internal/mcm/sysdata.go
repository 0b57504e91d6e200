package mcm

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Sysdata is the 24-byte header at offset 0 of every buffer
// (mcm-api.md §3.9):
//
//	0  i64 timestamp_ms
//	8  u32 seq
//	12 u32 payload_len
//	16 u32 metadata_len
//	20 u32 padding — mediamesh: nanoseconds within the millisecond (0–999999)
//
// Putting the sub-millisecond part into MCM's padding keeps MCM readers
// seeing milliseconds while mediamesh gets nanosecond timestamps for
// latency measurement.
type Sysdata struct {
	Timestamp   int64 // Unix nanoseconds; 0 = unset
	Seq         uint32
	PayloadLen  uint32
	MetadataLen uint32
}

const (
	sdTimestamp   = 0
	sdSeq         = 8
	sdPayloadLen  = 12
	sdMetadataLen = 16
	sdSubMillis   = 20
)

// MarshalSize is SysdataSize.
func (s *Sysdata) MarshalSize() int { return SysdataSize }

// MarshalTo writes the header into b.
func (s *Sysdata) MarshalTo(b []byte) (int, error) {
	if len(b) < SysdataSize {
		return 0, fmt.Errorf("sysdata: %w: %d bytes, need %d", io.ErrShortBuffer, len(b), SysdataSize)
	}
	ms, ns := s.Timestamp/1e6, s.Timestamp%1e6
	if ns < 0 { // floor division, so negative times round-trip
		ms, ns = ms-1, ns+1e6
	}
	binary.LittleEndian.PutUint64(b[sdTimestamp:], uint64(ms))
	binary.LittleEndian.PutUint32(b[sdSeq:], s.Seq)
	binary.LittleEndian.PutUint32(b[sdPayloadLen:], s.PayloadLen)
	binary.LittleEndian.PutUint32(b[sdMetadataLen:], s.MetadataLen)
	binary.LittleEndian.PutUint32(b[sdSubMillis:], uint32(ns))
	return SysdataSize, nil
}

// Unmarshal reads the header from b. A sub-millisecond field out of range
// (an MCM writer's garbage padding) is ignored.
func (s *Sysdata) Unmarshal(b []byte) (int, error) {
	if len(b) < SysdataSize {
		return 0, fmt.Errorf("sysdata: %w: %d bytes, need %d", ErrMalformed, len(b), SysdataSize)
	}
	ms := int64(binary.LittleEndian.Uint64(b[sdTimestamp:]))
	ns := int64(binary.LittleEndian.Uint32(b[sdSubMillis:]))
	if ns >= 1e6 {
		ns = 0
	}
	s.Timestamp = ms*1e6 + ns
	s.Seq = binary.LittleEndian.Uint32(b[sdSeq:])
	s.PayloadLen = binary.LittleEndian.Uint32(b[sdPayloadLen:])
	s.MetadataLen = binary.LittleEndian.Uint32(b[sdMetadataLen:])
	return SysdataSize, nil
}
