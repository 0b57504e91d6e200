// Package pixfmt converts between the video layouts an app keeps in
// shared memory and the RFC 4175 YCbCr-4:2:2 pgroups ST 2110-20 carries on
// the wire (shared/spec/st2110.md §4, RFC 4175 §4.3).
//
// # Model
//
// With 4:2:2 sampling and an even width, every layout is a 1-D raster
// stream of pgroups: pgroup k covers pixels 2k and 2k+1 in raster order,
// with Cb=U[k], Y0=Y[2k], Cr=V[k], Y1=Y[2k+1]. A pgroup never spans two
// rows, so no conversion needs the width, only the pixel count of the
// frame, and a range of pgroups [first, first+n) is all that locates a
// packet's samples (the st2110 packetizer maps SRD row and offset to it).
//
// Pack converts such a range of an app's frame into wire bytes, Unpack a
// packet's wire bytes into the frame. The sender converts batch by batch
// (tens of packets, so the data stays in L2) and the receiver straight into
// the app's buffer; both are one pass with no per-pixel branch.
//
// # Layouts
//
//   - PGroup10 ("yuv422p10rfc4175", GStreamer UYVP, FFmpeg bitpacked):
//     already the 10-bit wire format, 5 bytes a pgroup; Pack and Unpack
//     copy.
//   - PGroup8 ("uyvy"): the 8-bit wire format, 4 bytes a pgroup; copies.
//   - YUV422P10LE (FFmpeg yuv422p10le, GStreamer I422_10LE): Y, Cb and Cr
//     planes one after another, LE uint16 samples in bits 0-9.
//   - V210: 6 pixels in 16 bytes, 4 LE uint32 words of three 10-bit samples
//     each. The frame is MCM's v210 buffer: width*height*8/3 bytes, the
//     frame's pixels packed continuously in 6-pixel groups, with no row
//     padding. Standard v210 (FFmpeg, SDI cards) pads each row to a
//     multiple of 128 bytes (48 pixels); the two agree exactly when
//     width%48 == 0, as for 1920 and 3840, and differ otherwise (1280:
//     standard rows are 3456 bytes, MCM's 3413⅓, not even whole groups).
//
// # Invariants
//
//   - Pack writes exactly n*PGroupBytes bytes of dst and Unpack only the
//     bytes of the n pgroups' samples in dst; nothing is written on error.
//   - Every buffer, range and pixel count is checked before any access, in
//     overflow-safe arithmetic, so no input panics; errors wrap ErrShort,
//     ErrGeometry or ErrFormat with the numbers that failed.
//   - Pack masks samples to 10 bits: junk in the unused bits of an app's
//     planar samples (bits 10-15) or v210 words (bits 30-31) never reaches
//     the wire. Unpack writes those bits as zero, except in a v210 group
//     the range covers only in part: a packet may start or end at any
//     pgroup, so Unpack then updates just the samples of its pgroups
//     (read-modify-write of the words) and leaves the rest, bits 30-31
//     included, as they were.
//   - Nothing allocates, nothing blocks; the package has no state, and
//     calls on disjoint buffers may run concurrently.
//
// # Performance
//
// Pure Go without unsafe or assembly: the loops load and store whole
// 64-bit words with encoding/binary on re-sliced arrays of constant
// length, so bounds checks happen once per 64-pgroup chunk (planar) or per
// v210 group or pair, never per sample. planar.go and v210.go explain the
// bit layouts and which variants were measured; BenchmarkPack and
// BenchmarkUnpack report ns/pixel and frames/s at 1080p, whole and in
// sender-sized batches.
package pixfmt
