// Package rfc8331 is the RTP payload format for SMPTE ST 291-1 ancillary
// data (RFC 8331), the ANC transport of SMPTE ST 2110-40: captions
// (CEA-708, DID 0x61/SDID 0x01), time code (ST 12-2, 0x60/0x60), SCTE-104
// cues (0x41/0x07) and the other packets SDI carries in its blanking.
//
// # Layout
//
// After the RTP header comes an 8-byte Header: the high half of a 32-bit
// extended sequence number, Length (bytes of ANC data after the header),
// ANC_Count and F (progressive, field 1 or field 2; 0b01 is invalid). Then
// ANC_Count packets, each a 32-bit word (C, Line_Number, Horizontal_Offset,
// S, StreamNum) followed by 10-bit words packed MSB first: DID, SDID,
// Data_Count, the user data words and the Checksum_Word, padded with zero
// bits to the next 32-bit boundary.
//
// # Values, parity and checksum
//
// Packet carries DID, SDID and user data as 8-bit values: AppendPacket
// adds b8 (even parity of b0..b7) and b9 (NOT b8) to each and computes the
// Checksum_Word (the 9-bit sum of b0..b8 of DID through the last UDW, with
// b9 = NOT b8). The Decoder checks both but grades the damage: a parity
// mismatch keeps the value and is counted (ParityErrors), since some ANC
// types use all ten bits of their UDW; a checksum mismatch returns the
// packet with ErrChecksum so the caller can count and still pass it; only a
// layout error (a length or count that does not fit, non-zero alignment
// bits, bytes after the last packet) is ErrMalformed and ends the walk.
//
// # Invariants
//
// The Decoder never reads outside its input and never allocates: a
// packet's Data aliases a 255-byte array inside the Decoder, valid until
// the next call. Encoding allocates only when the destination lacks
// capacity. A payload that decodes with no parity or checksum error
// re-encodes to the same bytes (reserved header bits aside).
//
// The package owns no goroutines and takes no locks; a Decoder is not
// safe for concurrent use.
//
// References: RFC 8331 §2 (payload format), §3.1 (SDP: DID_SDID,
// VPID_Code); SMPTE ST 291-1 (ANC packet, parity, checksum); SMPTE ST
// 2110-40.
package rfc8331
