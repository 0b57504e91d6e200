package rfc4175

import (
	"encoding/binary"
	"fmt"
)

// Mode is the packing mode of ST 2110-20 (SDP fmtp PM, st2110.md §5).
type Mode uint8

const (
	// GPM is General Packing Mode, mediamesh's default. Each line is cut
	// into k equal segments, the smallest k whose segments are whole
	// pgroups and fit the payload budget, so every packet has one SRD and
	// the same size: what UDP GSO needs, since it cuts a buffer into equal
	// segments (only the last may be shorter), and equal packets let one
	// GSO call run across lines. An equal split may cost at most one
	// packet per line more than the fewest possible; when none does (a
	// pgroup count per line with no divisor near the minimum), the line is
	// cut into the fewest segments, all equal but the last, which is
	// shorter. That costs the sender its long GSO runs: a short segment
	// can only end a GSO call, so calls break at every line (1080 calls
	// per 1080p frame instead of about 80).
	GPM Mode = iota
	// BPM is Block Packing Mode: sample data is cut into 180-byte blocks,
	// 7 per packet (1260 bytes) except the last of a frame or field;
	// packets cross lines with a second SRD. 180 is a multiple of every
	// pgroup size but 8 (4:2:2 16-bit), which BPM cannot carry.
	BPM
)

