// Package st2110 moves an app's buffers between shared memory and the wire
// as SMPTE ST 2110 RTP streams on kernel UDP sockets: a Sender turns the
// buffers of a memif ring into paced RTP (tx), a Receiver turns RTP into
// buffers of a memif ring (rx). One Sender or Receiver serves one SDK
// connection; media-proxy owns it (shared/spec/st2110.md; § below).
//
// # Essences
//
//   - ST 2110-20 (RFC 4175, §3–§5): one buffer is one frame. The app holds
//     yuv422p10le, v210 or wire pgroups (10- or 8-bit 4:2:2); conversion to
//     and from pgroups happens batch by batch in one pass (internal/pixfmt);
//     pgroups go out straight from shared memory.
//   - ST 2110-22 (RFC 9134, §8): one buffer is one JPEG XS codestream,
//     packetised in codestream mode and reassembled on receive.
//   - ST 2110-30 (§7): one buffer is one packet time of L16/L24 PCM, the
//     app's big-endian bytes as they are.
//   - ST 2110-40 (RFC 8331, §9): one buffer is one frame's ANC data section
//     (ANC_Count, F and the ANC packets, as RFC 8331 encodes them).
//
// # Time
//
// RTP timestamps come from TAI (internal/mediaclock, §2). A Sender puts
// each video frame on the alignment point of the frame period that holds
// the buffer's header timestamp (the SDK stamps the put time when the app
// gives none), never reusing a period, and sends it paced per ST 2110-21
// (§6, internal/pacing) from that point plus TROFFSET, or from now when
// that is past. A Receiver writes the frame's media time, unwrapped from
// the RTP timestamp against its own clock and converted to Unix time, into
// the buffer header.
//
// # Receive rules
//
// Packets of another payload type, version, SSRC (the first SSRC seen is
// locked) or geometry are dropped and counted. A frame is complete when its
// marker packet and every packet before it back to the previous frame's
// marker arrived and the sample bytes add up to the frame; a frame still
// open when ReorderWindow packets of the next frame have arrived (half a
// frame's worth for video), or when
// the stream pauses, is finished as incomplete: flagged in its FrameInfo
// (internal/mcm) or dropped (Config.DropIncomplete, or no metadata room).
// Late packets of a finished frame are counted, never written.
//
// # Goroutines and resources
//
// Each Sender and Receiver owns one socket and one goroutine, started by
// Start and waited for by Close; Close also wakes the goroutine out of its
// ring or socket wait. Neither owns the memif queue it is given: the
// caller keeps the link open until Close has returned.
package st2110
