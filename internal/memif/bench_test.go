package memif

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkSendRecv: slave tx → master rx in one process, a sender
// goroutine and the benchmark goroutine receiving, per buffer size and
// wait mode. Allocations count both goroutines.
func BenchmarkSendRecv(b *testing.B) {
	for _, mode := range []string{"interrupt", "poll"} {
		for _, size := range []int{64, 4096} {
			b.Run(fmt.Sprintf("mode=%s/size=%dB", mode, size), func(b *testing.B) {
				poll := mode == "poll"
				m, s := pair(b, Config{Poll: poll}, Config{SocketPath: sockPath(b), Poll: poll, BufferSize: 4096})
				ctx, cancel := context.WithCancel(b.Context())
				defer cancel()
				var stop atomic.Bool
				sent := make(chan error, 1)
				p := make([]byte, size)
				go func() {
					tx := s.Tx(0)
					for !stop.Load() {
						err := tx.Send(p)
						if errors.Is(err, ErrRingFull) {
							err = tx.WaitRoom(ctx, 1)
						}
						if err != nil && ctx.Err() == nil {
							sent <- err
							return
						}
					}
					sent <- nil
				}()
				rx := m.Rx(0)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for rx.Available() == 0 {
						if err := rx.Wait(ctx); err != nil {
							b.Fatal(err)
						}
					}
					if _, _, err := rx.Next(); err != nil {
						b.Fatal(err)
					}
					rx.Release(1)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
				stop.Store(true)
				cancel()
				if err := <-sent; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
