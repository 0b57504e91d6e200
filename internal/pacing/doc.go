// Package pacing times ST 2110-21 video senders and checks streams against
// the -21 models (shared/spec/st2110.md §6).
//
// ST 2110-21 says when each packet of a frame may leave: the first TROFFSET
// after the frame's alignment point (mediaclock.FrameStart), the rest every
// TRS, spread over the active video time (Narrow and Wide, "gapped") or over
// the whole frame (NarrowLinear). Receivers are built for that: the network
// compatibility model (a leaky bucket, CINST ≤ CMAX) bounds the bursts a
// switch must absorb, and the virtual receiver buffer (VRX ≤ VRX_FULL)
// bounds what a receiver must hold. Model computes these quantities, exactly
// where a floor decides a limit; Schedule turns them into per-burst send
// offsets computed once per stream.
//
// User space on Linux cannot space packets 4 µs apart with sleeps, so our
// senders are Wide (TP=2110TPW): a burst of CMAX packets (16 at 1080p) every
// CMAX·TRS, timed by a Waiter, which sleeps on a timerfd through the runtime
// poller and spins the last Spin (50 µs) on the clock. Analyze is the
// checker behind the sender's timing test: given arrival times it reports
// CINST, VRX, burst sizes and gaps, and whether the stream passes as Narrow
// and as Wide. Its doc comment states how CINST and VRX are measured, in
// particular that VRX is anchored at each frame's first packet (TRoffset-
// independent), our reading of the standard for a receiver that knows
// neither TROFFSET nor the link delay.
//
// Interlaced video is modelled per field: Model.Packets and the frame start
// passed to PacketTime are the field's.
//
// The package owns no goroutines. A Waiter serves one goroutine; it owns a
// timerfd (after its first sleep) and a context watch, released by Close.
// PacketTime, Schedule's offsets and Until (in steady state) do not
// allocate.
package pacing
