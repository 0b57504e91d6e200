package rfc9134

import "fmt"

// Packetizer cuts one codestream-mode packetization unit (a frame's or a
// field's picture segment) into RTP payloads of at most maxPayload bytes,
// payload header included. Every packet but the last carries the same
// number of codestream bytes, which is what lets a receiver place packets
// by index alone (see Reassembler). It holds no state per unit, so one
// Packetizer serves any number of units and goroutines.
type Packetizer struct {
	chunk int // codestream bytes per packet: maxPayload - HeaderSize
}

// NewPacketizer returns a Packetizer for RTP payloads of at most maxPayload
// bytes (RTP header excluded, the 4-byte payload header included).
func NewPacketizer(maxPayload int) (*Packetizer, error) {
	if maxPayload <= HeaderSize {
		return nil, fmt.Errorf("%w: max payload %d, need > %d", ErrConfig, maxPayload, HeaderSize)
	}
	return &Packetizer{chunk: maxPayload - HeaderSize}, nil
}

// Chunk returns the codestream bytes every packet but the last carries.
func (p *Packetizer) Chunk() int { return p.chunk }

// Count returns how many packets a codestream of codestreamLen bytes needs
// (0 for an empty one). A unit of more than MaxPackets packets cannot be
// numbered: callers check Count(n) <= MaxPackets before sending.
func (p *Packetizer) Count(codestreamLen int) int {
	if codestreamLen <= 0 {
		return 0
	}
	return (codestreamLen + p.chunk - 1) / p.chunk
}

// Packet returns the payload header of packet i of a unit of codestreamLen
// bytes and the byte range [start, end) of the codestream it carries. The
// packets are sent in order (T=1) in codestream mode (K=0); L is set on the
// last one. frame is taken mod 32; interlace is one of the Interlace
// values. i must lie in [0, Count(codestreamLen)): outside it the range
// is empty.
func (p *Packetizer) Packet(i, codestreamLen int, frame, interlace uint8) (h Header, start, end int) {
	sep, pc := Index(i)
	h = Header{Sequential: true, Interlace: interlace, Frame: frame & maskF, SEP: sep, P: pc}
	n := p.Count(codestreamLen)
	if i < 0 || i >= n {
		return h, 0, 0
	}
	start = i * p.chunk
	end = min(start+p.chunk, codestreamLen)
	h.Last = i == n-1
	return h, start, end
}
