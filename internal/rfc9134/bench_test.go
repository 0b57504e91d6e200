package rfc9134

import (
	"fmt"
	"testing"
)

// unitSizes are codestream sizes of one frame at 3 bpp.
var unitSizes = []struct {
	name string
	n    int
}{
	{"1080p-3bpp", 1920 * 1080 * 3 / 8},
	{"2160p-3bpp", 3840 * 2160 * 3 / 8},
}

// BenchmarkReassemblerAdd rebuilds one unit per op from in-order packets:
// the receive hot path (Reset once, Add per packet).
func BenchmarkReassemblerAdd(b *testing.B) {
	for _, u := range unitSizes {
		for _, mp := range []int{1400, 8960} {
			b.Run(fmt.Sprintf("%s/payload=%d", u.name, mp), func(b *testing.B) {
				pkts := split(b, codestream(u.n, 1), mp, 0, 0)
				r := newReassembler(b, u.n, mp)
				dst := make([]byte, u.n)
				b.ReportAllocs()
				b.SetBytes(int64(u.n))
				for b.Loop() {
					r.Reset(dst)
					for _, p := range pkts {
						if err := r.Add(p.h, p.data); err != nil {
							b.Fatal(err)
						}
					}
				}
				if !r.Complete() {
					b.Fatal("incomplete")
				}
				b.ReportMetric(float64(len(pkts))*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
			})
		}
	}
}

// BenchmarkPacketize cuts one unit per op into payloads written into one
// reused packet buffer: header MarshalTo plus the codestream copy.
func BenchmarkPacketize(b *testing.B) {
	for _, u := range unitSizes {
		b.Run(u.name+"/payload=1400", func(b *testing.B) {
			cs := codestream(u.n, 2)
			p, err := NewPacketizer(1400)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1400)
			count := p.Count(u.n)
			b.ReportAllocs()
			b.SetBytes(int64(u.n))
			for b.Loop() {
				for i := range count {
					h, s, e := p.Packet(i, u.n, 3, 0)
					if _, err := h.MarshalTo(buf); err != nil {
						b.Fatal(err)
					}
					copy(buf[HeaderSize:], cs[s:e])
				}
			}
			b.ReportMetric(float64(count)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func BenchmarkHeaderUnmarshal(b *testing.B) {
	buf := headerCases[2].bytes
	var h Header
	b.ReportAllocs()
	b.SetBytes(HeaderSize)
	for b.Loop() {
		if _, err := h.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProbeCodestream(b *testing.B) {
	cs := csSpec{jpvi: true, colr: true, profile: 0x3540, plev: 0x1004, w: 1920, h: 1080, nc: 3, cdt: yuv422.cdt}.build()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ProbeCodestream(cs); err != nil {
			b.Fatal(err)
		}
	}
}
