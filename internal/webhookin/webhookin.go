// Package webhookin receives a provider's signed webhook deliveries over
// HTTP: it bounds and reads the body, hands it with the headers to a
// receiver (which has the provider plugin verify the signature and then
// applies the events), and answers with the status the provider's retry
// logic expects.
package webhookin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/dezky/platform/plugins/sdk"
)

// Receive handles one delivery and returns the JSON answer of a success.
// Its errors carry the plugin's codes: UNAUTHENTICATED for a signature
// that does not verify, INVALID for a signed body that does not parse,
// UNAVAILABLE or UNSUPPORTED without a working plugin.
type Receive func(ctx context.Context, hook sdk.Webhook) (any, error)

// Handler serves deliveries of the named provider (for logs and
// messages). It answers
//
//   - 200 with Receive's answer;
//   - 413 for a body over maxBody bytes, 400 for an unreadable body or a
//     signed body that does not parse, 401 for a missing, bad or stale
//     signature: nothing was written then;
//   - 503 without a working plugin and 500 when the events could not be
//     written, so that the provider delivers again.
func Handler(name string, maxBody int64, log *slog.Logger, receive Receive) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "body too large"})
			return
		case err != nil:
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unreadable body"})
			return
		}
		answer, err := receive(ctx, sdk.Webhook{Header: r.Header.Clone(), Body: body})
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, answer)
		case sdk.IsUnauthenticated(err):
			log.WarnContext(ctx, name+" webhook rejected", "err", err, "remote", r.RemoteAddr)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "signature verification failed"})
		case sdk.IsInvalid(err):
			log.WarnContext(ctx, name+" webhook malformed", "err", err, "remote", r.RemoteAddr)
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed webhook"})
		case sdk.IsUnavailable(err) || sdk.IsUnsupported(err):
			log.WarnContext(ctx, name+" webhook: "+name+" plugin unavailable", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": name + " provider unavailable"})
		default:
			log.ErrorContext(ctx, name+" webhook not applied", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
