package proto

// The pinned generators from go.mod's tool block run through the
// protoc-gen-go.sh / protoc-gen-go-grpc.sh wrappers, so "go generate
// ./plugins/..." needs only protoc on PATH.
//go:generate protoc --proto_path=. --plugin=protoc-gen-go=./protoc-gen-go.sh --plugin=protoc-gen-go-grpc=./protoc-gen-go-grpc.sh --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative v1/plugin.proto
//go:generate protoc --proto_path=. --plugin=protoc-gen-go=./protoc-gen-go.sh --plugin=protoc-gen-go-grpc=./protoc-gen-go-grpc.sh --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative v2/common.proto v2/provider.proto v2/identity.proto v2/mail.proto v2/storage.proto v2/dns.proto v2/billing.proto
