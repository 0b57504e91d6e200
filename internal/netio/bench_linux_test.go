package netio

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU returns the calling thread's user+system CPU time in ns.
func threadCPU(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSend: one op is one Send of a batch of 1220-byte packets
// (20-byte header + 1200-byte payload, two parts, as the -20 sender
// builds them) over loopback, while a goroutine drains with Recv and GRO.
// cpu-ns/pkt is the sending thread's CPU (getrusage RUSAGE_THREAD); on
// loopback it includes the receive path the kernel runs in the sender's
// softirq.
func BenchmarkSend(b *testing.B) {
	for _, mode := range []Mode{SendEach, SendMmsg, SendGSO} {
		for _, batch := range []int{16, 64} {
			b.Run(fmt.Sprintf("mode=%v/batch=%d", mode, batch), func(b *testing.B) {
				rx := listenT(b, Config{GRO: true, RecvBuffer: 64 << 20})
				tx := dialT(b, Config{SendBuffer: 4 << 20}, rx.LocalAddr())
				hdr, pay := make([]byte, 20), make([]byte, 1200)
				bt := NewBatch(batch, 2)
				for bt.Add(hdr, pay) {
				}
				rb := NewRecvBatch(64, 1<<16) // before the timer: its 4 MiB are no op's
				var wg sync.WaitGroup
				wg.Go(func() { // ends when rx is closed below
					for {
						if _, err := rx.Recv(rb); err != nil {
							return
						}
					}
				})
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.SetBytes(int64(batch * 1220))
				b.ReportAllocs()
				cpu0, calls0 := threadCPU(b), tx.Stats().Syscalls
				for b.Loop() {
					if _, err := tx.Send(bt, mode, 0); err != nil {
						b.Fatal(err)
					}
				}
				cpu, calls := threadCPU(b)-cpu0, tx.Stats().Syscalls-calls0
				pkts := float64(b.N * batch)
				b.ReportMetric(pkts/b.Elapsed().Seconds(), "pkts/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pkts, "ns/pkt")
				b.ReportMetric(float64(cpu)/pkts, "cpu-ns/pkt")
				b.ReportMetric(float64(calls)/float64(b.N), "syscalls/op")
				rx.Close()
				wg.Wait()
			})
		}
	}
}

// BenchmarkRecv: one op is receiving 64 datagrams of 1220 bytes with
// recvmmsg into a 64-message batch, while a goroutine floods loopback —
// with GSO for gro=true (so one message carries up to 53 datagrams), with
// sendmmsg for gro=false.
func BenchmarkRecv(b *testing.B) {
	for _, gro := range []bool{false, true} {
		b.Run(fmt.Sprintf("gro=%v", gro), func(b *testing.B) {
			rx := listenT(b, Config{GRO: gro, RecvBuffer: 64 << 20})
			tx := dialT(b, Config{SendBuffer: 4 << 20}, rx.LocalAddr())
			mode := SendMmsg
			if gro {
				mode = SendGSO
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			sendErr := make(chan error, 1)
			hdr, pay := make([]byte, 20), make([]byte, 1200)
			bt := NewBatch(64, 2)
			for bt.Add(hdr, pay) {
			}
			wg.Go(func() { // ends on stop or when tx is closed
				for !stop.Load() {
					if _, err := tx.Send(bt, mode, 0); err != nil {
						if !errors.Is(err, net.ErrClosed) {
							sendErr <- err
						}
						return
					}
				}
			})
			rb := NewRecvBatch(64, 1<<16)
			b.SetBytes(64 * 1220)
			b.ReportAllocs()
			calls0 := rx.Stats().Syscalls
			for b.Loop() {
				for got := 0; got < 64; {
					ms, err := rx.Recv(rb)
					if err != nil {
						b.Fatal(err)
					}
					for _, m := range ms {
						got += m.NumSegments()
					}
				}
			}
			pkts := float64(b.N * 64)
			b.ReportMetric(pkts/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(rx.Stats().Syscalls-calls0)/float64(b.N), "syscalls/op")
			stop.Store(true)
			wg.Wait()
			select {
			case err := <-sendErr:
				b.Fatal(err)
			default:
			}
		})
	}
}
