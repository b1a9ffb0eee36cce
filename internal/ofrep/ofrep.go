// Package ofrep serves feature-flag evaluation over the OpenFeature Remote
// Evaluation Protocol (OFREP, https://github.com/open-feature/protocol), so
// any OpenFeature SDK with its stock OFREP provider reads Dezky's flags.
//
//	POST /ofrep/v1/evaluate/flags/{key}   one flag
//	POST /ofrep/v1/evaluate/flags         every flag, with ETag / If-None-Match (304)
//
// The request body is {"context": {...}}. The evaluation context's
// targetingKey is the tenant slug; the optional attribute "environment"
// picks the environment (default: the server's). "plan" and "partner" may
// be sent and must then agree with the tenant's record: flags are targeted
// at what the tenant is, never at what a client says it is.
//
// Callers authenticate with the same bearer tokens as GraphQL, and see
// what evaluateFlags shows them: a tenant's token evaluates only its own
// tenant. A tenant the token cannot see answers 403 whether or not it
// exists. Values are booleans, variants "on" and "off", reasons STATIC,
// TARGETING_MATCH, SPLIT, DISABLED and DEFAULT.
package ofrep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/viewer"
)

// MaxBody is the largest request body accepted, in bytes.
const MaxBody = 64 << 10

// OFREP error codes.
const (
	ParseError          = "PARSE_ERROR"
	TargetingKeyMissing = "TARGETING_KEY_MISSING"
	InvalidContext      = "INVALID_CONTEXT"
	FlagNotFound        = "FLAG_NOT_FOUND"
	General             = "GENERAL"
)

// Evaluator is what the handlers need of the flag service.
type Evaluator interface {
	Target(ctx context.Context, tenantSlug, environment string) (flags.Target, error)
	EvaluateOne(ctx context.Context, t flags.Target, key string) (*flags.Evaluation, error)
	EvaluateAll(ctx context.Context, tenantSlug, environment string) ([]*flags.Evaluation, error)
}

// Result is one successful evaluation.
type Result struct {
	Key      string         `json:"key"`
	Value    bool           `json:"value"`
	Reason   string         `json:"reason"`
	Variant  string         `json:"variant"`
	Metadata map[string]any `json:"metadata"`
}

// Failure is one failed evaluation (or, without Key, a failed request).
type Failure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// Classify maps an error of the Evaluator to its application code (ent and
// driver errors are mapped by the server, which knows the data layer).
type Classify func(error) apperr.Code

// Single serves POST /ofrep/v1/evaluate/flags/{key}.
func Single(e Evaluator, classify Classify) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		target, fail := resolve(w, r, e, classify)
		if fail != nil {
			fail.Key = key
			writeFailure(w, r, fail)
			return
		}
		ev, err := e.EvaluateOne(r.Context(), target, key)
		if err != nil {
			if classify(err) == apperr.NotFound {
				writeJSON(w, http.StatusNotFound, Failure{Key: key, ErrorCode: FlagNotFound, ErrorDetails: fmt.Sprintf("no flag %q", key)})
				return
			}
			writeFailure(w, r, serverFailure(r.Context(), classify, err))
			return
		}
		res := result(ev, target)
		writeJSON(w, http.StatusOK, struct {
			Result
			Cacheable bool `json:"cacheable"`
		}{res, false})
	})
}

