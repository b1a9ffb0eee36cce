package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultTimeout bounds each query attempt when Config.Timeout is zero.
const DefaultTimeout = 3 * time.Second

// ednsBufferSize is the EDNS0 UDP payload size advertised in queries (the
// DNS flag day 2020 recommendation).
const ednsBufferSize = 1232

// RecordType is a supported DNS record type.
type RecordType string

// Supported record types.
const (
	TypeA     RecordType = "A"
	TypeAAAA  RecordType = "AAAA"
	TypeCNAME RecordType = "CNAME"
	TypeMX    RecordType = "MX"
	TypeTXT   RecordType = "TXT"
)

func (t RecordType) qtype() (uint16, bool) {
	switch t {
	case TypeA:
		return dns.TypeA, true
	case TypeAAAA:
		return dns.TypeAAAA, true
	case TypeCNAME:
		return dns.TypeCNAME, true
	case TypeMX:
		return dns.TypeMX, true
	case TypeTXT:
		return dns.TypeTXT, true
	default:
		return 0, false
	}
}

// Record is one resource record.
type Record struct {
	// Name is the owner name, lower case, without the trailing dot.
	Name string
	Type RecordType
	TTL  uint32
	// Value is the address (A, AAAA), the target host without trailing dot
	// (CNAME, MX) or the concatenated text (TXT).
	Value string
	// Priority is the MX preference; zero for other types.
	Priority uint16
}

// TSIGKey authenticates dynamic updates.
type TSIGKey struct {
	// Name is the key name as configured on the server, e.g. "dezky-update".
	Name string
	// Secret is the base64-encoded shared secret.
	Secret string
	// Algorithm must be empty or "hmac-sha256".
	Algorithm string
}

// Config configures a Client.
type Config struct {
	// Resolvers are "host" or "host:port" addresses (port 53 by default),
	// asked in order. At least one is required.
	Resolvers []string
	// Timeout bounds each attempt against one resolver; zero means
	// DefaultTimeout. The context passed to each call bounds the whole call.
	Timeout time.Duration
	// UpdateServer is the primary server accepting RFC 2136 updates; empty
	// disables updates.
	UpdateServer string
	// TSIG signs updates; required when UpdateServer is set.
	TSIG *TSIGKey
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Client performs lookups and updates. It is safe for concurrent use.
type Client struct {
	resolvers    []string
	timeout      time.Duration
	updateServer string
	tsigName     string
	tsigSecret   string
	log          *slog.Logger
}

// New validates cfg and returns a Client. It performs no network I/O.
func New(cfg Config) (*Client, error) {
	const op = "New"
	if len(cfg.Resolvers) == 0 {
		return nil, invalidf(op, "at least one resolver is required")
	}
	c := &Client{timeout: cfg.Timeout, log: cfg.Logger}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "dnsclient")
	for _, r := range cfg.Resolvers {
		addr, err := hostPort(r)
		if err != nil {
			return nil, invalidf(op, "resolver %q: %v", r, err)
		}
		c.resolvers = append(c.resolvers, addr)
	}
	if cfg.UpdateServer != "" {
		addr, err := hostPort(cfg.UpdateServer)
		if err != nil {
			return nil, invalidf(op, "update server %q: %v", cfg.UpdateServer, err)
		}
		c.updateServer = addr
		if cfg.TSIG == nil || cfg.TSIG.Name == "" || cfg.TSIG.Secret == "" {
			return nil, invalidf(op, "a TSIG key (name and secret) is required for updates")
		}
		switch strings.ToLower(strings.TrimSuffix(cfg.TSIG.Algorithm, ".")) {
		case "", "hmac-sha256":
		default:
			return nil, invalidf(op, "TSIG algorithm %q is not supported; use hmac-sha256", cfg.TSIG.Algorithm)
		}
		if _, ok := dns.IsDomainName(cfg.TSIG.Name); !ok {
			return nil, invalidf(op, "TSIG key name %q is not a domain name", cfg.TSIG.Name)
		}
		if !validBase64(cfg.TSIG.Secret) {
			return nil, invalidf(op, "TSIG secret is not valid base64")
		}
		c.tsigName = dns.CanonicalName(cfg.TSIG.Name)
		c.tsigSecret = cfg.TSIG.Secret
	}
	return c, nil
}

// hostPort normalizes "host", "host:port", "[v6]:port" or a bare IPv6
// address to host:port with port 53 by default.
func hostPort(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "53"
	}
	if _, ok := dns.IsDomainName(host); !ok || host == "" || !validHostChars(host) {
		return "", fmt.Errorf("%q is not a host name or address", host)
	}
	return net.JoinHostPort(host, port), nil
}

func validHostChars(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// normalizeName validates a domain name and returns its canonical FQDN.
func normalizeName(op, name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" || n == "." {
		return "", invalidf(op, "name is required")
	}
	if _, ok := dns.IsDomainName(n); !ok || strings.ContainsAny(n, " \t\r\n\\\"();") {
		return "", invalidf(op, "%q is not a valid domain name", name)
	}
	return dns.CanonicalName(n), nil
}

