package pixfmt

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Sizes of the benchmarked geometry and of one sender batch: 64 packets
// of 240 pgroups (1200 bytes of 10-bit payload each), about 75 KiB of wire
// bytes, which stays in L2 as the sender's conversion does.
const (
	benchWidth, benchHeight = 1920, 1080
	batchPGroups            = 64 * 240
)

var benchFormats = []Format{YUV422P10LE, V210, PGroup10}

// BenchmarkPack converts one 1080p frame to pgroups, whole (1080p) and in
// sender-sized batches (1080p/batch=64pkts). One op is one frame.
func BenchmarkPack(b *testing.B) {
	for _, f := range benchFormats {
		frame, wire := benchBuffers(b, f)
		b.Run(fmt.Sprintf("format=%s/1080p", f), func(b *testing.B) {
			benchConvert(b, f, Pack, wire, frame, len(wire)/f.PGroupBytes())
		})
		b.Run(fmt.Sprintf("format=%s/1080p/batch=64pkts", f), func(b *testing.B) {
			batch := make([]byte, batchPGroups*f.PGroupBytes())
			benchConvert(b, f, Pack, batch, frame, batchPGroups)
		})
	}
}

// BenchmarkUnpack converts one 1080p frame of pgroups into layout f.
func BenchmarkUnpack(b *testing.B) {
	for _, f := range benchFormats {
		frame, wire := benchBuffers(b, f)
		b.Run(fmt.Sprintf("format=%s/1080p", f), func(b *testing.B) {
			benchConvert(b, f, Unpack, frame, wire, len(wire)/f.PGroupBytes())
		})
		b.Run(fmt.Sprintf("format=%s/1080p/batch=64pkts", f), func(b *testing.B) {
			batch := wire[:batchPGroups*f.PGroupBytes()]
			benchConvert(b, f, Unpack, frame, batch, batchPGroups)
		})
	}
}

// benchBuffers returns a random 1080p frame in layout f and its wire form.
func benchBuffers(b *testing.B, f Format) (frame, wire []byte) {
	b.Helper()
	pixels := benchWidth * benchHeight
	frame = randFrame(rand.New(rand.NewPCG(1, 2)), f, pixels)
	wire = make([]byte, pixels/2*f.PGroupBytes())
	if err := Pack(f, wire, frame, pixels, 0, pixels/2); err != nil {
		b.Fatal(err)
	}
	return frame, wire
}

// benchConvert runs conv over a whole frame per op, step pgroups per call
// (the last call takes what is left), with dst and src as conv takes them.
func benchConvert(b *testing.B, f Format, conv func(Format, []byte, []byte, int, int, int) error, dst, src []byte, step int) {
	pixels := benchWidth * benchHeight
	pgroups := pixels / 2
	b.SetBytes(int64(pgroups * f.PGroupBytes()))
	b.ReportAllocs()
	for b.Loop() {
		for first := 0; first < pgroups; first += step {
			if err := conv(f, dst, src, pixels, first, min(step, pgroups-first)); err != nil {
				b.Fatal(err)
			}
		}
	}
	ns := float64(b.Elapsed().Nanoseconds())
	b.ReportMetric(ns/float64(b.N)/float64(pixels), "ns/pixel")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
