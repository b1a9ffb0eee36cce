package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	// defaultHTTPTimeout bounds every discovery and JWKS request made with
	// the default client.
	defaultHTTPTimeout = 10 * time.Second
	// discoveryTimeout bounds one discovery attempt regardless of the client.
	discoveryTimeout = 15 * time.Second
	// discoveryRetryInterval is how long a failed discovery is remembered
	// before the next request tries again.
	discoveryRetryInterval = 2 * time.Second
	// clockSkew is the allowance for "iat" in the future; it matches the
	// allowance go-oidc applies to "nbf".
	clockSkew = 5 * time.Minute
)

// Config configures a [Verifier].
type Config struct {
	// Issuers are the accepted issuer identifiers, compared byte for byte
	// with the token's "iss" claim (for Authentik:
	// https://<host>/application/o/<slug>/, trailing slash included). At
	// least one is required; each must be an absolute http(s) URL without
	// query or fragment.
	Issuers []string
	// Audiences are the accepted audiences; a token is accepted when any
	// of its "aud" values is listed. At least one is required.
	Audiences []string
	// HTTPClient is used for discovery and JWKS requests. Nil means a
	// client with a 10 second timeout.
	HTTPClient *http.Client
	// Now returns the current time; nil means time.Now. It drives the
	// token time checks and the discovery retry back-off. Intended for tests.
	Now func() time.Time
}

// Claims are the verified claims of an accepted token.
type Claims struct {
	Issuer   string
	Subject  string
	Email    string
	Name     string
	Audience []string
	Expiry   time.Time
	IssuedAt time.Time
}

// HasAudience reports whether aud is one of the token's audiences.
func (c *Claims) HasAudience(aud string) bool {
	return c != nil && slices.Contains(c.Audience, aud)
}

// Verifier verifies bearer tokens against the configured issuers and
// audiences. It is safe for concurrent use; create one and share it.
type Verifier struct {
	issuers   map[string]*issuer
	audiences map[string]struct{}
	now       func() time.Time
}

// NewVerifier validates cfg and returns a Verifier. It performs no network
// I/O: each issuer is discovered when a token first names it.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("authn: new verifier: at least one issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("authn: new verifier: at least one audience is required")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}

	v := &Verifier{
		issuers:   make(map[string]*issuer, len(cfg.Issuers)),
		audiences: make(map[string]struct{}, len(cfg.Audiences)),
		now:       now,
	}
	for _, iss := range cfg.Issuers {
		if err := ValidateIssuerURL(iss); err != nil {
			return nil, fmt.Errorf("authn: new verifier: issuer %q: %w", iss, err)
		}
		if _, dup := v.issuers[iss]; dup {
			continue
		}
		v.issuers[iss] = &issuer{url: iss, client: client, now: now}
	}
	for _, aud := range cfg.Audiences {
		if aud == "" {
			return nil, errors.New("authn: new verifier: empty audience")
		}
		v.audiences[aud] = struct{}{}
	}
	return v, nil
}

// ValidateIssuerURL checks that raw can be an OIDC issuer: an http(s) URL
// with a host and no user info, query or fragment.
func ValidateIssuerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("scheme must be https or http")
	case u.Host == "":
		return errors.New("host is required")
	case u.User != nil:
		return errors.New("user info is not allowed")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("query is not allowed")
	case u.Fragment != "" || u.RawFragment != "":
		return errors.New("fragment is not allowed")
	}
	return nil
}