func displayName(fqdn string) string {
	return strings.TrimSuffix(strings.ToLower(fqdn), ".")
}

// Lookup returns the records of type t at name, asking the configured
// resolvers in order.
func (c *Client) Lookup(ctx context.Context, name string, t RecordType) ([]Record, error) {
	ans, err := c.Resolve(ctx, name, t)
	return ans.Records, err
}

// Answer is the result of Resolve.
type Answer struct {
	Records []Record
	// Resolver is the resolver that gave the answer (also set with an
	// ErrNotFound error).
	Resolver string
}

// Resolve is Lookup that also reports which resolver answered.
func (c *Client) Resolve(ctx context.Context, name string, t RecordType) (Answer, error) {
	const op = "Lookup"
	recs, server, err := c.resolve(ctx, op, c.resolvers, name, t)
	return Answer{Records: recs, Resolver: server}, err
}

func (c *Client) resolve(ctx context.Context, op string, servers []string, name string, t RecordType) ([]Record, string, error) {
	qtype, ok := t.qtype()
	if !ok {
		return nil, "", invalidf(op, "record type %q is not supported", t)
	}
	fqdn, err := normalizeName(op, name)
	if err != nil {
		return nil, "", err
	}
	q := new(dns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.RecursionDesired = true
	q.SetEdns0(ednsBufferSize, false)

	last := &Error{Op: op, Kind: ErrUnavailable, Name: displayName(fqdn), Type: t, Rcode: -1}
	for _, server := range servers {
		resp, err := c.exchange(ctx, q, server)
		last.Server = server
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				last.Message = ctxText(ctxErr)
				last.cause = ctxErr
				return nil, server, last
			}
			c.log.DebugContext(ctx, "resolver failed", "resolver", server, "name", fqdn, "type", t, "err", err)
			last.Message = fmt.Sprintf("resolver %s: %v", server, err)
			last.cause = err
			continue
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
			return answerRecords(resp, qtype), server, nil
		case dns.RcodeNameError:
			return nil, server, &Error{Op: op, Kind: ErrNotFound, Name: displayName(fqdn), Type: t, Server: server,
				Rcode: resp.Rcode, Message: "NXDOMAIN"}
		default:
			c.log.DebugContext(ctx, "resolver answered with an error", "resolver", server, "name", fqdn, "rcode", rcodeText(resp.Rcode))
			last.Rcode = resp.Rcode
			last.Message = fmt.Sprintf("resolver %s answered %s", server, rcodeText(resp.Rcode))
			last.cause = nil
		}
	}
	return nil, last.Server, last
}

// exchange sends q over UDP and retries over TCP when the answer is
// truncated. Each attempt is bounded by c.timeout and by ctx.
func (c *Client) exchange(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	resp, err := c.attempt(ctx, "udp", q, server)
	if err != nil {
		return nil, err
	}
	if resp.Truncated {
		c.log.DebugContext(ctx, "truncated answer, retrying over TCP", "resolver", server, "name", q.Question[0].Name)
		return c.attempt(ctx, "tcp", q, server)
	}
	return resp, nil
}

func (c *Client) attempt(ctx context.Context, network string, q *dns.Msg, server string) (*dns.Msg, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	dc := &dns.Client{Net: network, UDPSize: ednsBufferSize}
	resp, _, err := dc.ExchangeContext(actx, q.Copy(), server)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", network, err)
	}
	return resp, nil
}

// answerRecords converts the answer RRs of type qtype (CNAMEs followed by a
// recursive resolver are skipped unless CNAME was asked for).
func answerRecords(resp *dns.Msg, qtype uint16) []Record {
	out := []Record{}
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		if rec, ok := fromRR(rr); ok {
			out = append(out, rec)
		}
	}
	return out
}

func fromRR(rr dns.RR) (Record, bool) {
	h := rr.Header()
	rec := Record{Name: displayName(h.Name), TTL: h.Ttl}
	switch v := rr.(type) {
	case *dns.A:
		rec.Type, rec.Value = TypeA, v.A.String()
	case *dns.AAAA:
		rec.Type, rec.Value = TypeAAAA, v.AAAA.String()
	case *dns.CNAME:
		rec.Type, rec.Value = TypeCNAME, displayName(v.Target)
	case *dns.MX:
		rec.Type, rec.Value, rec.Priority = TypeMX, displayName(v.Mx), v.Preference
	case *dns.TXT:
		rec.Type = TypeTXT
		var b strings.Builder
		for _, part := range v.Txt {
			b.WriteString(unescapeTXT(part))
		}
		rec.Value = b.String()
	default:
		return Record{}, false
	}
	return rec, true
}

// unescapeTXT reverses the presentation escaping miekg/dns applies to TXT
// character-strings (\" \\ and \DDD).
func unescapeTXT(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

// escapeTXT applies the escaping miekg/dns expects in TXT character-strings.
func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
