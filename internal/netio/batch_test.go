package netio

import (
	"bytes"
	"slices"
	"testing"
)

// packet is one test packet: its size and launch time.
type packet struct {
	size int
	at   int64
}

func sized(sizes ...int) []packet {
	p := make([]packet, len(sizes))
	for i, s := range sizes {
		p[i].size = s
	}
	return p
}

func repeat(n, size int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

// batchOf fills a batch with packets of a 12-byte header and the rest as
// payload (or a header alone when shorter).
func batchOf(t testing.TB, pkts []packet, parts int) *Batch {
	t.Helper()
	b := NewBatch(len(pkts), parts)
	for _, p := range pkts {
		buf := make([]byte, p.size)
		h := min(12, p.size)
		if !b.AddAt(buf[:h], buf[h:], p.at) {
			t.Fatalf("AddAt(%d bytes) refused", p.size)
		}
	}
	return b
}

// runs returns the GSO runs of b as packet counts.
func runs(b *Batch) []int {
	var out []int
	for i := 0; i < b.n; {
		end, _ := b.gsoRun(i)
		out = append(out, end-i)
		i = end
	}
	return out
}

func TestGSORuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pkts []packet
		want []int
	}{
		{"one", sized(1200), []int{1}},
		{"equal", sized(1200, 1200, 1200), []int{3}},
		{"short last joins", sized(1200, 1200, 700), []int{3}},
		{"short ends run", sized(1200, 700, 1200, 1200), []int{2, 2}},
		{"longer starts new run", sized(700, 1200, 1200), []int{1, 2}},
		{"mixed", sized(100, 100, 100, 50, 100, 100, 200, 200, 0, 30, 30), []int{4, 2, 2, 1, 2}},
		{"empty alone", sized(0, 0, 10), []int{1, 1, 1}},
		{"64 segment cap", sized(repeat(65, 100)...), []int{64, 1}},
		{"64 full plus short", sized(append(repeat(64, 1000), 300)...), []int{64, 1}},
		{"63 full plus short", sized(append(repeat(63, 1000), 300)...), []int{64}},
		{"byte cap 1220", sized(repeat(64, 1220)...), []int{53, 11}},
		{"byte cap exact", sized(repeat(7, 9358)...), []int{7}}, // 65 506 bytes
		{"byte cap", sized(repeat(8, 9358)...), []int{7, 1}},
		{"byte cap short last", sized(append(repeat(7, 9358), 2)...), []int{7, 1}},
		{"byte cap short fits", sized(append(repeat(6, 9358), 2)...), []int{7}},
		{"too big alone", sized(70000, 70000), []int{1, 1}},
		{"launch time splits", []packet{{100, 5}, {100, 5}, {100, 6}, {100, 6}, {100, 0}}, []int{2, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := runs(batchOf(t, tt.pkts, 2)); !slices.Equal(got, tt.want) {
				t.Fatalf("runs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGSORunIovLimit(t *testing.T) {
	t.Parallel()
	// 40 packets of 40 one-byte parts: at most 1024 iovecs per message.
	b := NewBatch(40, 40)
	one := []byte{1}
	parts := make([][]byte, 40)
	for i := range parts {
		parts[i] = one
	}
	for range 40 {
		if !b.AddParts(0, parts...) {
			t.Fatal("AddParts refused")
		}
	}
	if got, want := runs(b), []int{25, 15}; !slices.Equal(got, want) {
		t.Fatalf("runs = %v, want %v", got, want)
	}
}

func TestBatchAdd(t *testing.T) {
	t.Parallel()
	b := NewBatch(2, 3)
	if b.Len() != 0 {
		t.Fatalf("Len = %d", b.Len())
	}
	if !b.Add([]byte("hdr"), nil) || !b.AddParts(0, nil, []byte("a"), []byte("b"), []byte{}, []byte("c")) {
		t.Fatal("Add refused")
	}
	if b.Add(nil, nil) {
		t.Fatal("Add past maxPackets accepted")
	}
	if b.Len() != 2 || b.size[0] != 3 || b.size[1] != 3 || b.first[2] != 4 {
		t.Fatalf("Len %d sizes %v first %v", b.Len(), b.size, b.first)
	}
	b.Reset()
	if b.AddParts(0, []byte("a"), []byte("b"), []byte("c"), []byte("d")) {
		t.Fatal("AddParts with 4 parts accepted, max is 3")
	}
	if b.Len() != 0 || !b.Add(nil, nil) || b.Len() != 1 || b.size[0] != 0 {
		t.Fatalf("after Reset: Len %d sizes %v", b.Len(), b.size)
	}
}

func TestBatchAddAllocs(t *testing.T) {
	b := NewBatch(64, 3)
	hdr, pay := make([]byte, 20), make([]byte, 1200)
	allocs := testing.AllocsPerRun(100, func() {
		b.Reset()
		for b.Add(hdr, pay) {
		}
		b.Reset()
		for b.AddParts(0, hdr, pay, hdr) {
		}
	})
	if allocs != 0 {
		t.Fatalf("Add/AddParts allocate %v times per run", allocs)
	}
}

// segmentCases drive TestMessageSegments and seed FuzzMessageSegments.
var segmentCases = []struct {
	name string
	len  int
	seg  int
	want []int // segment lengths
}{
	{"no gro", 1200, 0, []int{1200}},
	{"empty", 0, 0, []int{0}},
	{"seg equals len", 1200, 1200, []int{1200}},
	{"seg above len", 100, 1200, []int{100}},
	{"negative seg", 100, -3, []int{100}},
	{"even", 3600, 1200, []int{1200, 1200, 1200}},
	{"short last", 3000, 1200, []int{1200, 1200, 600}},
	{"one byte", 3, 1, []int{1, 1, 1}},
}

func TestMessageSegments(t *testing.T) {
	t.Parallel()
	for _, tt := range segmentCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Message{Buf: make([]byte, tt.len), SegSize: tt.seg}
			var got []int
			for i := range m.NumSegments() {
				got = append(got, len(m.Segment(i)))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("segments %v, want %v", got, tt.want)
			}
			if m.Segment(-1) != nil || m.Segment(m.NumSegments()) != nil {
				t.Fatal("out-of-range Segment is not nil")
			}
		})
	}
}

// FuzzMessageSegments: the segments of any message, whatever SegSize the
// kernel (or a bug) put there, tile Buf exactly, none above SegSize and
// all but the last equal to it.
func FuzzMessageSegments(f *testing.F) {
	for _, tc := range segmentCases {
		f.Add(make([]byte, tc.len), tc.seg)
	}
	f.Fuzz(func(t *testing.T, buf []byte, seg int) {
		m := Message{Buf: buf, SegSize: seg}
		n := m.NumSegments()
		if n < 1 || n > max(len(buf), 1) {
			t.Fatalf("NumSegments = %d for %d bytes", n, len(buf))
		}
		var joined []byte
		for i := range n {
			s := m.Segment(i)
			if seg > 0 && len(s) > seg {
				t.Fatalf("segment %d is %d bytes, SegSize %d", i, len(s), seg)
			}
			if i < n-1 && len(s) != seg {
				t.Fatalf("segment %d of %d is %d bytes, want %d", i, n, len(s), seg)
			}
			joined = append(joined, s...)
		}
		if !bytes.Equal(joined, buf) {
			t.Fatal("segments do not tile Buf")
		}
		if m.Segment(n) != nil || m.Segment(-1) != nil {
			t.Fatal("out-of-range Segment is not nil")
		}
	})
}