// String returns the SDP fmtp PM value of m.
func (m Mode) String() string {
	switch m {
	case GPM:
		return "2110GPM"
	case BPM:
		return "2110BPM"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Payload sizes (st2110.md §5).
const (
	// DefaultMaxPayload is the RTP payload budget of ST 2110-10's
	// 1460-byte standard UDP size limit less the 12-byte RTP header.
	DefaultMaxPayload = 1460 - 12
	// MAXUDPMaxPayload is the budget when the SDP signals MAXUDP=8960.
	MAXUDPMaxPayload = 8960 - 12
	// BlockBytes is the BPM block size.
	BlockBytes = 180
	// BPMBlocks is the number of blocks in every BPM packet but the last.
	BPMBlocks = 7
	// BPMPacketBytes is the sample data of every BPM packet but the last.
	BPMPacketBytes = BlockBytes * BPMBlocks

	// maxPayloadLimit is the largest IPv4 UDP payload (65535 less IP and
	// UDP headers) less the RTP header; it also keeps Length in 16 bits.
	maxPayloadLimit = 65535 - 20 - 8 - 12
)

// Packet is one packet of a Plan: its SRDs and where its sample bytes
// come from in the packed frame.
type Packet struct {
	SRDs      [2]SRD // SRDs[:N], Continue set on all but the last
	N         int
	Offset    int    // byte offset of the packet's first sample byte in the packed frame
	PGroup    int    // pgroup index of the same: Offset == PGroup*PGroupBytes
	Bytes     int    // sample bytes in the packet: the sum of SRD lengths
	SRDOffset [2]int // byte offset in the packed frame of each SRD's samples
	Marker    bool   // RTP M: the last packet of the frame, or of a field
}

// Plan is a precomputed packetization of one frame: every packet's SRDs
// and where its bytes come from in the packed frame, so the per-frame work
// of a sender is only patching sequence number, timestamp, marker and
// extended sequence number and pointing at payload bytes.
//
// A progressive packet's samples are the contiguous range
// [Offset, Offset+Bytes). An interlaced packet with two SRDs is not, since
// the frame buffer weaves the fields: send SRDs[j].Length bytes from
// SRDOffset[j] for each j.
type Plan struct {
	Geometry   Geometry
	Mode       Mode
	Packets    []Packet
	MaxPayload int // RTP payload budget the plan was made for
}

// NewPlan packetizes frames of geometry g in mode. maxPayload is the RTP
// payload budget including the RFC 4175 header: DefaultMaxPayload (1448)
// unless the SDP signals MAXUDP. GPM needs room for one pgroup and one
// SRD; BPM needs 1274 bytes (1260 of samples and two SRDs), pgroups that
// divide 180 bytes and lines of at least 1260 bytes, so that a packet
// never needs more than two SRDs. For an interlaced g the plan holds field
// 0's packets, then field 1's: each field is packed on its own (rows of
// that field, F set, Marker on its last packet) and the sender stamps each
// with its own RTP timestamp. Errors wrap ErrGeometry or ErrUnsupported.
func NewPlan(g Geometry, mode Mode, maxPayload int) (*Plan, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if maxPayload > maxPayloadLimit {
		return nil, errDetail(ErrUnsupported, "max payload", maxPayload, "<=", maxPayloadLimit)
	}
	p := &Plan{Geometry: g, Mode: mode, MaxPayload: maxPayload}
	var err error
	switch mode {
	case GPM:
		err = p.packGPM()
	case BPM:
		err = p.packBPM()
	default:
		err = fmt.Errorf("%w: packing mode %d", ErrUnsupported, mode)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// fields returns how many fields a frame has.
func (g Geometry) fields() int {
	if g.Interlaced {
		return 2
	}
	return 1
}

func (p *Plan) packGPM() error {
	g := p.Geometry
	perLine := g.Width / g.xStep()
	budget := (p.MaxPayload - extSeqSize - SRDSize) / g.PGroupBytes // pgroups per packet
	if budget < 1 {
		return errDetail(ErrUnsupported, "max payload", p.MaxPayload, ">=", extSeqSize+SRDSize+g.PGroupBytes)
	}
	seg := gpmSegment(perLine, budget)
	rows := g.FieldRows() / g.lines()
	p.Packets = make([]Packet, 0, g.fields()*rows*ceilDiv(perLine, seg))
	for f := range g.fields() {
		for r := range rows {
			for start := 0; start < perLine; start += seg {
				s := SRD{
					Length: uint16(min(seg, perLine-start) * g.PGroupBytes),
					Field:  f == 1,
					Row:    uint16(r * g.lines()),
					Offset: uint16(start * g.xStep()),
				}
				if err := p.add(s, SRD{}); err != nil {
					return err
				}
			}
		}
		p.Packets[len(p.Packets)-1].Marker = true
	}
	return nil
}

// gpmSegment returns the pgroups per segment of a line of perLine pgroups
// when a packet holds at most budget: an equal split if one needs at most
// one segment more than the fewest possible, else the fewest segments
// of near-equal size (the last shorter).
func gpmSegment(perLine, budget int) int {
	fewest := ceilDiv(perLine, budget)
	for k := fewest; k <= fewest+1 && k <= perLine; k++ {
		if perLine%k == 0 {
			return perLine / k
		}
	}
	// ceil(perLine/fewest) ≤ budget, and it still needs fewest segments.
	return ceilDiv(perLine, fewest)
}

func (p *Plan) packBPM() error {
	g := p.Geometry
	if BlockBytes%g.PGroupBytes != 0 {
		return errDetail(ErrUnsupported, "bpm block bytes", BlockBytes, "multiple of pgroup bytes", g.PGroupBytes)
	}
	line := g.LineBytes()
	if line < BPMPacketBytes {
		return errDetail(ErrUnsupported, "bpm line bytes", line, ">=", BPMPacketBytes)
	}
	if need := extSeqSize + 2*SRDSize + BPMPacketBytes; p.MaxPayload < need {
		return errDetail(ErrUnsupported, "bpm max payload", p.MaxPayload, ">=", need)
	}
	rows := g.FieldRows() / g.lines()
	total := rows * line // sample bytes per field
	p.Packets = make([]Packet, 0, g.fields()*ceilDiv(total, BPMPacketBytes))
	for f := range g.fields() {
		for pos := 0; pos < total; pos += BPMPacketBytes {
			size := min(BPMPacketBytes, total-pos)
			r, within := pos/line, pos%line
			first := min(size, line-within)
			s0 := SRD{
				Length: uint16(first),
				Field:  f == 1,
				Row:    uint16(r * g.lines()),
				Offset: uint16(within / g.PGroupBytes * g.xStep()),
			}
			var s1 SRD
			if size > first { // lines ≥ 1260 bytes: at most one line break per packet
				s1 = SRD{Length: uint16(size - first), Field: f == 1, Row: uint16((r + 1) * g.lines())}
			}
			if err := p.add(s0, s1); err != nil {
				return err
			}
		}
		p.Packets[len(p.Packets)-1].Marker = true
	}
	return nil
}

// add appends a packet of s0 and, if its Length is not 0, s1, placing
// each with Locate: the sender then uses the very mapping a receiver
// checks packets with.
func (p *Plan) add(s0, s1 SRD) error {
	pk := Packet{N: 1, SRDs: [2]SRD{s0, s1}}
	if s1.Length != 0 {
		pk.N = 2
		pk.SRDs[0].Continue = true
	}
	for j, s := range pk.SRDs[:pk.N] {
		off, pg, err := p.Geometry.Locate(s)
		if err != nil { // a packing bug, not an input error
			return fmt.Errorf("rfc4175: plan packet %d: %w", len(p.Packets), err)
		}
		if j == 0 {
			pk.Offset, pk.PGroup = off, pg
		}
		pk.SRDOffset[j] = off
		pk.Bytes += int(s.Length)
	}
	p.Packets = append(p.Packets, pk)
	return nil
}

// HeaderSize returns the RFC 4175 header bytes of packet i: 2 + 6*N.
func (p *Plan) HeaderSize(i int) int { return extSeqSize + SRDSize*p.Packets[i].N }

// PutHeader writes packet i's payload header (extended sequence number and
// SRDs) into b and returns its length, HeaderSize(i). b must hold that
// many bytes and i must index Packets (else it panics: a sender bug, not
// input). It allocates nothing.
func (p *Plan) PutHeader(b []byte, i int, extSeq uint16) int {
	pk := &p.Packets[i]
	n := extSeqSize + SRDSize*pk.N
	_ = b[n-1] // one bounds check for the writes below
	binary.BigEndian.PutUint16(b, extSeq)
	for j := range pk.N {
		putSRD(b[extSeqSize+SRDSize*j:], pk.SRDs[j])
	}
	return n
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
