package rfc8331

import "testing"

// benchPayload is a frame's worth of ANC: captions, time code and a full
// 255-word packet.
func benchPayload(b *testing.B) ([]byte, []Packet) {
	full := Packet{Line: 11, DID: 0x41, SDID: 0x07, Data: make([]byte, MaxData)}
	for i := range full.Data {
		full.Data[i] = byte(i)
	}
	pkts := []Packet{cea708, timecode, full}
	payload, err := AppendPayload(nil, Header{ExtSeq: 1}, pkts)
	if err != nil {
		b.Fatal(err)
	}
	return payload, pkts
}

func BenchmarkDecoder(b *testing.B) {
	payload, pkts := benchPayload(b)
	var d Decoder
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := d.ResetPayload(payload); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			ok, err := d.Next(&p)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			n++
		}
		if n != len(pkts) {
			b.Fatalf("%d packets", n)
		}
	}
	b.ReportMetric(float64(len(pkts))*float64(b.N)/b.Elapsed().Seconds(), "anc/s")
}

func BenchmarkAppendPayload(b *testing.B) {
	payload, pkts := benchPayload(b)
	buf := make([]byte, 0, len(payload))
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		var err error
		if buf, err = AppendPayload(buf[:0], Header{ExtSeq: 1}, pkts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pkts))*float64(b.N)/b.Elapsed().Seconds(), "anc/s")
}
