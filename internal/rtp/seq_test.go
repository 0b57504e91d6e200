package rtp

import "testing"

func TestSeqExtender(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []uint16
		want []uint32
	}{
		{"in order", []uint16{0, 1, 2, 3}, []uint32{0, 1, 2, 3}},
		{"start mid cycle", []uint16{40000, 40001}, []uint32{40000, 40001}},
		{"wrap", []uint16{65534, 65535, 0, 1}, []uint32{65534, 65535, 65536, 65537}},
		{"two wraps", []uint16{65535, 0, 32767, 65000, 0}, []uint32{65535, 65536, 98303, 130536, 131072}},
		{"reordered across wrap", []uint16{65535, 1, 0, 65534}, []uint32{65535, 65537, 65536, 65534}},
		{"late after wrap stays in old cycle", []uint16{65500, 10, 65530, 11}, []uint32{65500, 65546, 65530, 65547}},
		{"duplicate", []uint16{7, 7, 8, 8}, []uint32{7, 7, 8, 8}},
		{"older than the first", []uint16{5, 65534, 6}, []uint32{5, 0xfffffffe, 6}},
		{"gap of 32767 is ahead", []uint16{0, 32767, 32768}, []uint32{0, 32767, 32768}},
		{"gap of 32768 is behind", []uint16{0, 32768, 1}, []uint32{0, 0xffff8000, 1}},
		{"loss then wrap", []uint16{60000, 1000, 1001}, []uint32{60000, 66536, 66537}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var s SeqExtender
			for i, seq := range c.in {
				if got := s.Extend(seq); got != c.want[i] {
					t.Fatalf("Extend(%d) #%d = %d, want %d", seq, i, got, c.want[i])
				}
			}
		})
	}
}

func TestSeqExtenderReset(t *testing.T) {
	t.Parallel()
	var s SeqExtender
	s.Extend(65535)
	s.Extend(0) // cycle 1
	s.Reset()
	if got := s.Extend(100); got != 100 {
		t.Errorf("after Reset Extend(100) = %d, want 100", got)
	}
	if got := s.Extend(99); got != 99 {
		t.Errorf("after Reset Extend(99) = %d, want 99", got)
	}
}

func BenchmarkSeqExtender(b *testing.B) {
	var s SeqExtender
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		seq++
		s.Extend(seq)
	}
}
