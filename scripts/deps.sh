#!/usr/bin/env bash
# Installs what building and testing mediamesh needs on Debian 12, and only
# what is missing: protoc for gen-check, iproute2 for network namespaces,
# GStreamer (with plugins-bad for sdpdemux) and FFmpeg as interop peers, DPDK's testpmd as a memif peer. Idempotent and quiet when all is
# present. Go tools are pinned in tools/go.mod and built by scripts/gen.sh.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have protoc || need+=(protobuf-compiler)
have ip || need+=(iproute2)
have python3 || need+=(python3)
have gst-launch-1.0 || need+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good)
# sdpdemux (plugins-bad) opens an SDP: the interop tests check ours with it.
{ have gst-inspect-1.0 && gst-inspect-1.0 --exists sdpdemux; } || need+=(gstreamer1.0-plugins-bad)
have ffmpeg || need+=(ffmpeg)
have dpdk-testpmd || need+=(dpdk-dev) # DPDK's net_memif: a second memif implementation to interoperate with

if [ ${#need[@]} -eq 0 ]; then
	echo "deps: all present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
	exit 1
fi
echo "deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "deps: done"
