#!/bin/sh
# Generates the Go code of proto/operations.proto into this directory with
# protoc and the protoc-gen-go and protoc-gen-go-grpc versions pinned as tools
# in go.mod, so that the output is the same byte for byte on every machine
# with the same protoc.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
protoc \
	--proto_path=proto \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	--go_out=. --go_opt=module=github.com/pccagent/pccagent \
	--go-grpc_out=. --go-grpc_opt=module=github.com/pccagent/pccagent \
	operations.proto
