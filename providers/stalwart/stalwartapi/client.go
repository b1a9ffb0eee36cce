package stalwartapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/providers/internal/upstream"
)

// Capabilities used in every management request.
const (
	CapCore     = "urn:ietf:params:jmap:core"
	CapStalwart = "urn:stalwart:jmap"
)

const maxErrBody = 4096

// Credentials authenticate management calls: an API key (Bearer) or a
// username/password pair (Basic). Token wins when both are set.
type Credentials struct {
	Token    string
	Username string
	Password string
}

func (c Credentials) header() (string, error) {
	switch {
	case c.Token != "":
		return "Bearer " + c.Token, nil
	case c.Username != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)), nil
	}
	return "", errors.New("stalwart: no credentials")
}

// Client is a Stalwart 0.16 management client. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	auth  string
	http  *http.Client
	log   *slog.Logger
	agent string

	mu      sync.Mutex
	apiURL  string
	account string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: 30 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New returns a client for the Stalwart server at baseURL (e.g. "http://stalwart:8080").
func New(baseURL string, cred Credentials, opts ...Option) (*Client, error) {
	h, err := cred.header()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("stalwart: parse base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("stalwart: base URL must be absolute http(s), got %q", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	c := &Client{base: u, auth: h, http: &http.Client{Transport: sdk.HTTPTransport(nil), Timeout: 30 * time.Second}, log: slog.Default(), agent: "dezky-stalwart"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Session is the subset of the JMAP session resource the client uses.
type Session struct {
	APIURL          string                     `json:"apiUrl"`
	Username        string                     `json:"username"`
	Capabilities    map[string]json.RawMessage `json:"capabilities"`
	PrimaryAccounts map[string]string          `json:"primaryAccounts"`
	Accounts        map[string]json.RawMessage `json:"accounts"`
}

// Session fetches the JMAP session and reports an error when the server does not
// offer Stalwart management over JMAP (i.e. it is older than 0.16).
func (c *Client) Session(ctx context.Context) (Session, error) {
	var s Session
	if err := c.httpJSON(ctx, "get session", http.MethodGet, c.base.Path+"/.well-known/jmap", nil, &s); err != nil {
		return Session{}, err
	}
	if _, ok := s.Capabilities[CapStalwart]; !ok {
		return Session{}, &Error{Op: "get session", Kind: KindInvalid,
			Description: "server does not offer " + CapStalwart + " (Stalwart < 0.16?)"}
	}
	return s, nil
}

func (c *Client) endpoint(ctx context.Context) (string, string, error) {
	c.mu.Lock()
	api, acct := c.apiURL, c.account
	c.mu.Unlock()
	if api != "" {
		return api, acct, nil
	}
	s, err := c.Session(ctx)
	if err != nil {
		return "", "", err
	}
	acct = s.PrimaryAccounts[CapStalwart]
	if acct == "" {
		for id := range s.Accounts {
			if acct == "" || id < acct {
				acct = id
			}
		}
	}
	if acct == "" {
		return "", "", &Error{Op: "get session", Kind: KindUnauthorized, Description: "session has no management account"}
	}
	p := "/jmap/"
	if s.APIURL != "" {
		au, err := url.Parse(s.APIURL)
		if err != nil {
			return "", "", &Error{Op: "get session", Kind: KindUnavailable, Err: fmt.Errorf("parse apiUrl: %w", err)}
		}
		p = au.EscapedPath()
		if !au.IsAbs() && !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
	}
	if !strings.HasPrefix(p, c.base.Path+"/") {
		p = c.base.Path + p // the server lives under the base URL's path
	}
	c.mu.Lock()
	c.apiURL, c.account = p, acct
	c.mu.Unlock()
	return p, acct, nil
}

func (c *Client) httpJSON(ctx context.Context, op, method, path string, in, out any) error {
	u := *c.base
	u.Path = path
	req, err := upstream.NewJSONRequest(ctx, method, u.String(), in)
	if err != nil {
		return &Error{Op: op, Kind: KindInvalid, Err: err}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Kind: KindUnavailable, Err: upstream.TransportError(err)}
	}
	defer resp.Body.Close()
	c.log.DebugContext(ctx, "stalwart request", "op", op, "path", path, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
		var prob struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(b, &prob)
		desc := prob.Detail
		if desc == "" {
			desc = prob.Title
		}
		return &Error{Op: op, Status: resp.StatusCode, Type: strings.TrimPrefix(prob.Type, "urn:ietf:params:jmap:error:"),
			Description: scrub(desc), Kind: kindForStatus(resp.StatusCode), Body: b}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Kind: KindUnavailable, Err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
}

// Invocation is one JMAP method call or response: [name, arguments, callId].
type Invocation struct {
	Name   string
	Args   json.RawMessage
	CallID string
}

// MarshalJSON encodes the invocation as a 3-element array.
func (i Invocation) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{i.Name, i.Args, i.CallID})
}

