package host_test

import (
	"context"
	"crypto/tls"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dezky/platform/plugins/host"
	pb "github.com/dezky/platform/plugins/proto/v2"
)

// TestHost_AutoMTLS: the plugin's listener speaks TLS and demands the
// host's client certificate, so neither a plaintext client nor a TLS
// client without that certificate gets an answer.
func TestHost_AutoMTLS(t *testing.T) {
	h, _ := MustStart(t, host.Config{Capabilities: bindAll("test", nil, nil)})
	st := status(t, h, "test")
	if st.Socket == "" {
		t.Fatal("no plugin socket in status")
	}
	// The host itself is connected and served.
	if _, err := identity(t, h).GetUser(t.Context(), "nobody"); err == nil {
		t.Fatal("GetUser of an unknown user succeeded")
	}
	for name, creds := range map[string]credentials.TransportCredentials{
		"plaintext":     insecure.NewCredentials(),
		"tls-no-client": credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}),
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := grpc.NewClient("unix:"+st.Socket, grpc.WithTransportCredentials(creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if d, err := pb.NewProviderClient(conn).Describe(ctx, &pb.Empty{}); err == nil {
				t.Fatalf("Describe over %s answered %v; want the connection refused", name, d)
			}
		})
	}
}