// Bulk serves POST /ofrep/v1/evaluate/flags. The ETag is a digest of the
// answer, so a client polling with If-None-Match gets 304 until a flag,
// the tenant's targeting attributes or the environment change.
func Bulk(e Evaluator, classify Classify) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, fail := resolve(w, r, e, classify)
		if fail != nil {
			writeFailure(w, r, fail)
			return
		}
		evs, err := e.EvaluateAll(r.Context(), target.TenantSlug, target.Environment)
		if err != nil {
			writeFailure(w, r, serverFailure(r.Context(), classify, err))
			return
		}
		body := struct {
			Flags []Result `json:"flags"`
		}{Flags: make([]Result, 0, len(evs))}
		for _, ev := range evs {
			body.Flags = append(body.Flags, result(ev, target))
		}
		data, err := json.Marshal(body)
		if err != nil {
			writeFailure(w, r, serverFailure(r.Context(), classify, err))
			return
		}
		sum := sha256.Sum256(data)
		etag := `"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "private, no-cache")
		if matchesETag(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(append(data, '\n'))
	})
}

// status carries the HTTP status of a Failure.
type status struct {
	Failure
	code int
}

// resolve authenticates, parses the body and resolves the target tenant.
func resolve(w http.ResponseWriter, r *http.Request, e Evaluator, classify Classify) (flags.Target, *status) {
	if viewer.FromContext(r.Context()) == nil {
		return flags.Target{}, &status{Failure{ErrorDetails: "authentication required: send an OIDC bearer token"}, http.StatusUnauthorized}
	}
	var req struct {
		Context map[string]any `json:"context"`
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return flags.Target{}, &status{Failure{ErrorCode: ParseError, ErrorDetails: fmt.Sprintf("request body exceeds %d bytes", MaxBody)}, http.StatusRequestEntityTooLarge}
		}
		return flags.Target{}, &status{Failure{ErrorCode: ParseError, ErrorDetails: "could not read the request body"}, http.StatusBadRequest}
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &req); err != nil {
			return flags.Target{}, &status{Failure{ErrorCode: ParseError, ErrorDetails: "request body is not a JSON object {\"context\": {...}}"}, http.StatusBadRequest}
		}
	}
	ec, err := parseContext(req.Context)
	if err != nil {
		code := InvalidContext
		if errors.Is(err, errNoTargetingKey) {
			code = TargetingKeyMissing
		}
		return flags.Target{}, &status{Failure{ErrorCode: code, ErrorDetails: err.Error()}, http.StatusBadRequest}
	}
	target, err := e.Target(r.Context(), ec.targetingKey, ec.environment)
	if err != nil {
		switch classify(err) {
		case apperr.NotFound, apperr.Forbidden:
			return flags.Target{}, &status{Failure{ErrorDetails: fmt.Sprintf("no tenant %q is visible to this token", ec.targetingKey)}, http.StatusForbidden}
		}
		return flags.Target{}, serverFailure(r.Context(), classify, err)
	}
	if ec.plan != nil && !strings.EqualFold(*ec.plan, target.Plan) {
		return flags.Target{}, &status{Failure{ErrorCode: InvalidContext, ErrorDetails: fmt.Sprintf("context attribute plan %q disagrees with the tenant's plan", *ec.plan)}, http.StatusBadRequest}
	}
	if ec.partner != nil && !strings.EqualFold(*ec.partner, target.PartnerSlug) {
		return flags.Target{}, &status{Failure{ErrorCode: InvalidContext, ErrorDetails: fmt.Sprintf("context attribute partner %q disagrees with the tenant's partner", *ec.partner)}, http.StatusBadRequest}
	}
	return target, nil
}

var errNoTargetingKey = errors.New("the evaluation context needs targetingKey: the tenant slug")

// evalContext is the part of an evaluation context Dezky reads.
type evalContext struct {
	targetingKey  string
	environment   string
	plan, partner *string
}

// parseContext reads targetingKey and the known attributes; other
// attributes are ignored, as OpenFeature contexts often carry more than a
// provider uses.
func parseContext(c map[string]any) (evalContext, error) {
	var ec evalContext
	tk, ok := c["targetingKey"]
	if !ok || tk == nil || tk == "" {
		return ec, errNoTargetingKey
	}
	s, ok := tk.(string)
	if !ok || len(s) > 255 || inputcheck.Line(s) != nil {
		return ec, errors.New("targetingKey must be a tenant slug")
	}
	ec.targetingKey = s
	str := func(name string) (*string, error) {
		v, ok := c[name]
		if !ok || v == nil {
			return nil, nil
		}
		s, ok := v.(string)
		if !ok || len(s) > 255 || inputcheck.Line(s) != nil {
			return nil, fmt.Errorf("context attribute %s must be a short string", name)
		}
		return &s, nil
	}
	env, err := str("environment")
	if err != nil {
		return ec, err
	}
	if env != nil {
		ec.environment = *env
	}
	if ec.plan, err = str("plan"); err != nil {
		return ec, err
	}
	if ec.partner, err = str("partner"); err != nil {
		return ec, err
	}
	return ec, nil
}

func result(ev *flags.Evaluation, t flags.Target) Result {
	variant := "off"
	if ev.Enabled {
		variant = "on"
	}
	return Result{
		Key: ev.Key, Value: ev.Enabled, Reason: string(ev.Reason), Variant: variant,
		Metadata: map[string]any{"state": string(ev.State), "environment": t.Environment},
	}
}

// serverFailure maps an unexpected error: retryable outages 503, the rest
// 500 with no detail (the detail is logged).
func serverFailure(ctx context.Context, classify Classify, err error) *status {
	if classify(err) == apperr.Unavailable {
		return &status{Failure{ErrorDetails: "temporarily unavailable: retry"}, http.StatusServiceUnavailable}
	}
	slog.ErrorContext(ctx, "ofrep evaluation", "err", err)
	return &status{Failure{ErrorDetails: "internal error"}, http.StatusInternalServerError}
}

func writeFailure(w http.ResponseWriter, _ *http.Request, s *status) {
	if s.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeJSON(w, s.code, s.Failure)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// matchesETag reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 prescribes for If-None-Match).
func matchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
