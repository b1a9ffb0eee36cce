package webhooks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestDialRefusesPrivateAddresses: the delivery dialer checks the address
// it actually dials, after name resolution, so a public-looking name that
// resolves to loopback (DNS rebinding) is refused too.
func TestDialRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// "localhost" passes no URL check here: only the dial decides.
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, err := dialer(false)(context.Background(), "tcp", net.JoinHostPort(host, port))
		if !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("dial %s: %v, want ErrForbiddenTarget", host, err)
		}
	}
	c, err := dialer(true)(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("dial with private targets allowed: %v", err)
	}
	c.Close()
}

func TestForbiddenAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want string
	}{
		{"127.0.0.1", "loopback"}, {"::1", "loopback"}, {"169.254.169.254", "link-local"}, {"fe80::1", "link-local"},
		{"10.0.0.1", "private"}, {"172.16.5.4", "private"}, {"192.168.1.1", "private"}, {"fd12::1", "private"},
		{"100.64.0.1", "private"}, {"0.0.0.0", "unspecified"}, {"::ffff:127.0.0.1", "loopback"}, {"239.1.2.3", "multicast"},
		{"93.184.216.34", ""}, {"2606:4700::1111", ""},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := forbiddenAddr(a); got != tc.want {
			t.Errorf("forbiddenAddr(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		types  []string
		action string
		want   bool
	}{
		{[]string{"*"}, "tenant.created", true},
		{[]string{"tenant.*"}, "tenant.created", true},
		{[]string{"tenant.*"}, "tenantx.created", false},
		{[]string{"tenant.created"}, "tenant.created", true},
		{[]string{"tenant.created"}, "tenant.created.more", false},
		{[]string{"member.*", "flag.killed"}, "flag.killed", true},
	} {
		if got := matches(tc.types, tc.action); got != tc.want {
			t.Errorf("matches(%v, %s) = %v, want %v", tc.types, tc.action, got, tc.want)
		}
	}
}
