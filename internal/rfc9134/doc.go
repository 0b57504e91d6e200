// Package rfc9134 is the RTP payload format for JPEG XS (RFC 9134), the
// compressed-video transport of SMPTE ST 2110-22. The proxy does not code
// JPEG XS: apps hand it finished codestreams, one per buffer, and this
// package cuts them into packets on send and puts them back together on
// receive.
//
// # Units and packets
//
// A packetization unit is one frame, or one field when interlaced; all its
// packets share the RTP timestamp and the last has the marker bit and L=1.
// In codestream mode (K=0, the only mode built here) the unit is the
// picture segment (optional jpvi and colr boxes, then SOC..EOC) cut at
// arbitrary byte boundaries. Every packet begins with the 4-byte Header:
// T (in-order transmission), K, L, I (progressive, first or second field;
// 0b01 is reserved and refused), F (frame counter mod 32) and the 11-bit
// SEP and P counters. In codestream mode P numbers the packets of the unit
// mod 2048 and SEP counts P's wraps, so (SEP, P) is a 22-bit packet index
// (Index, IndexOf) and a unit holds at most MaxPackets packets.
//
// # Sending
//
// Packetizer is stateless arithmetic: Count(n) packets, and for packet i
// its Header and codestream byte range. Every packet but the last carries
// Chunk() bytes; it sends in order (T=1).
//
// # Receiving
//
// Reassembler writes each packet straight into the caller's buffer at
// IndexOf(SEP, P) × chunk, where chunk is learnt from the first non-last
// packet of the unit. That makes arrival order irrelevant and needs no
// copy beyond the one into the buffer. Its invariants: nothing is written
// outside the buffer (ErrOutOfFrame); a packet that contradicts the unit
// (another size, a second L, a packet after L) marks the unit Broken
// rather than being placed by guess; the arrival bitmap is allocated once
// (maxUnitBytes/MinChunk bits) and Add allocates nothing. A unit is
// Complete when L and every packet before it have arrived.
//
// # Codestream probe
//
// ProbeCodestream checks what an app hands in: SOC first (after optional
// jpvi/colr boxes), EOC last, a 26-byte PIH among the header marker
// segments, from which come Lcod, profile, level/sublevel, width, height
// and component count; a CDT, when present, gives bit depth and
// subsampling. It does not parse the boxes' contents nor any slice data.
//
// The package owns no goroutines and takes no locks; its types are not
// safe for concurrent use except Packetizer, which is immutable.
//
// References: RFC 9134 §4 (payload header, packetization modes), §7 (SDP
// parameters); ISO/IEC 21122-1 Annex A (markers, PIH, CDT); ISO/IEC
// 21122-3 (jpvi, colr boxes); SMPTE ST 2110-22.
package rfc9134
