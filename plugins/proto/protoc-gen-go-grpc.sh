#!/bin/sh
# Runs the protoc-gen-go-grpc version pinned in go.mod's tool block.
exec go tool protoc-gen-go-grpc "$@"
