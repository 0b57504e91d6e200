package bridge

import (
	"net"
	"time"
)

// keepAlive finds a peer that vanished without a FIN (power loss, a cable
// pulled) on a connection that carries nothing for a while, which writes
// alone would only notice on the next frame and reads never.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: time.Second, Count: 5}

// tune sets a bridge connection's options: TCP_NODELAY, since every write
// is a whole frame and Nagle would only hold its tail back; keep-alives;
// and, when size > 0, SO_SNDBUF or SO_RCVBUF.
//
// By default the socket buffers are left to the kernel on purpose. A
// 1080p 10-bit frame is 8 MB and wants several MiB of buffer, but Linux
// autotuning already grows them to tcp_wmem[2] / tcp_rmem[2] (Debian 12:
// 4 MiB / 32 MiB), while setting SO_RCVBUF caps it at net.core.rmem_max
// (4 MiB, doubled) and switches autotuning off: BenchmarkBridge measured
// 4 MiB fixed buffers at 0.72–0.98 of a plain TCP stream for 1–5 MB
// frames, autotuning at 0.95–1.1. Failures are not fatal: the bridge
// works with the defaults.
func tune(c net.Conn, size int, send bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetNoDelay(true)
	_ = tc.SetKeepAliveConfig(keepAlive)
	if size <= 0 {
		return
	}
	if send {
		_ = tc.SetWriteBuffer(size)
	} else {
		_ = tc.SetReadBuffer(size)
	}
}
