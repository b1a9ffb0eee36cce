package authentikapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/internal/upstream"
)

// DefaultPageSize is the page size requested by list helpers.
const DefaultPageSize = 100

// maxPages bounds how many pages a list helper follows.
const maxPages = 1000

// Client talks to one Authentik instance. It is safe for concurrent use.
type Client struct {
	base  *url.URL // ends with "/api/v3/"
	token string
	http  *http.Client
	log   *slog.Logger
	agent string
	now   func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: a client with a 30 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithLogger sets the logger used for debug request logs (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// WithClock sets the clock used for password-expiry timestamps.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client for the Authentik instance at baseURL. baseURL may be the
// instance root ("https://auth.example.org") or already end in "/api/v3".
func New(baseURL, token string, opts ...Option) (*Client, error) {
	if token == "" {
		return nil, errors.New("authentik: empty API token")
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("authentik: parse base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("authentik: base URL must be absolute http(s), got %q", u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/api/v3") {
		p += "/api/v3"
	}
	u.Path = p + "/"
	u.RawQuery, u.Fragment, u.User = "", "", nil
	c := &Client{
		base:  u,
		token: token,
		http:  &http.Client{Transport: sdk.HTTPTransport(nil), Timeout: 30 * time.Second},
		log:   slog.Default(),
		agent: "dezky-authentik",
		now:   time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the API base URL (ending in "/api/v3/").
func (c *Client) BaseURL() string { return c.base.String() }

// do performs one API call. path is relative to /api/v3/ and must end in "/".
// in (if non-nil) is JSON-encoded; out (if non-nil) receives the decoded 2xx body.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, in, out any) error {
	u, err := url.Parse(c.base.String() + strings.TrimPrefix(path, "/")) // path segments are already escaped
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindInvalid, Err: err}
	}
	u.RawQuery = q.Encode()
	req, err := upstream.NewJSONRequest(ctx, method, u.String(), in)
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindInvalid, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Method: method, Path: path, Kind: KindUnavailable, Err: upstream.TransportError(err)}
	}
	defer resp.Body.Close()
	c.log.DebugContext(ctx, "authentik request", "op", op, "method", method, "path", path, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
		return &Error{Op: op, Method: method, Path: path, Status: resp.StatusCode,
			Kind: classify(resp.StatusCode, b), Body: b, Message: summarize(b)}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &Error{Op: op, Method: method, Path: path, Status: resp.StatusCode, Kind: KindUnavailable,
			Err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
}

// Version is authentik's version report.
type Version struct {
	Current string `json:"version_current"`
	Latest  string `json:"version_latest"`
}

// Ping checks reachability and the token by reading admin/version/.
func (c *Client) Ping(ctx context.Context) (Version, error) {
	var v Version
	err := c.do(ctx, "ping", http.MethodGet, "admin/version/", nil, nil, &v)
	return v, err
}

// Pagination is authentik's page-number pagination block.
type Pagination struct {
	Next       int `json:"next"`
	Previous   int `json:"previous"`
	Count      int `json:"count"`
	Current    int `json:"current"`
	TotalPages int `json:"total_pages"`
	StartIndex int `json:"start_index"`
	EndIndex   int `json:"end_index"`
}

// Page is one page of a list endpoint.
type Page[T any] struct {
	Pagination Pagination `json:"pagination"`
	Results    []T        `json:"results"`
}

// ParsePage decodes a paginated list response. It rejects bodies without a
// "results" array and pagination values that are not non-negative integers.
func ParsePage[T any](body []byte) (Page[T], error) {
	var raw struct {
		Pagination *json.RawMessage `json:"pagination"`
		Results    *json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Page[T]{}, fmt.Errorf("decode page: %w", err)
	}
	if raw.Results == nil {
		return Page[T]{}, errors.New("decode page: missing results")
	}
	var p Page[T]
	if err := json.Unmarshal(*raw.Results, &p.Results); err != nil {
		return Page[T]{}, fmt.Errorf("decode page results: %w", err)
	}
	if raw.Pagination != nil {
		if err := json.Unmarshal(*raw.Pagination, &p.Pagination); err != nil {
			return Page[T]{}, fmt.Errorf("decode pagination: %w", err)
		}
	}
	pg := p.Pagination
	if pg.Next < 0 || pg.Previous < 0 || pg.Count < 0 || pg.Current < 0 || pg.TotalPages < 0 {
		return Page[T]{}, errors.New("decode pagination: negative value")
	}
	if pg.Next != 0 && pg.Current != 0 && pg.Next <= pg.Current {
		return Page[T]{}, fmt.Errorf("decode pagination: next page %d does not follow current %d", pg.Next, pg.Current)
	}
	return p, nil
}

// getPage fetches one page of a list endpoint.
func getPage[T any](ctx context.Context, c *Client, op, path string, q url.Values, page, size int) (Page[T], error) {
	qq := url.Values{}
	for k, v := range q {
		qq[k] = append([]string(nil), v...)
	}
	qq.Set("page", strconv.Itoa(page))
	qq.Set("page_size", strconv.Itoa(size))
	var raw json.RawMessage
	if err := c.do(ctx, op, http.MethodGet, path, qq, nil, &raw); err != nil {
		return Page[T]{}, err
	}
	p, err := ParsePage[T](raw)
	if err != nil {
		return Page[T]{}, &Error{Op: op, Method: http.MethodGet, Path: path, Status: http.StatusOK, Kind: KindUnavailable, Err: err}
	}
	return p, nil
}

// listAll follows next-page numbers until exhausted. stop (optional) is called per page
// and ends paging when it returns true.
func listAll[T any](ctx context.Context, c *Client, op, path string, q url.Values) ([]T, error) {
	var out []T
	page := 1
	for i := 0; i < maxPages; i++ {
		p, err := getPage[T](ctx, c, op, path, q, page, DefaultPageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Results...)
		if p.Pagination.Next == 0 {
			return out, nil
		}
		page = p.Pagination.Next
	}
	return nil, &Error{Op: op, Method: http.MethodGet, Path: path, Kind: KindUnavailable,
		Err: fmt.Errorf("more than %d pages", maxPages)}
}
