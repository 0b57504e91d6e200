#!/usr/bin/env bash
# make demo: a local mesh on embedded defaults. Builds the binaries, starts a
# media-proxy on a temporary run directory and port, two receivers and one
# sender of a 1080p59.94 yuv422p10le test stream for ~10 s, prints what each
# receiver got (frames, fps, one-way latency, losses); then the same stream
# as SMPTE ST 2110-20 RTP over loopback for ~5 s (app -> proxy -> UDP ->
# proxy -> app), with the SDP the proxy wrote; then a mesh across two
# nodes: a mesh-agent (mTLS certificates made for the demo) and a second
# media-proxy, a sender on the first, receivers on both for ~5 s — the apps
# name the group only, the agent plans a bridge and the proxies run it;
# prints the agent's view. Stops everything.
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

say "building media-proxy, mesh-agent and meshctl"
go build -trimpath -o "$work/bin/" ./cmd/media-proxy ./cmd/mesh-agent ./cmd/meshctl
bin=$work/bin
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

say "starting mesh-agent on loopback: Proxy API with mTLS (meshctl certs), Control API with a token"
"$bin/meshctl" certs --out "$work/certs" --hosts 127.0.0.1 --clients node-a,node-b >/dev/null
agent_grpc=127.0.0.1:$(freeport)
agent_rest=127.0.0.1:$(freeport)
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$bin/mesh-agent" --grpc-addr "$agent_grpc" --rest-addr "$agent_rest" --data-dir "$work/agent" \
	--ca "$work/certs/ca.pem" --cert "$work/certs/agent.pem" --key "$work/certs/agent-key.pem" \
	--token "$token" --log-format text >"$work/agent.log" 2>&1 &
pids+=($!)
mesh() { # the proxy flags of node $1 joining the agent
	echo -a "$agent_grpc" --agent-ca "$work/certs/ca.pem" --agent-cert "$work/certs/node-$1.pem" \
		--agent-key "$work/certs/node-$1-key.pem" -r 127.0.0.1 -p "$2"
}

port=$(freeport)
run=$work/run
say "starting media-proxy (node a): run dir $run, SDK API on unix:$run/sdk.sock and 127.0.0.1:$port"
# shellcheck disable=SC2046
"$bin/media-proxy" --run-dir "$run" -t "$port" -i 127.0.0.1 $(mesh a 19100-19109) --log-level info --log-format text >"$work/proxy.log" 2>&1 &
pids+=($!)
proxy_pid=$!
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

runb=$work/runb
say "the mesh: starting a second media-proxy (node b, run dir $runb); both register with mesh-agent"
# shellcheck disable=SC2046
"$bin/media-proxy" --run-dir "$runb" -t 0 $(mesh b 19110-19119) --log-level info --log-format text >"$work/proxyb.log" 2>&1 &
pids+=($!)
proxyb_pid=$!
for _ in $(seq 100); do [ -S "$runb/sdk.sock" ] && break; sleep 0.05; done
ctl=(--agent "http://$agent_rest" --token "$token")
for _ in $(seq 100); do
	[ "$("$bin/meshctl" get proxies "${ctl[@]}" -o json 2>/dev/null | grep -c '"healthy": *true')" -ge 2 ] && break
	sleep 0.1
done
"$bin/meshctl" get proxies "${ctl[@]}"
MESH_GROUP=urn:mediamesh:demo-mesh
mfmt=(--group "$MESH_GROUP" --video "$VIDEO" --fps "$FPS" --pix "$PIX")
say "a receiver of $MESH_GROUP on each node, then a sender on node a ($WIRE_FRAMES frames)"
"$bin/meshctl" recv --proxy "unix:$runb/sdk.sock" "${mfmt[@]}" --frames "$WIRE_FRAMES" --verify --timeout 15s >"$work/mb.out" 2>"$work/mb.err" &
mb=$!
pids+=($mb)
"$bin/meshctl" recv --proxy "$proxy" "${mfmt[@]}" --frames "$WIRE_FRAMES" --verify --timeout 15s >"$work/ma.out" 2>"$work/ma.err" &
ma=$!
pids+=($ma)
for _ in $(seq 100); do
	[ "$("$bin/meshctl" get connections "${ctl[@]}" -o json 2>/dev/null | grep -c "$MESH_GROUP")" -ge 2 ] && break
	sleep 0.1
done
"$bin/meshctl" send --proxy "$proxy" "${mfmt[@]}" --frames "$WIRE_FRAMES" >"$work/ms.out" &
ms=$!
pids+=($ms)
sleep 2
say "the agent's view mid-stream: the group and its bridge pair (egress on node a, ingress on node b)"
"$bin/meshctl" describe group "$MESH_GROUP" "${ctl[@]}" || true
wait "$ms" || status=1
cat "$work/ms.out"
for n in a b; do
	w=ma; [ $n = b ] && w=mb
	if ! wait "${!w}"; then status=1; fi
	say "mesh receiver on node $n"
	cat "$work/$w.err" "$work/$w.out"
done

say "stopping the proxies and the agent"
kill -TERM "$proxyb_pid" "$proxy_pid"; wait "$proxyb_pid" "$proxy_pid" || true
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
grep -hE 'level=(WARN|ERROR)' "$work/proxy.log" "$work/proxyb.log" "$work/agent.log" || true
if [ $status -eq 0 ]; then say "demo ok"; else say "demo FAILED"; fi
exit $status
