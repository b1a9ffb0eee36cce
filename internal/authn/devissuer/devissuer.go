package devissuer

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dezky/platform/internal/authn"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a development OIDC issuer: a signing key plus the URL it issues
// tokens as. It is safe for concurrent use.
type Issuer struct {
	url       string
	alg       jose.SignatureAlgorithm
	keyID     string
	signer    jose.Signer
	discovery []byte
	jwks      []byte
}

// MintClaims describes a token to mint.
type MintClaims struct {
	// Subject is the "sub" claim; required.
	Subject string
	// Email and Name are the "email" and "name" claims; omitted when empty.
	Email string
	Name  string
	// Audience is the "aud" claim; at least one non-empty value is required.
	Audience []string
	// TTL is the token lifetime from now; it must be positive.
	TTL time.Duration
}

// LoadOrCreate returns the issuer identified by issuerURL, signing with the
// key stored at keyPath. When keyPath does not exist an RSA-2048 key is
// generated and stored there (PKCS#8 PEM, mode 0600); later calls reuse it.
// issuerURL must be an absolute http(s) URL without query or fragment; it is
// used verbatim as the "iss" claim and the discovery document's issuer.
func LoadOrCreate(keyPath string, issuerURL string) (*Issuer, error) {
	if keyPath == "" {
		return nil, errors.New("devissuer: key path is required")
	}
	if err := authn.ValidateIssuerURL(issuerURL); err != nil {
		return nil, fmt.Errorf("devissuer: issuer URL %q: %w", issuerURL, err)
	}
	key, err := loadOrCreateKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("devissuer: load or create key: %w", err)
	}
	iss, err := newIssuer(key, issuerURL)
	if err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	return iss, nil
}

func newIssuer(key crypto.Signer, issuerURL string) (*Issuer, error) {
	alg, err := signingAlgorithm(key)
	if err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: key.Public(), Algorithm: string(alg), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("compute key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("create signer: %w", err)
	}

	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	discovery, err := json.Marshal(discoveryDocument{
		Issuer:             issuerURL,
		JWKSURI:            strings.TrimSuffix(issuerURL, "/") + "/jwks",
		ResponseTypes:      []string{"id_token"},
		SubjectTypes:       []string{"public"},
		IDTokenSigningAlgs: []string{string(alg)},
		ClaimsSupported:    []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "email", "name"},
		ScopesSupported:    []string{"openid", "email", "profile"},
	})
	if err != nil {
		return nil, fmt.Errorf("encode discovery document: %w", err)
	}

	return &Issuer{
		url:       issuerURL,
		alg:       alg,
		keyID:     pub.KeyID,
		signer:    signer,
		discovery: discovery,
		jwks:      jwks,
	}, nil
}

// discoveryDocument is the subset of OpenID Provider Metadata the issuer
// publishes.
type discoveryDocument struct {
	Issuer             string   `json:"issuer"`
	JWKSURI            string   `json:"jwks_uri"`
	ResponseTypes      []string `json:"response_types_supported"`
	SubjectTypes       []string `json:"subject_types_supported"`
	IDTokenSigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported    []string `json:"claims_supported"`
	ScopesSupported    []string `json:"scopes_supported"`
}

// URL returns the issuer identifier, exactly as passed to LoadOrCreate.
func (i *Issuer) URL() string { return i.url }

// KeyID returns the key ID ("kid") of the signing key: its RFC 7638 SHA-256
// thumbprint, base64url encoded.
func (i *Issuer) KeyID() string { return i.keyID }

// Algorithm returns the JWS algorithm tokens are signed with.
func (i *Issuer) Algorithm() string { return string(i.alg) }

// Handler serves the discovery document and the JWKS at paths relative to
// the issuer URL; see the package documentation for mounting it.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.serveJSON(i.discovery))
	jwks := i.serveJSON(i.jwks)
	mux.HandleFunc("GET /jwks", jwks)
	mux.HandleFunc("GET /jwks/{$}", jwks)
	return mux
}

func (i *Issuer) serveJSON(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	}
}

// Mint returns a signed JWT for c, issued now and valid for c.TTL.
func (i *Issuer) Mint(c MintClaims) (string, error) {
	if c.Subject == "" {
		return "", errors.New("devissuer: mint: subject is required")
	}
	if len(c.Audience) == 0 {
		return "", errors.New("devissuer: mint: at least one audience is required")
	}
	for _, a := range c.Audience {
		if a == "" {
			return "", errors.New("devissuer: mint: empty audience")
		}
	}
	if c.TTL <= 0 {
		return "", fmt.Errorf("devissuer: mint: TTL must be positive, got %s", c.TTL)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("devissuer: mint: token id: %w", err)
	}

	now := time.Now().UTC().Truncate(time.Second)
	payload, err := json.Marshal(tokenClaims{
		Issuer:    i.url,
		Subject:   c.Subject,
		Audience:  c.Audience,
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expiry:    now.Add(c.TTL).Unix(),
		ID:        hex.EncodeToString(jti),
		Email:     c.Email,
		Name:      c.Name,
	})
	if err != nil {
		return "", fmt.Errorf("devissuer: mint: encode claims: %w", err)
	}
	jws, err := i.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("devissuer: mint: sign: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("devissuer: mint: serialize: %w", err)
	}
	return token, nil
}

type tokenClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expiry    int64    `json:"exp"`
	ID        string   `json:"jti"`
	Email     string   `json:"email,omitempty"`
	Name      string   `json:"name,omitempty"`
}
