package authentikapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/dezky/platform/providers/internal/upstream"
)

// Kind classifies an upstream failure independently of the HTTP status.
type Kind = upstream.Kind

// Error kinds.
const (
	KindUnknown      = upstream.KindUnknown
	KindNotFound     = upstream.KindNotFound
	KindConflict     = upstream.KindConflict
	KindInUse        = upstream.KindInUse
	KindUnavailable  = upstream.KindUnavailable
	KindInvalid      = upstream.KindInvalid
	KindUnauthorized = upstream.KindUnauthorized
)

var sentinels = upstream.NewSentinels("authentik")

// Sentinel errors matched by errors.Is against an *Error of the same kind.
var (
	ErrNotFound     = sentinels.NotFound
	ErrConflict     = sentinels.Conflict
	ErrInUse        = sentinels.InUse
	ErrUnavailable  = sentinels.Unavailable
	ErrInvalid      = sentinels.Invalid
	ErrUnauthorized = sentinels.Unauthorized
)

// maxErrBody bounds how much of an upstream error body is kept.
const maxErrBody = 4096

// Error is a failed call to the Authentik API.
type Error struct {
	Op     string // client operation, e.g. "create user"
	Method string
	Path   string // API path relative to /api/v3, without query
	Status int    // HTTP status; 0 when the request never got an answer
	Kind   Kind
	// Body is the (truncated) upstream error body. It is not part of Error().
	Body []byte
	// Message is a short human summary extracted from Body.
	Message string
	Err     error // transport or decoding cause, if any
}

func (e *Error) Error() string {
	return upstream.Message{System: "authentik", Op: e.Op, Method: e.Method, Path: e.Path, Status: e.Status,
		Kind: e.Kind, Detail: e.Message, Err: e.Err}.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's kind.
func (e *Error) Is(target error) bool { return sentinels.Match(e.Kind, target) }

// UpstreamKind returns e.Kind.
func (e *Error) UpstreamKind() Kind { return e.Kind }

// KindOf returns the Kind of err, or KindUnknown when no error in its chain
// is a client error.
func KindOf(err error) Kind { return upstream.KindOf(err) }

// ValidationErrors decodes a DRF 400 body into field → messages. Values that are a
// plain string (as authentik's recovery endpoints use) become a one-element list.
func ValidationErrors(body []byte) (map[string][]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decode validation error: %w", err)
	}
	out := make(map[string][]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = []string{s}
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err == nil {
			out[k] = list
			continue
		}
		var nested map[string]any
		if err := json.Unmarshal(v, &nested); err == nil {
			out[k] = []string{string(v)}
			continue
		}
		return nil, fmt.Errorf("decode validation error: field %q has unexpected shape", k)
	}
	return out, nil
}

// summarize extracts a short message from an authentik error body.
func summarize(body []byte) string {
	var generic struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &generic) == nil && generic.Detail != "" {
		return truncate(generic.Detail, 200)
	}
	fields, err := ValidationErrors(body)
	if err != nil || len(fields) == 0 {
		return ""
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(fields[k], " "))
	}
	return truncate(strings.Join(parts, "; "), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// classify maps an HTTP status and body to a Kind.
func classify(status int, body []byte) Kind {
	switch {
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusConflict:
		return KindConflict
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusTooManyRequests || status >= 500:
		return KindUnavailable
	case status == http.StatusBadRequest:
		lower := strings.ToLower(string(body))
		if strings.Contains(lower, "must be unique") || strings.Contains(lower, "already exists") {
			return KindConflict
		}
		return KindInvalid
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}