// Verify verifies raw (the token without the "Bearer " prefix) and returns
// its claims. Every error wraps [ErrUnauthenticated]; see the package
// documentation for the checks and the error contract.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, reject(reasonMissingToken)
	}
	if len(raw) > maxTokenBytes {
		return nil, reject(reasonTokenTooLarge)
	}
	p, err := peek(raw)
	if errors.Is(err, errBadAlg) {
		return nil, reject(reasonUnsupportedAlg, err)
	}
	if err != nil {
		return nil, reject(reasonMalformed, err)
	}
	iss, ok := v.issuers[p.iss]
	if !ok {
		return nil, reject(reasonUnknownIssuer)
	}

	idv, err := iss.verifier(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, reject(reasonCanceled, err)
		}
		return nil, reject(reasonIssuerUnavailable, ErrIssuerUnavailable, err)
	}

	tok, err := idv.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired) && expired.Expiry.IsZero():
			return nil, reject(reasonNoExpiry, err)
		case errors.As(err, &expired):
			return nil, reject(reasonExpired, err)
		case ctx.Err() != nil:
			return nil, reject(reasonCanceled, ctx.Err(), err)
		default:
			return nil, reject(reasonInvalid, err)
		}
	}

	// go-oidc has checked the signature, "iss", "exp" and "nbf"; the
	// remaining checks are ours.
	if tok.Subject == "" {
		return nil, reject(reasonMissingSubject)
	}
	if !tok.IssuedAt.IsZero() && tok.IssuedAt.After(v.now().Add(clockSkew)) {
		return nil, reject(reasonNotYetValid)
	}
	if !v.acceptsAudience(tok.Audience) {
		return nil, reject(reasonAudience)
	}
	var extra struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := tok.Claims(&extra); err != nil {
		return nil, reject(reasonInvalidClaims, err)
	}
	return &Claims{
		Issuer:   tok.Issuer,
		Subject:  tok.Subject,
		Email:    extra.Email,
		Name:     extra.Name,
		Audience: slices.Clone(tok.Audience),
		Expiry:   tok.Expiry,
		IssuedAt: tok.IssuedAt,
	}, nil
}

func (v *Verifier) acceptsAudience(auds []string) bool {
	for _, a := range auds {
		if _, ok := v.audiences[a]; ok {
			return true
		}
	}
	return false
}

// issuer holds the lazily discovered go-oidc verifier of one configured
// issuer.
type issuer struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	idv      *oidc.IDTokenVerifier // set once discovery succeeded
	inflight *discovery            // the running discovery, if any
	lastErr  error                 // the last discovery failure
	retryAt  time.Time             // no new attempt before this time
}

// discovery is one discovery attempt that several requests may wait on.
type discovery struct {
	done chan struct{}
	idv  *oidc.IDTokenVerifier
	err  error
}

// verifier returns the issuer's go-oidc verifier, discovering the issuer if
// needed. Concurrent callers share one discovery; a failure is remembered
// for discoveryRetryInterval and then retried.
func (is *issuer) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	if is.idv != nil {
		idv := is.idv
		is.mu.Unlock()
		return idv, nil
	}
	if is.inflight == nil {
		if is.lastErr != nil && is.now().Before(is.retryAt) {
			err := is.lastErr
			is.mu.Unlock()
			return nil, fmt.Errorf("discovery failed recently, not retrying yet: %w", err)
		}
		d := &discovery{done: make(chan struct{})}
		is.inflight = d
		go is.discover(context.WithoutCancel(ctx), d)
	}
	d := is.inflight
	is.mu.Unlock()

	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for issuer discovery: %w", ctx.Err())
	case <-d.done:
		return d.idv, d.err
	}
}

// discover runs one discovery attempt and publishes its outcome.
func (is *issuer) discover(ctx context.Context, d *discovery) {
	idv, err := is.newIDTokenVerifier(ctx)

	is.mu.Lock()
	if err == nil {
		is.idv = idv
		is.lastErr = nil
	} else {
		is.lastErr = err
		is.retryAt = is.now().Add(discoveryRetryInterval)
	}
	is.inflight = nil
	is.mu.Unlock()

	d.idv, d.err = idv, err
	close(d.done)
}

func (is *issuer) newIDTokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	// go-oidc keeps the client from this context for its background JWKS
	// fetches; the timeout above only bounds discovery itself.
	ctx = oidc.ClientContext(ctx, is.client)

	provider, err := oidc.NewProvider(ctx, is.url)
	if err != nil {
		return nil, fmt.Errorf("discover issuer %q: %w", is.url, err)
	}
	var meta struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discover issuer %q: read metadata: %w", is.url, err)
	}
	algs := acceptedAlgs
	if len(meta.Algs) > 0 {
		algs = nil
		for _, a := range meta.Algs {
			if algAccepted(a) && !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			return nil, fmt.Errorf("discover issuer %q: none of the advertised signing algorithms %q is accepted (want one of %q)",
				is.url, meta.Algs, acceptedAlgs)
		}
	}
	return provider.Verifier(&oidc.Config{
		SkipClientIDCheck:    true, // audiences are checked by Verify against the configured set
		SupportedSigningAlgs: slices.Clone(algs),
		Now:                  is.now,
	}), nil
}
