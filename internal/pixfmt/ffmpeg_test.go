package pixfmt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFFmpeg checks the conversions against the real peer: FFmpeg's
// yuv422p10le, its bitpacked encoder (RFC 4175 pgroups) and its v210
// encoder, for two testsrc2 frames. The limiter keeps samples in 4–1019,
// as FFmpeg's v210 encoder clamps to that range (st2110.md §4). v210 runs
// at 1920x1080 only: FFmpeg pads v210 rows to 128 bytes, which is our
// unpadded layout only when width%48 == 0.
func TestFFmpeg(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ffmpeg is required in CI: %v", err)
		}
		t.Skipf("ffmpeg not installed: %v", err)
	}
	for _, g := range []struct {
		w, h int
		v210 bool
	}{{320, 240, false}, {1920, 1080, true}} {
		t.Run(fmt.Sprintf("%dx%d", g.w, g.h), func(t *testing.T) {
			dir := t.TempDir()
			gen := func(name string, codec ...string) []byte {
				t.Helper()
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				out := filepath.Join(dir, name)
				args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
					"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", g.w, g.h), "-frames:v", "2",
					"-vf", "format=yuv422p10le,limiter=min=4:max=1019", "-pix_fmt", "yuv422p10le"}
				args = append(append(args, codec...), "-f", "rawvideo", out)
				if msg, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
					t.Fatalf("ffmpeg %v: %v\n%s", args, err, msg)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			planar := gen("a.yuv")
			pgroups := gen("a.pgroup", "-c:v", "bitpacked")
			formats := map[Format][]byte{YUV422P10LE: planar}
			if g.v210 {
				formats[V210] = gen("a.v210", "-c:v", "v210")
			}
			pixels := g.w * g.h
			wireSize := pixels / 2 * pgroup10Bytes
			if len(pgroups) != 2*wireSize {
				t.Fatalf("bitpacked output is %d bytes, want 2 frames of %d", len(pgroups), wireSize)
			}
			for f, frames := range formats {
				size, err := FrameSize(f, g.w, g.h)
				if err != nil {
					t.Fatal(err)
				}
				if len(frames) != 2*size {
					t.Fatalf("%v output is %d bytes, want 2 frames of %d", f, len(frames), size)
				}
				wire := make([]byte, wireSize)
				frame := make([]byte, size)
				for i := range 2 {
					src, want := frames[i*size:(i+1)*size], pgroups[i*wireSize:(i+1)*wireSize]
					if err := Pack(f, wire, src, pixels, 0, pixels/2); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(wire, want) {
						t.Errorf("frame %d: Pack(%v) differs from ffmpeg's bitpacked at byte %d", i, f, firstDiff(wire, want))
					}
					if err := Unpack(f, frame, want, pixels, 0, pixels/2); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(frame, src) {
						t.Errorf("frame %d: Unpack(%v) of bitpacked differs from ffmpeg's %v at byte %d", i, f, f, firstDiff(frame, src))
					}
				}
			}
		})
	}
}
