package rfc4175

import (
	"fmt"
	"testing"
)

// benchPackets are one packet of each shape a receiver meets.
func benchPackets(b *testing.B) []struct {
	name string
	g    Geometry
	pkt  []byte
} {
	b.Helper()
	f1080 := frame(g1080p10, 1)
	gpm, err := NewPlan(g1080p10, GPM, DefaultMaxPayload)
	if err != nil {
		b.Fatal(err)
	}
	bpm, err := NewPlan(g1080p10, BPM, DefaultMaxPayload)
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		g    Geometry
		pkt  []byte
	}{
		{"gpm-1080p-1srd", g1080p10, send(gpm, f1080)[5]},
		{"bpm-1080p-2srd", g1080p10, send(bpm, f1080)[3]},
		{"gstreamer-320x240-3srd", g320p10, greedy(g320p10, frame(g320p10, 2), 1388)[1]},
	}
}

// BenchmarkReceive is the receiver's per-packet work: parse the payload
// header and locate every SRD ("parse"), then also copy the samples into
// the frame ("parse+copy").
func BenchmarkReceive(b *testing.B) {
	for _, c := range benchPackets(b) {
		dst := make([]byte, c.g.FrameBytes())
		for _, withCopy := range []bool{false, true} {
			name := c.name + "/parse"
			if withCopy {
				name += "+copy"
			}
			b.Run(name, func(b *testing.B) {
				var h PayloadHeader
				b.ReportAllocs()
				b.SetBytes(int64(len(c.pkt)))
				for b.Loop() {
					n, err := h.Unmarshal(c.pkt)
					if err != nil {
						b.Fatal(err)
					}
					data := c.pkt[n:]
					for _, s := range h.SRDs[:h.N] {
						off, _, err := c.g.Locate(s)
						if err != nil {
							b.Fatal(err)
						}
						if withCopy {
							data = data[copy(dst[off:off+int(s.Length)], data):]
						}
					}
				}
			})
		}
	}
}

// BenchmarkPutHeader is the sender's per-packet payload header write.
func BenchmarkPutHeader(b *testing.B) {
	for _, mode := range []Mode{GPM, BPM} {
		p, err := NewPlan(g1080p10, mode, DefaultMaxPayload)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%v-1080p", mode), func(b *testing.B) {
			buf := make([]byte, 64)
			i := 0
			b.ReportAllocs()
			b.SetBytes(int64(p.HeaderSize(3)))
			for b.Loop() {
				p.PutHeader(buf, i, 1)
				if i++; i == len(p.Packets) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkNewPlan is the once-per-stream cost of a plan.
func BenchmarkNewPlan(b *testing.B) {
	for _, c := range []struct {
		name string
		g    Geometry
		mode Mode
	}{
		{"gpm-1080p", g1080p10, GPM},
		{"bpm-2160p", Geometry{Width: 3840, Height: 2160, PGroupBytes: 5, PGroupPixels: 2}, BPM},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewPlan(c.g, c.mode, DefaultMaxPayload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
