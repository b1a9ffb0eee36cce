package authn

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// maxTokenBytes bounds the size of a token accepted for parsing. Real tokens
// are a few kilobytes; the bound keeps hostile input cheap to reject.
const maxTokenBytes = 64 << 10

// acceptedAlgs are the JWS algorithms a token may be signed with. The issuer's
// discovery document can narrow this set further, never widen it.
var acceptedAlgs = []string{oidc.RS256, oidc.ES256, oidc.EdDSA}

func algAccepted(alg string) bool {
	for _, a := range acceptedAlgs {
		if a == alg {
			return true
		}
	}
	return false
}

var (
	errNotCompactJWS = errors.New("not a compact JWS")
	errBadEncoding   = errors.New("invalid base64url segment")
	errBadHeader     = errors.New("invalid JOSE header")
	errBadPayload    = errors.New("invalid claims set")
	errNoIssuer      = errors.New("no issuer claim")
	errBadAlg        = errors.New("algorithm not accepted")
	errNotObject     = errors.New("segment is not a JSON object")
	errBadJSON       = errors.New("segment is not valid JSON for its type")
)

// peeked holds the unverified routing information of a token.
type peeked struct {
	alg string
	iss string
}

// peek extracts the signing algorithm and issuer from a compact JWS without
// verifying it. It is only used to choose the verifier; everything it returns
// is checked again, after signature verification, by go-oidc.
func peek(raw string) (peeked, error) {
	header, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return peeked{}, errNotCompactJWS
	}
	payload, signature, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(signature, ".") {
		return peeked{}, errNotCompactJWS
	}
	if header == "" || payload == "" {
		return peeked{}, errNotCompactJWS
	}

	var h struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(header, &h); err != nil {
		return peeked{}, fmt.Errorf("%w: %w", errBadHeader, err)
	}
	if !algAccepted(h.Alg) {
		return peeked{alg: h.Alg}, errBadAlg
	}
	if signature == "" {
		return peeked{}, errNotCompactJWS
	}
	if _, err := base64.RawURLEncoding.DecodeString(signature); err != nil {
		return peeked{}, errBadEncoding
	}

	var p struct {
		Iss string `json:"iss"`
	}
	if err := decodeSegment(payload, &p); err != nil {
		return peeked{}, fmt.Errorf("%w: %w", errBadPayload, err)
	}
	if p.Iss == "" {
		return peeked{}, errNoIssuer
	}
	return peeked{alg: h.Alg, iss: p.Iss}, nil
}

// decodeSegment base64url-decodes one JWS segment and unmarshals the JSON
// object it holds into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errBadEncoding
	}
	if len(b) == 0 || b[0] != '{' {
		return errNotObject
	}
	if err := json.Unmarshal(b, v); err != nil {
		// The decoder's message can quote input bytes; keep token
		// material out of the error chain.
		return errBadJSON
	}
	return nil
}
