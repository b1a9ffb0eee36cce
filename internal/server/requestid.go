package server

import (
	"net/http"

	"github.com/dezky/platform/internal/logging"
)

// RequestIDHeader carries the request id both ways.
const RequestIDHeader = "X-Request-Id"

// requestID gives every request an id: the incoming X-Request-Id when it is
// a sane one (logging.ValidRequestID), else a fresh one. The id is put in
// the request context (so every log line of the request carries it),
// returned in the X-Request-Id response header, and added to GraphQL
// errors as extensions.requestId.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !logging.ValidRequestID(id) {
			id = logging.NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}