// UnmarshalJSON decodes a 3-element array.
func (i *Invocation) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) != 3 {
		return fmt.Errorf("invocation has %d elements, want 3", len(parts))
	}
	if err := json.Unmarshal(parts[0], &i.Name); err != nil {
		return fmt.Errorf("invocation name: %w", err)
	}
	if err := json.Unmarshal(parts[2], &i.CallID); err != nil {
		return fmt.Errorf("invocation call id: %w", err)
	}
	i.Args = parts[1]
	return nil
}

// call runs method calls in one JMAP request. args are marshalled with accountId
// added. Method-level errors become *Error.
func (c *Client) call(ctx context.Context, op string, calls ...call) ([]json.RawMessage, error) {
	api, acct, err := c.endpoint(ctx)
	if err != nil {
		return nil, err
	}
	req := struct {
		Using       []string     `json:"using"`
		MethodCalls []Invocation `json:"methodCalls"`
	}{Using: []string{CapCore, CapStalwart}}
	for i, cl := range calls {
		args := map[string]any{"accountId": acct}
		for k, v := range cl.args {
			args[k] = v
		}
		b, err := json.Marshal(args)
		if err != nil {
			return nil, &Error{Op: op, Kind: KindInvalid, Err: fmt.Errorf("encode %s: %w", cl.method, err)}
		}
		req.MethodCalls = append(req.MethodCalls, Invocation{Name: cl.method, Args: b, CallID: fmt.Sprintf("c%d", i)})
	}
	var resp struct {
		MethodResponses []Invocation `json:"methodResponses"`
	}
	if err := c.httpJSON(ctx, op, http.MethodPost, api, req, &resp); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(calls))
	for _, inv := range resp.MethodResponses {
		var idx int
		if _, err := fmt.Sscanf(inv.CallID, "c%d", &idx); err != nil || idx < 0 || idx >= len(calls) {
			continue
		}
		if inv.Name == "error" {
			var me struct {
				Type        string `json:"type"`
				Description string `json:"description"`
			}
			_ = json.Unmarshal(inv.Args, &me)
			return nil, &Error{Op: op + ": " + calls[idx].method, Type: me.Type, Description: scrub(me.Description),
				Kind: kindForType(me.Type), Body: truncateBytes(inv.Args)}
		}
		if out[idx] == nil {
			out[idx] = inv.Args
		}
	}
	for i, r := range out {
		if r == nil {
			return nil, &Error{Op: op, Kind: KindUnavailable, Description: "no response for " + calls[i].method}
		}
	}
	return out, nil
}

type call struct {
	method string
	args   map[string]any
}

// SetError is a JMAP per-object failure.
type SetError struct {
	Type             string   `json:"type"`
	Description      string   `json:"description"`
	Properties       []string `json:"properties"`
	ValidationErrors []any    `json:"validationErrors"`
}

type setResponse struct {
	Created      map[string]json.RawMessage `json:"created"`
	NotCreated   map[string]SetError        `json:"notCreated"`
	Updated      map[string]json.RawMessage `json:"updated"`
	NotUpdated   map[string]SetError        `json:"notUpdated"`
	Destroyed    []string                   `json:"destroyed"`
	NotDestroyed map[string]SetError        `json:"notDestroyed"`
}

func setErr(op string, se SetError) error {
	desc := se.Description
	if desc == "" && len(se.Properties) > 0 {
		desc = "properties: " + strings.Join(se.Properties, ", ")
	}
	return &Error{Op: op, Type: se.Type, Description: scrub(desc), Kind: kindForType(se.Type)}
}

func truncateBytes(b []byte) []byte {
	if len(b) > maxErrBody {
		return b[:maxErrBody]
	}
	return b
}

type queryResponse struct {
	IDs []string `json:"ids"`
}

type getResponse[T any] struct {
	List     []T      `json:"list"`
	NotFound []string `json:"notFound"`
}

func decode[T any](op string, raw json.RawMessage) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, &Error{Op: op, Kind: KindUnavailable, Err: fmt.Errorf("decode response: %w", err)}
	}
	return v, nil
}
