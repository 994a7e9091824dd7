// Package operationspb is the Go code generated from proto/operations.proto:
// the messages and the gRPC client and server of the Operations service.
// Never edit it by hand: run go generate ./gen/operationspb.
package operationspb

//go:generate sh gen.sh
