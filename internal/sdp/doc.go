// Package sdp reads and writes the Session Description Protocol (RFC 4566)
// as SMPTE ST 2110 uses it (shared/spec/st2110.md §10, with the fmtp keys
// of §7 for -30, §8 for -22 and §9 for -40; § numbers below refer to it).
//
// # Concept
//
// media-proxy writes an SDP for every transmitting connection and creates
// a receiving connection from an SDP written by anyone: FFmpeg's minimal
// ones, GStreamer's, broadcast gear. A Session is what mediamesh needs of
// such a description: the origin, and per m= section (one, or two legs of
// ST 2022-7 tied by a=group:DUP) the addressing (c=, a=source-filter), the
// RTP mapping (a=rtpmap), the clocks (a=ts-refclk, a=mediaclk, RFC 7273)
// and the essence's a=fmtp keys, parsed into VideoFormat (-20, and -22 with
// JXSFormat), AudioFormat (-30) or AncFormat (-40).
//
// Three entry points with three levels of strictness:
//
//   - Parse is for receiving. It is lenient about keys that ST 2110
//     requires but common senders omit (FFmpeg 5.1 writes only sampling,
//     width, height and depth; GStreamer writes a-framerate and RFC 4175
//     colorimetry names such as BT709-2), and strict about anything
//     malformed. Its errors name the line, the key, the fault and what is
//     allowed, so an operator can fix the file.
//   - Media.Missing lists the required keys a parsed description lacks,
//     for a warning.
//   - Validate is for sending: everything ST 2110 requires, in ST 2110's
//     own names. media-proxy builds a Session, validates it and writes it
//     with Marshal, so its SDPs are correct by construction.
//
// # Invariants
//
//   - For every s that Parse returns, Parse(s.Marshal()) returns a Session
//     equal to s; Marshal's text is canonical (CRLF, the line and key order
//     of §10's worked examples, every media section self-contained), so
//     the worked examples round-trip byte for byte. FuzzParse checks both.
//   - Parse never panics and its allocation is bounded: input over
//     MaxSize bytes, more than MaxMedia m= sections or MaxAttributes a=
//     lines is rejected before it is stored.
//   - Zero values mean "absent": Parse does not fill in the defaults the
//     standards give absent optional keys (TCS=SDR, RANGE=NARROW, PAR=1:1),
//     so what was written is what is marshalled. The exceptions are the
//     RFC 9134 transmode (Parse sets its default, 1, so that 0 stays
//     expressible) and packetmode (PacketModeAbsent, since 0 is a value).
//   - IPv4 only: c=, o= and source-filter with IP6 are rejected with an
//     error that says so.
//   - Only what ST 2110 uses is modelled: one payload type per m= line,
//     RTP/AVP, one source per source-filter, dynamic payload types (ST
//     2110-10). Unknown attributes (RFC 4566 §5.13) and fmtp keys are ignored.
//
// Parse, Marshal and Validate run once per connection, not per packet;
// they allocate (Session.Append does not, given capacity) and hold no
// state between calls. The package owns no goroutines and imports nothing
// of mediamesh.
package sdp
