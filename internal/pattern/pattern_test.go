package pattern

import (
	"encoding/binary"
	"testing"
)

// naive is the definition from the issue, byte by byte.
func naive(k uint64, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		if i < 8 {
			continue
		}
		b[i] = byte((k*31 + uint64(i)) & 0xff)
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint64(hdr[:], k)
	copy(b, hdr[:min(8, size)])
	return b
}

func TestFillMatchesDefinition(t *testing.T) {
	t.Parallel()
	p := New(4096)
	for _, size := range []int{0, 1, 7, 8, 9, 255, 256, 257, 4096} {
		for _, k := range []uint64{0, 1, 2, 7, 255, 256, 1 << 40} {
			b := make([]byte, size)
			p.Fill(b, k)
			want := naive(k, size)
			if string(b) != string(want) {
				t.Fatalf("size %d k %d: fill differs from the definition", size, k)
			}
			if err := p.Check(b, k, size); err != nil {
				t.Fatalf("size %d k %d: %v", size, k, err)
			}
		}
	}
}

func TestCheckFindsDamage(t *testing.T) {
	t.Parallel()
	p := New(1000)
	b := make([]byte, 1000)
	p.Fill(b, 5)
	if err := p.Check(b, 6, 1000); err == nil {
		t.Fatal("wrong index accepted")
	}
	if err := p.Check(b[:999], 5, 1000); err == nil {
		t.Fatal("short buffer accepted")
	}
	b[500]++
	if err := p.Check(b, 5, 1000); err == nil {
		t.Fatal("damaged byte accepted")
	}
}

func TestFillAllocatesNothing(t *testing.T) {
	p := New(1 << 20)
	b := make([]byte, 1<<20)
	if n := testing.AllocsPerRun(10, func() { p.Fill(b, 3); _ = p.Check(b, 3, len(b)) }); n != 0 {
		t.Fatalf("%v allocations per fill+check", n)
	}
}

func BenchmarkFill1080p(b *testing.B) {
	const size = 1920 * 1080 * 4
	p := New(size)
	buf := make([]byte, size)
	b.SetBytes(size)
	b.ReportAllocs()
	k := uint64(0)
	for b.Loop() {
		p.Fill(buf, k)
		k++
	}
}
