package mcm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FrameInfo is mediamesh's per-buffer record of how a frame came off the
// wire, written by media-proxy at the start of the metadata partition of
// buffers it delivers from ST 2110 / RTP receivers, when the connection's
// maxMetadataSize leaves room for it (FrameInfoSize bytes):
//
//	0  [4]byte magic "MMFI"
//	4  u8      version (1)
//	5  u8      flags: bit 0 incomplete, bit 1 second field
//	6  u16     reserved (0)
//	8  u32     RTP timestamp of the frame
//	12 u32     SSRC
//	16 u32     packets received
//	20 u32     packets missing (lost or late) within the frame
//	24 i64     Unix ns when the frame's first packet arrived
//
// Little-endian like the rest of the buffer layout. A buffer whose frame
// lost packets is never passed off as whole: it carries FlagIncomplete, or
// — without room for this record, or when the connection asked for it —
// it is dropped and counted.
type FrameInfo struct {
	Flags     uint8
	RTPTime   uint32
	SSRC      uint32
	Packets   uint32
	Missing   uint32
	ArrivalNS int64
}

// FrameInfo flags.
const (
	FlagIncomplete  = 1 << 0
	FlagSecondField = 1 << 1
)

// FrameInfoSize is the encoded size of a FrameInfo.
const FrameInfoSize = 32

const frameInfoVersion = 1

var frameInfoMagic = [4]byte{'M', 'M', 'F', 'I'}

// ErrNoFrameInfo reports metadata that does not start with a FrameInfo.
var ErrNoFrameInfo = errors.New("mcm: no frame info")

// MarshalSize is FrameInfoSize.
func (f *FrameInfo) MarshalSize() int { return FrameInfoSize }

// MarshalTo writes the record into b.
func (f *FrameInfo) MarshalTo(b []byte) (int, error) {
	if len(b) < FrameInfoSize {
		return 0, fmt.Errorf("frame info: %w: %d bytes, need %d", io.ErrShortBuffer, len(b), FrameInfoSize)
	}
	copy(b[0:4], frameInfoMagic[:])
	b[4] = frameInfoVersion
	b[5] = f.Flags
	binary.LittleEndian.PutUint16(b[6:], 0)
	binary.LittleEndian.PutUint32(b[8:], f.RTPTime)
	binary.LittleEndian.PutUint32(b[12:], f.SSRC)
	binary.LittleEndian.PutUint32(b[16:], f.Packets)
	binary.LittleEndian.PutUint32(b[20:], f.Missing)
	binary.LittleEndian.PutUint64(b[24:], uint64(f.ArrivalNS))
	return FrameInfoSize, nil
}

// Unmarshal reads a record from b; ErrNoFrameInfo when b holds none (an
// app's own metadata, or a newer version).
func (f *FrameInfo) Unmarshal(b []byte) (int, error) {
	if len(b) < FrameInfoSize || [4]byte(b[0:4]) != frameInfoMagic {
		return 0, ErrNoFrameInfo
	}
	if b[4] != frameInfoVersion {
		return 0, fmt.Errorf("%w: version %d, know %d", ErrNoFrameInfo, b[4], frameInfoVersion)
	}
	f.Flags = b[5]
	f.RTPTime = binary.LittleEndian.Uint32(b[8:])
	f.SSRC = binary.LittleEndian.Uint32(b[12:])
	f.Packets = binary.LittleEndian.Uint32(b[16:])
	f.Missing = binary.LittleEndian.Uint32(b[20:])
	f.ArrivalNS = int64(binary.LittleEndian.Uint64(b[24:]))
	return FrameInfoSize, nil
}
