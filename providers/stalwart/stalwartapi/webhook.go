package stalwartapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying the webhook signature.
const SignatureHeader = "X-Signature"

// Webhook verification errors.
var (
	ErrMissingSignature = errors.New("stalwart webhook: missing signature")
	ErrBadSignature     = errors.New("stalwart webhook: signature mismatch")
)

// maxWebhookBody bounds the payload ParseWebhook accepts.
const maxWebhookBody = 8 << 20

// Sign returns the X-Signature value for body: base64(HMAC-SHA256(key, body)).
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifySignature checks an X-Signature header against the raw body in constant
// time. An empty key is rejected: unsigned webhooks are not accepted.
func VerifySignature(key, body []byte, header string) error {
	if len(key) == 0 {
		return errors.New("stalwart webhook: no signing key configured")
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// WebhookEvent is one normalized Stalwart telemetry event.
type WebhookEvent struct {
	ID        string    // opaque upstream id; dedupe key
	Type      string    // dotted event name, e.g. "auth.success"
	CreatedAt time.Time // zero if the payload had none or an unparsable one
	// Account is the account the event is about (accountName, else accountId, else name).
	Account  string
	RemoteIP string // remoteIp, if present
	// Data is the raw event data.
	Data map[string]any
}

// ParseWebhook parses a webhook body {"events":[…]}. It fails on a malformed
// envelope or on events without id or type; other fields are optional.
func ParseWebhook(body []byte) ([]WebhookEvent, error) {
	if len(body) > maxWebhookBody {
		return nil, errors.New("stalwart webhook: body too large")
	}
	var env struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("stalwart webhook: decode envelope: %w", err)
	}
	if env.Events == nil {
		return nil, errors.New("stalwart webhook: no events array")
	}
	out := make([]WebhookEvent, 0, len(*env.Events))
	for i, raw := range *env.Events {
		var ev struct {
			ID        any             `json:"id"`
			Type      string          `json:"type"`
			CreatedAt string          `json:"createdAt"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("stalwart webhook: event %d: %w", i, err)
		}
		id := idString(ev.ID)
		if id == "" || strings.TrimSpace(ev.Type) == "" {
			return nil, fmt.Errorf("stalwart webhook: event %d: missing id or type", i)
		}
		we := WebhookEvent{ID: id, Type: strings.TrimSpace(ev.Type)}
		if t, err := time.Parse(time.RFC3339Nano, ev.CreatedAt); err == nil {
			we.CreatedAt = t.UTC()
		}
		var data map[string]any
		if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &data) == nil && data != nil {
			we.Data = data
			we.Account = firstString(data, "accountName", "accountId", "name")
			we.RemoteIP = firstString(data, "remoteIp")
		}
		out = append(out, we)
	}
	return out, nil
}

// ParseSignedWebhook verifies the signature and parses the body.
func ParseSignedWebhook(key, body []byte, signature string) ([]WebhookEvent, error) {
	if err := VerifySignature(key, body, signature); err != nil {
		return nil, err
	}
	return ParseWebhook(body)
}

func idString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case []any:
			if len(v) > 0 {
				if s, ok := v[0].(string); ok {
					return s
				}
			}
		}
	}
	return ""
}
