package apperr

import (
	"encoding/json"
	"net/http"
)

// HTTPStatus is the status of a plain HTTP answer (not GraphQL) failing
// with code: 400, 401, 403, 404, 409, 503, else 500.
func HTTPStatus(code Code) int {
	switch code {
	case BadUserInput:
		return http.StatusBadRequest
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteJSON answers a plain HTTP request that failed with err as
// {"error":{"code","message"}} and the status of its code (HTTPStatus).
// A message names its field ("field: message"); an error that is not an
// application error answers INTERNAL without its cause.
func WriteJSON(w http.ResponseWriter, err error) {
	code, msg := Internal, "internal error"
	if e, ok := As(err); ok {
		code, msg = e.Code, e.Message
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(HTTPStatus(code))
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": string(code), "message": msg}})
}
