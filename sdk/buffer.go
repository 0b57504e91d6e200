package sdk

import (
	"fmt"
	"time"

	"mediamesh/internal/mcm"
)

// Buffer is one slot of shared memory: a video frame, an audio packet time
// or a blob chunk, with its header; MCM's MeshBuffer. Its slices alias the
// memif region and are valid until the buffer is put back.
type Buffer struct {
	conn        *Connection
	gen         uint32
	pos         uint64
	data        []byte // the whole slot: sysdata, payload, metadata
	payloadLen  uint32
	metadataLen uint32
	seq         uint32
	ts          int64
	done        bool
}

func (b *Buffer) reset(k *Connection, pos uint64, data []byte) {
	*b = Buffer{conn: k, gen: k.gen, pos: pos, data: data}
}

// Payload returns the payload's valid bytes. A sender writes into
// PayloadCap and sets the length with SetPayloadLen (a new buffer starts
// with the configured payload size).
func (b *Buffer) Payload() []byte {
	p := b.conn.layout.Payload
	return b.data[p.Offset : p.Offset+b.payloadLen]
}

// PayloadCap returns the whole payload partition.
func (b *Buffer) PayloadCap() []byte {
	p := b.conn.layout.Payload
	return b.data[p.Offset : p.Offset+p.Size]
}

// Metadata returns the metadata's valid bytes.
func (b *Buffer) Metadata() []byte {
	m := b.conn.layout.Metadata
	return b.data[m.Offset : m.Offset+b.metadataLen]
}

// MetadataCap returns the whole metadata partition.
func (b *Buffer) MetadataCap() []byte {
	m := b.conn.layout.Metadata
	return b.data[m.Offset : m.Offset+m.Size]
}

// SetPayloadLen sets how many payload bytes are valid
// (mesh_buffer_set_payload_len).
func (b *Buffer) SetPayloadLen(n int) error {
	if n < 0 || n > int(b.conn.layout.Payload.Size) {
		return &Error{Code: ErrCodeBadBufLen, Op: "set payload length",
			Err: fmt.Errorf("%d bytes; the payload partition holds %d", n, b.conn.layout.Payload.Size)}
	}
	b.payloadLen = uint32(n)
	return nil
}

// SetMetadataLen sets how many metadata bytes are valid
// (mesh_buffer_set_metadata_len).
func (b *Buffer) SetMetadataLen(n int) error {
	if n < 0 || n > int(b.conn.layout.Metadata.Size) {
		return &Error{Code: ErrCodeBadBufLen, Op: "set metadata length",
			Err: fmt.Errorf("%d bytes; the metadata partition holds %d", n, b.conn.layout.Metadata.Size)}
	}
	b.metadataLen = uint32(n)
	return nil
}

// Seq is the buffer's sequence number: set by the sending SDK (counting
// from 1) or stamped by media-proxy for senders that leave it zero.
func (b *Buffer) Seq() uint32 { return b.seq }

// Timestamp is when the buffer was put by its sender (or taken by the
// proxy, for senders that leave it zero); the zero Time if unknown.
func (b *Buffer) Timestamp() time.Time {
	if b.ts == 0 {
		return time.Time{}
	}
	return time.Unix(0, b.ts)
}

// SetSeq sets the sequence number a sender puts with the buffer (0: the
// next of its own); the sender's numbering continues from it. A relay uses
// it to keep its upstream's numbers, so receivers downstream count the
// upstream's losses too (mediamesh's ingress bridges do).
func (b *Buffer) SetSeq(n uint32) { b.seq = n }

// SetTimestamp sets the media timestamp a sender puts with the buffer;
// without it PutBuffer stamps the current time.
func (b *Buffer) SetTimestamp(t time.Time) { b.ts = t.UnixNano() }

// FrameInfo says how a buffer received from an ST 2110 / RTP stream came
// off the wire: its RTP timestamp and source, how many packets made it and
// whether any were lost. ok is false for buffers without one (groups, or
// no metadata room).
type FrameInfo struct {
	// Incomplete is true when packets of the frame were lost: the payload
	// holds what arrived, the rest keeps the buffer's previous bytes.
	Incomplete bool
	RTPTime    uint32
	SSRC       uint32
	Packets    int
	Missing    int
	// Arrival is when the frame's first packet arrived.
	Arrival time.Time
}

// FrameInfo returns the buffer's wire record, written by media-proxy at
// the start of the metadata partition of ST 2110 receive buffers (the SDK
// reserves the room on st2110 receivers).
func (b *Buffer) FrameInfo() (FrameInfo, bool) {
	var fi mcm.FrameInfo
	if _, err := fi.Unmarshal(b.Metadata()); err != nil {
		return FrameInfo{}, false
	}
	return FrameInfo{
		Incomplete: fi.Flags&mcm.FlagIncomplete != 0,
		RTPTime:    fi.RTPTime,
		SSRC:       fi.SSRC,
		Packets:    int(fi.Packets),
		Missing:    int(fi.Missing),
		Arrival:    time.Unix(0, fi.ArrivalNS),
	}, true
}
