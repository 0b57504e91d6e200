package meshctl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"mediamesh/internal/pattern"
	"mediamesh/sdk"
)

func runRecv(ctx context.Context, env Env, args []string) error {
	var s streamFlags
	var to string
	var verify, join bool
	var hold time.Duration
	fs := newFlags(env, "recv")
	s.register(fs, env)
	fs.IntVar(&s.frames, "frames", 0, "stop after N buffers (0: until the stream goes quiet for --timeout)")
	fs.StringVar(&to, "to", "", "write raw payloads to FILE, or - for stdout")
	fs.BoolVar(&verify, "verify", false, "check every buffer against the test pattern and its order")
	fs.BoolVar(&join, "join", false, "with --verify: the stream is already running; verify from the first buffer that comes, --frames counted from there")
	fs.DurationVar(&hold, "hold", 0, "keep each buffer this long before putting it back (simulates a slow receiver)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s.wireDefaults(fs)
	if err := s.validate(); err != nil {
		return err
	}
	if join && !verify {
		return fmt.Errorf("%w: --join goes with --verify", ErrUsage)
	}
	if verify && s.onWire() && s.video != "" && s.pix != "yuv422p10rfc4175" && s.pix != "uyvy" {
		return fmt.Errorf("%w: --verify over ST 2110 needs --pix yuv422p10rfc4175: the wire carries 10 bits per sample and the test pattern uses all 16 of a %s sample", ErrUsage, s.pix)
	}
	report := env.Stdout
	var out *bufio.Writer
	switch to {
	case "":
	case "-":
		out = bufio.NewWriterSize(env.Stdout, 1<<20)
		report = env.Stderr // stdout carries the frames
	default:
		f, err := os.Create(to)
		if err != nil {
			return err
		}
		defer f.Close()
		out = bufio.NewWriterSize(f, 1<<20)
	}

	client, err := sdk.NewClientJSON(s.clientJSON())
	if err != nil {
		return err
	}
	defer client.Close()
	conn, err := client.CreateRxConnectionJSON(ctx, s.connJSON(true))
	if err != nil {
		return err
	}
	defer conn.Close()

	size := payloadSize(conn, s)
	pat := pattern.New(size)
	// Latencies of the last maxSamples buffers: bounded memory however long
	// the stream runs, no allocation per frame.
	const maxSamples = 1 << 16
	lat := make([]int64, 0, min(max(s.frames, 1024), maxSamples))
	var nlat int
	var (
		count, bytes, lost, bad uint64
		incomplete              uint64 // ST 2110 frames delivered flagged incomplete
		next, base              uint64 // the pattern index expected next; a --join receiver's first
		first, last             time.Time
		werr                    error
	)
	for s.frames == 0 || count < uint64(s.frames) {
		if ctx.Err() != nil {
			break
		}
		b, err := conn.GetBufferTimeout(s.timeout)
		if errors.Is(err, sdk.ErrTransient) {
			continue
		}
		if errors.Is(err, sdk.ErrTimeout) {
			break // the stream went quiet
		}
		if err != nil {
			werr = err
			break
		}
		now := time.Now()
		// A sender whose clock is not ours (an ST 2110 peer without PTP)
		// stamps times that say nothing about latency: leave them out.
		if ts := b.Timestamp(); !ts.IsZero() && now.Sub(ts).Abs() < 10*time.Second {
			if len(lat) < maxSamples {
				lat = append(lat, now.Sub(ts).Microseconds())
			} else {
				lat[nlat%maxSamples] = now.Sub(ts).Microseconds()
			}
			nlat++
		}
		if first.IsZero() {
			first = now
		}
		last = now
		p := b.Payload()
		if fi, ok := b.FrameInfo(); ok && fi.Incomplete {
			incomplete++
		}
		if verify {
			k := pattern.Index(p)
			if join && count == 0 && len(p) >= pattern.HeaderSize {
				next, base = k, k // a joiner's stream starts where it joined
			}
			if len(p) >= pattern.HeaderSize && k > next && (s.frames == 0 || k < base+uint64(s.frames)) {
				lost += k - next
				next = k
			}
			if pat.Check(p, next, size) != nil {
				bad++
			}
			next++
		}
		if out != nil && werr == nil {
			_, werr = out.Write(p)
		}
		count++
		bytes += uint64(len(p))
		if hold > 0 {
			time.Sleep(hold)
		}
		_ = conn.PutBuffer(b)
		if werr != nil {
			break
		}
	}
	if out != nil {
		if err := out.Flush(); err != nil && werr == nil {
			werr = err
		}
	}
	if verify && s.frames > 0 && count+lost < uint64(s.frames) {
		lost += uint64(s.frames) - count - lost // never arrived
	}
	st := conn.Stats()
	if !verify {
		lost = st.Lost // without the pattern, the sequence gaps the SDK saw
	}
	fps := 0.0
	if count > 1 {
		fps = float64(count-1) / last.Sub(first).Seconds()
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	fmt.Fprintf(report, "recv stats frames=%d fps=%.2f seconds=%.2f proxy_gaps=%d reconnects=%d incomplete=%d\n",
		count, fps, last.Sub(first).Seconds(), st.Lost, st.Reconnects, incomplete)
	ok := werr == nil && lost == 0 && bad == 0 && (s.frames == 0 || count == uint64(s.frames)) && count > 0
	verdict := "ok"
	if !ok {
		verdict = "FAILED"
	}
	fmt.Fprintf(report, "recv %s frames=%d bytes=%d lost=%d bad=%d p50_us=%d p99_us=%d\n",
		verdict, count, bytes, lost, bad, p50, p99)
	if ok {
		return nil
	}
	if werr != nil {
		return werr
	}
	return errors.New("stream incomplete or damaged")
}

func percentile(v []int64, p int) int64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := (len(v)*p + 99) / 100
	return v[min(max(i-1, 0), len(v)-1)]
}

var _ io.Writer = (*bufio.Writer)(nil)
