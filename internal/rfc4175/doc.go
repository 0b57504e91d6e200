// Package rfc4175 is the ST 2110-20 video payload: RFC 4175 as ST 2110-20
// constrains it (shared/spec/st2110.md §3–§5; § numbers below refer to it).
//
// # Concept
//
// Both ends share a Geometry (frame size, pgroup, scan) from the config or
// the SDP, and a packed frame buffer: pgroups row after row, no padding,
// interlaced fields woven line by line. A pgroup (§4) is the smallest run
// of whole samples that fills whole bytes (5 bytes = 2 pixels for 4:2:2
// 10-bit); RFC 4175 never splits one across packets.
//
// After the RTP header each packet carries a PayloadHeader: the high half
// of the 32-bit sequence number and one or more SRDs (sample row data
// headers), each naming a segment of a line by row, field, pixel offset and
// byte length, followed by the segments' samples back to back (§3).
//
// Sender side: NewPlan precomputes a frame's packets once, in General
// Packing Mode (equal line segments, one SRD each: what UDP GSO needs) or
// Block Packing Mode (1260-byte packets that cross lines). Per frame the
// sender only writes each packet's header with PutHeader and points at the
// packet's bytes of the frame.
//
// Receiver side: PayloadHeader.Unmarshal validates the structure of any
// packet, including the greedy 2–3 SRD packets of GStreamer and FFmpeg,
// and Geometry.Locate maps each SRD to its byte range in the frame after
// checking it against the geometry.
//
// # Invariants
//
//   - Nothing a packet says is trusted: Unmarshal bounds the SRD count
//     (MaxSRDs) and checks the lengths against the packet, Locate checks
//     row, field, offset and length against the geometry, so a copy to
//     [byteOff, byteOff+Length) of a FrameBytes buffer is always in bounds.
//     No input panics.
//   - Unmarshal, Locate and PutHeader allocate nothing for accepted input;
//     a rejected packet costs one small allocation (the error and its
//     numbers, formatted only when read).
//   - A Plan covers every byte of the frame exactly once, in wire order,
//     places its segments with Locate (so sender and receiver use one
//     mapping), never needs more than 2 SRDs per packet and never exceeds
//     its payload budget. Marker is set on the last packet of the frame or
//     of each field.
//   - Geometry limits follow the wire: 15-bit Row and Offset bound Width
//     and Height to 32767; frames stay below 2 GiB.
//
// The package imports nothing of mediamesh; it owns no goroutines. A Plan
// is immutable after NewPlan and may be shared by senders.
package rfc4175
