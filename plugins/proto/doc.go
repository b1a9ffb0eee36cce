// Package proto holds the protobuf definitions of the Dezky provider plugin
// protocol and the code generated from them.
//
// Each protocol version is its own protobuf package: dezky.plugin.v2
// (sub-package v2, Go package pluginv2, current) and dezky.plugin.v1
// (sub-package v1, Go package pluginv1, previous). Version 2 has a Provider
// service (Describe, Configure, Health) and one service per capability:
// Identity, Mail, Storage, DNS and Billing. A published version is never
// changed incompatibly: new fields are additive, anything else is a new
// version registered next to the old ones in go-plugin's VersionedPlugins.
//
// Plugin authors do not import these packages; they use plugins/sdk, which
// converts between protobuf and plain Go types. Regenerate with
//
//	go generate ./plugins/proto
//
// which needs protoc on PATH and runs the protoc-gen-go and
// protoc-gen-go-grpc versions pinned as tools in go.mod.
package proto
