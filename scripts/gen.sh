#!/usr/bin/env bash
# Regenerates every generated file from its source (protos → *.pb.go).
# Generators are pinned in tools/go.mod; protoc comes from Debian's
# protobuf-compiler (scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
gobin="$PWD/.tools/bin"
mkdir -p "$gobin"
(cd tools && GOBIN="$gobin" go install \
	google.golang.org/protobuf/cmd/protoc-gen-go \
	google.golang.org/grpc/cmd/protoc-gen-go-grpc)
export PATH="$gobin:$PATH"
gen() { # dir files...
	local dir=$1; shift
	protoc -I "$dir" \
		--go_out="$dir" --go_opt=paths=source_relative \
		--go-grpc_out="$dir" --go-grpc_opt=paths=source_relative \
		"$@"
}
(gen api/mcm/sdk api/mcm/sdk/conn-config.proto api/mcm/sdk/sdk.proto)
(gen api/proxy/v1 api/proxy/v1/proxy.proto)
(gen api/agent/v1 -I api/mcm/sdk api/agent/v1/mediaproxy.proto)
