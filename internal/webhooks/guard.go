package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/dezky/platform/internal/apperr"
)

// Targets on loopback, link-local, private (RFC 1918, RFC 4193),
// carrier-grade NAT, unspecified and multicast addresses are refused unless
// private targets are allowed: a tenant must not be able to make the
// server probe its own network. The check runs twice: on the URL when an
// endpoint is saved (a literal address, or a name like localhost), and at
// dial time on every address the name resolved to, so a name that later
// resolves to a private address (DNS rebinding) is refused too.

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// forbiddenAddr reports why addr may not be dialled, or "".
func forbiddenAddr(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "loopback"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "link-local"
	case addr.IsPrivate(), cgnat.Contains(addr):
		return "private"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	}
	return ""
}

// ErrForbiddenTarget is returned when a delivery would dial a refused
// address.
var ErrForbiddenTarget = errors.New("target address refused")

// dialControl refuses connections to forbidden addresses; it runs after
// name resolution, on the address actually dialled.
func dialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenTarget, host)
	}
	if why := forbiddenAddr(a); why != "" {
		return fmt.Errorf("%w: %s address %s", ErrForbiddenTarget, why, a)
	}
	return nil
}

// ValidateURL checks an endpoint URL: absolute http or https, a host, no
// user info, and (unless allowPrivate) no literal forbidden address or
// local name.
func ValidateURL(raw string, allowPrivate bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, apperr.Invalid("url", "is required")
	}
	if len(raw) > 2048 {
		return nil, apperr.Invalid("url", "must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return nil, apperr.Invalid("url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, apperr.Invalid("url", "must not contain user information")
	}
	if u.Fragment != "" {
		return nil, apperr.Invalid("url", "must not contain a fragment")
	}
	if allowPrivate {
		return u, nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") ||
		strings.HasSuffix(host, ".internal") || !strings.Contains(host, ".") && !strings.Contains(host, ":") {
		return nil, apperr.Invalid("url", "must name a public host: local names are refused")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if why := forbiddenAddr(a); why != "" {
			return nil, apperr.Invalid("url", "must not target a %s address", why)
		}
	}
	return u, nil
}

// RedactURL returns u without user info, query and fragment: what may be
// recorded in audit rows and logs (a receiver's URL may carry a token).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// dialer returns the dial function of delivery requests.
func dialer(allowPrivate bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !allowPrivate {
		d.Control = dialControl
	}
	return d.DialContext
}
