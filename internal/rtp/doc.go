// Package rtp is the RTP fixed header (RFC 3550 §5.1) as ST 2110 uses it
// (shared/spec/st2110.md §1; § numbers below refer to it).
//
// # Concept
//
// Header holds the five fields an ST 2110 stream varies: marker, payload
// type, sequence number, timestamp and SSRC. A sender marshals each
// packet's header once, when it precomputes a frame's packets, and then
// only rewrites sequence number, timestamp and marker per frame (Patch). A
// receiver reads headers with Parse, which also finds the payload, and
// extends 16-bit sequence numbers with a SeqExtender where the payload
// format has no extended sequence number (ST 2110-22, ST 2110-30).
//
// # Invariants
//
//   - Marshalling always writes V=2, P=0, X=0, CC=0: ST 2110 needs no
//     padding, CSRCs or header extensions (§1).
//   - Parsing accepts what RFC 3550 allows even though ST 2110 does not
//     use it: CSRCs and a header extension are skipped, padding is
//     stripped, so a mixer or a generic stack in the path does not break
//     reception. Everything else is validated before use; no input panics.
//   - Parse, Unmarshal, Patch and SeqExtender.Extend allocate nothing for
//     an accepted packet. A rejected packet costs one small allocation (the
//     error and its numbers, formatted only when read) and no fmt work, so
//     a flood of garbage stays cheap.
//   - The payload Parse returns aliases the packet, with its capacity cut
//     at the payload's end so an append cannot overwrite the padding.
//
// The package imports nothing of mediamesh; it owns no goroutines and no
// state shared between calls (a SeqExtender belongs to one receiver).
package rtp
