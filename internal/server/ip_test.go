package server_test

import (
	"net"
	"net/http/httptest"
	"testing"

	"github.com/dezky/platform/internal/server"
)

func TestClientIP(t *testing.T) {
	for _, tc := range []struct{ xff, peer, want string }{
		{"", "192.0.2.1:5555", "192.0.2.1"},
		{"203.0.113.7", "10.0.0.1:1", "203.0.113.7"},
		{"203.0.113.7, 10.0.0.2, 10.0.0.3", "10.0.0.1:1", "203.0.113.7"},
		{" 2001:db8::1 ,10.0.0.2", "10.0.0.1:1", "2001:db8::1"},
		{"not-an-ip", "10.0.0.1:1", "10.0.0.1"},
		{"", "[2001:db8::2]:443", "2001:db8::2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := server.ClientIP(r); got != tc.want {
			t.Errorf("ClientIP(xff %q, peer %q) = %q, want %q", tc.xff, tc.peer, got, tc.want)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.7, 10.0.0.1", "192.0.2.1:80")
	f.Add("", "garbage")
	f.Fuzz(func(t *testing.T, xff, peer string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := server.ClientIP(r)
		if xff != "" && got != peer && net.ParseIP(got) == nil {
			if host, _, err := net.SplitHostPort(peer); err != nil || host != got {
				t.Fatalf("ClientIP = %q: neither a parsed address nor the peer", got)
			}
		}
	})
}
