package sdp_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"mediamesh/internal/sdp"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError wrapping ErrInvalid, and that an accepted description
// survives Marshal: Parse(Marshal(s)) equals s and Marshal is then stable.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.sdp")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		f.Add(readFile(f, filepath.Base(file)))
	}
	for _, tc := range errorCases {
		if len(tc.in) <= sdp.MaxSize {
			f.Add([]byte(tc.in))
		}
	}
	for _, tc := range essenceErrorCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := sdp.Parse(in)
		if err != nil {
			var pe *sdp.ParseError
			if !errors.Is(err, sdp.ErrInvalid) || !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError wrapping ErrInvalid", err, err)
			}
			return
		}
		for i := range s.Media {
			_ = s.Media[i].Missing()
			_ = s.Media[i].Fmtp()
		}
		_ = s.Validate()
		out := s.Marshal()
		again, err := sdp.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse(Marshal(s)) != s\n got %+v\nwant %+v\n%s", again, s, out)
		}
		if out2 := again.Marshal(); !bytes.Equal(out2, out) {
			t.Fatalf("Marshal not stable:\n%s\n%s", out, out2)
		}
	})
}
