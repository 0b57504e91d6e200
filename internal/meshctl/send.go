package meshctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"mediamesh/internal/pattern"
	"mediamesh/sdk"
)

func runSend(ctx context.Context, env Env, args []string) error {
	var s streamFlags
	var from string
	var noPace bool
	fs := newFlags(env, "send")
	s.register(fs, env)
	fs.IntVar(&s.frames, "frames", 300, "buffers to send (0: until --from ends or interrupted)")
	fs.StringVar(&from, "from", "", "raw payloads from FILE, or - for stdin (default: the test pattern)")
	fs.BoolVar(&noPace, "no-pace", false, "send as fast as the receivers take it, not in real time")
	if err := parse(fs, args); err != nil {
		return err
	}
	s.wireDefaults(fs)
	if err := s.validate(); err != nil {
		return err
	}
	if from == "" && s.frames == 0 {
		return fmt.Errorf("%w: the test pattern needs --frames N", ErrUsage)
	}
	var in io.Reader
	switch from {
	case "":
	case "-":
		in = env.Stdin
	default:
		f, err := os.Open(from)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}

	client, err := sdk.NewClientJSON(s.clientJSON())
	if err != nil {
		return err
	}
	defer client.Close()
	conn, err := client.CreateTxConnectionJSON(ctx, s.connJSON(false))
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.onWire() {
		if err := reportSDP(ctx, env, s, conn.ID()); err != nil {
			return err
		}
	}

	size := payloadSize(conn, s)
	pat := pattern.New(size)
	period := s.period()
	if noPace {
		period = 0
	}
	start := time.Now()
	var sent, bytes uint64
	for s.frames == 0 || sent < uint64(s.frames) {
		if ctx.Err() != nil {
			break
		}
		b, err := conn.GetBufferTimeout(s.timeout)
		if errors.Is(err, sdk.ErrTransient) {
			continue // the proxy is coming back; the SDK relinks
		}
		if err != nil {
			return fmt.Errorf("send FAILED frames=%d bytes=%d: %w", sent, bytes, err)
		}
		payload := b.PayloadCap()[:size]
		n := size
		if in != nil {
			n, err = io.ReadFull(in, payload)
			if errors.Is(err, io.EOF) {
				_ = conn.PutBuffer(b) // empty: nothing to send
				break
			}
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				return err
			}
			if n < size && s.video != "" {
				fmt.Fprintf(env.Stderr, "meshctl send: last frame short (%d of %d bytes), not sent\n", n, size)
				break
			}
		} else {
			pat.Fill(payload, sent)
		}
		if err := b.SetPayloadLen(n); err != nil {
			return err
		}
		if err := conn.PutBuffer(b); err != nil {
			return fmt.Errorf("send FAILED frames=%d bytes=%d: %w", sent, bytes, err)
		}
		sent++
		bytes += uint64(n)
		if period > 0 {
			if d := time.Until(start.Add(time.Duration(sent) * period)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(env.Stdout, "send ok frames=%d bytes=%d fps=%.2f\n", sent, bytes, float64(sent)/max(el, 1e-9))
	return nil
}

// reportSDP tells where the proxy wrote the stream's SDP and, with --sdp
// FILE, copies it there (for a receiver such as FFmpeg to open).
func reportSDP(ctx context.Context, env Env, s streamFlags, id string) error {
	if s.sdp == "" {
		fmt.Fprintf(env.Stderr, "meshctl send: connection %s; its SDP: meshctl sdp %s\n", id, id)
		return nil
	}
	f, err := os.Create(s.sdp)
	if err != nil {
		return err
	}
	if err := printSDP(ctx, env, s.proxy, id, f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// payloadSize is the payload bytes per buffer: the calculated size for
// video and audio, maxPayloadSize for blobs.
func payloadSize(c *sdk.Connection, s streamFlags) int {
	if s.blob > 0 {
		return s.blob
	}
	return c.CalculatedPayloadSize()
}
