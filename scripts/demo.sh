#!/usr/bin/env bash
# make demo: a local mesh on embedded defaults. Builds the binaries, starts a
# media-proxy on a temporary run directory and port, two receivers and one
# sender of a 1080p59.94 yuv422p10le test stream for ~10 s, prints what each
# receiver got (frames, fps, one-way latency, losses); then the same stream
# as SMPTE ST 2110-20 RTP over loopback for ~5 s (app -> proxy -> UDP ->
# proxy -> app), with the SDP the proxy wrote; stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

FRAMES=${FRAMES:-600}          # 10 s at 59.94 fps
WIRE_FRAMES=${WIRE_FRAMES:-300} # 5 s of ST 2110
WIRE=${WIRE:-127.0.0.1:20000}   # where the ST 2110 stream goes
VIDEO=${VIDEO:-1920x1080}
FPS=${FPS:-59.94}
PIX=${PIX:-yuv422p10le}
GROUP=${GROUP:-urn:mediamesh:demo}

work=$(mktemp -d /tmp/mediamesh-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "building media-proxy and meshctl"
go build -trimpath -o "$work/bin/" ./cmd/media-proxy ./cmd/meshctl
bin=$work/bin

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18002)
run=$work/run
say "starting media-proxy: run dir $run, SDK API on unix:$run/sdk.sock and 127.0.0.1:$port"
"$bin/media-proxy" --run-dir "$run" -t "$port" -i 127.0.0.1 --log-level info --log-format text >"$work/proxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$run/sdk.sock" ] && break; sleep 0.05; done
[ -S "$run/sdk.sock" ] || { cat "$work/proxy.log"; echo "media-proxy did not start"; exit 1; }

proxy="unix:$run/sdk.sock"
fmt=(--group "$GROUP" --video "$VIDEO" --fps "$FPS" --pix "$PIX")
say "starting 2 receivers of $GROUP ($VIDEO@$FPS $PIX, verifying every frame)"
for r in 1 2; do
	"$bin/meshctl" recv --proxy "$proxy" "${fmt[@]}" --frames "$FRAMES" --verify --timeout 15s \
		>"$work/rx$r.out" 2>"$work/rx$r.err" &
	pids+=($!)
	rxp[$r]=$!
done
for _ in $(seq 200); do
	n=$("$bin/meshctl" ls --proxy "$proxy" 2>/dev/null | grep -c ' rx .*active' || true)
	[ "$n" -ge 2 ] && break
	sleep 0.05
done
"$bin/meshctl" ls --proxy "$proxy"

say "sending $FRAMES frames at $FPS fps (~$(( FRAMES * 100 / 5994 )) s)"
"$bin/meshctl" send --proxy "$proxy" "${fmt[@]}" --frames "$FRAMES"
"$bin/meshctl" ls --proxy "$proxy" || true

status=0
for r in 1 2; do
	if ! wait "${rxp[$r]}"; then status=1; fi
	say "receiver $r"
	cat "$work/rx$r.err" "$work/rx$r.out"
done
wfmt=(--st2110 "$WIRE" --video "$VIDEO" --fps "$FPS")
say "ST 2110-20: a receiver of RTP on $WIRE ($VIDEO@$FPS, 10-bit 4:2:2 pgroups, verifying every frame)"
"$bin/meshctl" recv --proxy "$proxy" "${wfmt[@]}" --frames "$WIRE_FRAMES" --verify --timeout 15s \
	>"$work/wrx.out" 2>"$work/wrx.err" &
wrx=$!
pids+=($wrx)
for _ in $(seq 200); do
	"$bin/meshctl" ls --proxy "$proxy" 2>/dev/null | grep -q 'st2110-20 rx' && break
	sleep 0.05
done
say "sending $WIRE_FRAMES frames as paced RTP (ST 2110-21 wide sender) to $WIRE; the proxy's SDP:"
"$bin/meshctl" send --proxy "$proxy" "${wfmt[@]}" --frames "$WIRE_FRAMES" --sdp "$work/tx.sdp" >"$work/wtx.out" &
wtx=$!
pids+=($wtx)
for _ in $(seq 200); do [ -s "$work/tx.sdp" ] && break; sleep 0.05; done
cat "$work/tx.sdp"
sleep 2
"$bin/meshctl" ls --proxy "$proxy" || true
wait "$wtx" || status=1
cat "$work/wtx.out"
if ! wait "$wrx"; then status=1; fi
say "ST 2110 receiver"
cat "$work/wrx.err" "$work/wrx.out"

say "stopping media-proxy"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
grep -E 'level=(WARN|ERROR)' "$work/proxy.log" || true
if [ $status -eq 0 ]; then say "demo ok"; else say "demo FAILED"; fi
exit $status
