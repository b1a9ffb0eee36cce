package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/viewer"
)

// Codes of requests refused before GraphQL sees them.
const (
	CodeRequestTooLarge         apperr.Code = "REQUEST_TOO_LARGE"
	CodeBadRequest              apperr.Code = "BAD_REQUEST"
	CodeBatchingNotSupported    apperr.Code = "BATCHING_NOT_SUPPORTED"
	CodeMethodNotAllowed        apperr.Code = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMediaType    apperr.Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeComplexityLimitExceeded apperr.Code = "COMPLEXITY_LIMIT_EXCEEDED"
	CodeDepthLimitExceeded      apperr.Code = "DEPTH_LIMIT_EXCEEDED"
)

// gqlRequest is the JSON body of a GraphQL POST.
type gqlRequest struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// bounded refuses, before any GraphQL parsing or validation, what the
// endpoint does not serve: bodies over the size limit (413), methods other
// than GET/POST/OPTIONS (405), POST bodies that are not application/json
// (415), malformed JSON (400), batches (JSON arrays, 400) and documents
// over the caller's Budget (COMPLEXITY_LIMIT_EXCEEDED). It then runs next
// under the request deadline. WebSocket upgrades pass through: the
// transport limits their messages.
func bounded(g Guards, next http.Handler) http.Handler {
	maxBody := g.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	timeout := g.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		budget := SignedInBudget
		if viewer.FromContext(r.Context()) == nil {
			budget = AnonymousBudget
		}
		var doc string
		switch r.Method {
		case http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		case http.MethodGet:
			doc = r.URL.Query().Get("query")
			if len(r.URL.RawQuery) > int(maxBody) {
				writeError(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("request exceeds %d bytes", maxBody))
				return
			}
		case http.MethodPost:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || (mt != "application/json" && mt != "application/graphql-response+json") {
				writeError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "POST /query accepts Content-Type: application/json only")
				return
			}
			if r.ContentLength > maxBody {
				writeError(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBody))
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					writeError(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBody))
					return
				}
				writeError(w, http.StatusBadRequest, CodeBadRequest, "could not read the request body")
				return
			}
			trimmed := bytes.TrimLeft(body, " \t\r\n")
			if len(trimmed) > 0 && trimmed[0] == '[' {
				writeError(w, http.StatusBadRequest, CodeBatchingNotSupported, "batched requests (JSON arrays) are not supported: send one operation per request")
				return
			}
			var req gqlRequest
			dec := json.NewDecoder(bytes.NewReader(body))
			if err := dec.Decode(&req); err != nil || dec.More() {
				writeError(w, http.StatusBadRequest, CodeBadRequest, "request body is not a JSON object {query, operationName, variables, extensions}")
				return
			}
			doc = req.Query
			r.Body = io.NopCloser(bytes.NewReader(body))
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "/query accepts GET, POST and OPTIONS")
			return
		}
		if err := budget.Check(doc); err != nil {
			code := CodeComplexityLimitExceeded
			var be *BudgetError
			if errors.As(err, &be) && be.What == "levels of nesting" {
				code = CodeDepthLimitExceeded
			}
			writeError(w, http.StatusBadRequest, code, err.Error())
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
