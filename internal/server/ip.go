package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client of r. The peer address is the
// client unless the peer is one of the trusted proxies: then the hops the
// proxies recorded (the RFC 7239 Forwarded header when present, else
// X-Forwarded-For; every header line, left to right) are walked from the
// right, skipping trusted proxies, and the first address that is not a
// trusted proxy is the client. A hop that is not an address (garbage,
// "unknown", an obfuscated identifier) ends the walk at the last trusted
// hop, since nothing to its left can be believed. With no trusted proxies
// forwarding headers are ignored entirely.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops, ok := forwardedFor(r.Header.Values("Forwarded"))
	if !ok {
		hops = xForwardedFor(r.Header.Values("X-Forwarded-For"))
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHost parses an address with or without a port ("192.0.2.1",
// "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]:443"), unmapping IPv4 in
// IPv6 and dropping any zone.
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// xForwardedFor returns the hops of X-Forwarded-For header lines.
func xForwardedFor(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for _, h := range strings.Split(l, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// forwardedFor returns the "for" parameter of every element of RFC 7239
// Forwarded header lines, unquoted; an element without one counts as an
// unknown hop. ok is false when there is no Forwarded header.
func forwardedFor(lines []string) (hops []string, ok bool) {
	for _, l := range lines {
		for _, elem := range splitQuoted(l, ',') {
			if strings.TrimSpace(elem) == "" {
				continue
			}
			ok = true
			hop := "unknown"
			for _, pair := range splitQuoted(elem, ';') {
				k, v, found := strings.Cut(strings.TrimSpace(pair), "=")
				if found && strings.EqualFold(strings.TrimSpace(k), "for") {
					hop = unquote(strings.TrimSpace(v))
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops, ok
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote removes the quotes and escapes of an RFC 7230 quoted-string.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
