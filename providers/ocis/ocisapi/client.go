package ocisapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/internal/upstream"
)

const maxErrBody = 4096

// TokenSource supplies bearer access tokens.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource that always returns the same token.
type StaticToken string

// Token returns the token.
func (t StaticToken) Token(context.Context) (string, error) {
	if t == "" {
		return "", errors.New("ocis: empty token")
	}
	return string(t), nil
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Client is a libregraph client. It is safe for concurrent use.
type Client struct {
	base   *url.URL // ends in /graph/v1.0
	tokens TokenSource
	http   *http.Client
	log    *slog.Logger
	agent  string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: 30 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New returns a client for the oCIS instance at baseURL ("https://cloud.example.org";
// a URL already ending in /graph/v1.0 is accepted too).
func New(baseURL string, tokens TokenSource, opts ...Option) (*Client, error) {
	if tokens == nil {
		return nil, errors.New("ocis: nil token source")
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("ocis: parse base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("ocis: base URL must be absolute http(s), got %q", u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/graph/v1.0") {
		p += "/graph/v1.0"
	}
	u.Path = p
	u.RawQuery, u.Fragment, u.User = "", "", nil
	c := &Client{base: u, tokens: tokens, http: &http.Client{Transport: sdk.HTTPTransport(nil), Timeout: 30 * time.Second}, log: slog.Default(), agent: "dezky-ocis"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// do performs a call. path is relative to /graph/v1.0 and starts with "/".
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, hdr http.Header, in, out any) error {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindUnauthorized, Err: fmt.Errorf("get token: %w", err)}
	}
	u, err := url.Parse(c.base.String() + path) // path segments are already escaped
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindInvalid, Err: err}
	}
	u.RawQuery = q.Encode()
	req, err := upstream.NewJSONRequest(ctx, method, u.String(), in)
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindInvalid, Err: err}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindUnavailable, Err: upstream.TransportError(err)}
	}
	defer resp.Body.Close()
	c.log.DebugContext(ctx, "ocis request", "op", op, "method", method, "path", path, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
		oe, _ := ParseODataError(b)
		msg := oe.Message
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return &Error{Op: op, Method: method, Path: path, Status: resp.StatusCode, Code: oe.Code, Message: msg,
			Kind: classify(resp.StatusCode, oe.Code), Body: b}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &Error{Op: op, Method: method, Path: path, Status: resp.StatusCode, Kind: KindUnavailable, Err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
}
