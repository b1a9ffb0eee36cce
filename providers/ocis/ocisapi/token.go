package ocisapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

// RefreshTokenSource mints access tokens with the OAuth2 refresh_token grant
// (RFC 6749 §6). oCIS trusts a single OIDC issuer and has no client-credentials
// grant, so a service user's refresh token is the way to call it unattended.
// Access tokens are cached until shortly before they expire; when the IdP
// rotates the refresh token, the new one is used from then on and handed to
// OnRotate so the caller can persist it. Safe for concurrent use.
type RefreshTokenSource struct {
	tokenURL     string
	clientID     string
	clientSecret string
	http         *http.Client
	onRotate     func(ctx context.Context, refreshToken string) error
	now          func() time.Time

	mu      sync.Mutex
	refresh string
	access  string
	expiry  time.Time
}

// RefreshOption configures a RefreshTokenSource.
type RefreshOption func(*RefreshTokenSource)

// WithClientSecret authenticates a confidential client in the token request.
func WithClientSecret(s string) RefreshOption {
	return func(r *RefreshTokenSource) { r.clientSecret = s }
}

// WithRotationHook is called with every new refresh token the IdP issues. A hook
// error is returned from Token (the new token is still used in memory).
func WithRotationHook(f func(ctx context.Context, refreshToken string) error) RefreshOption {
	return func(r *RefreshTokenSource) { r.onRotate = f }
}

// WithTokenHTTPClient sets the HTTP client for the token endpoint.
func WithTokenHTTPClient(hc *http.Client) RefreshOption {
	return func(r *RefreshTokenSource) { r.http = hc }
}

// WithTokenClock sets the clock used for expiry checks.
func WithTokenClock(now func() time.Time) RefreshOption {
	return func(r *RefreshTokenSource) { r.now = now }
}

// NewRefreshTokenSource returns a token source for the OIDC token endpoint
// tokenURL and the public (or, with WithClientSecret, confidential) client clientID.
func NewRefreshTokenSource(tokenURL, clientID, refreshToken string, opts ...RefreshOption) (*RefreshTokenSource, error) {
	u, err := url.Parse(tokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("ocis: token URL must be an absolute http(s) URL")
	}
	if clientID == "" || refreshToken == "" {
		return nil, errors.New("ocis: client id and refresh token are required")
	}
	r := &RefreshTokenSource{tokenURL: tokenURL, clientID: clientID, refresh: refreshToken,
		http: &http.Client{Transport: sdk.HTTPTransport(nil), Timeout: 30 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// expiryMargin renews tokens this long before they expire.
const expiryMargin = 30 * time.Second

// Token returns a valid access token, refreshing it when needed.
func (r *RefreshTokenSource) Token(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.access != "" && r.now().Add(expiryMargin).Before(r.expiry) {
		return r.access, nil
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.refresh}, "client_id": {r.clientID}}
	if r.clientSecret != "" {
		form.Set("client_secret", r.clientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("ocis: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", fmt.Errorf("ocis: token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("ocis: read token response: %w", err)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
		ErrorDesc    string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		msg := tr.Error
		if tr.ErrorDesc != "" {
			msg += ": " + tr.ErrorDesc
		}
		if msg == "" {
			msg = "no access token in response"
		}
		return "", fmt.Errorf("ocis: token endpoint answered %d: %s", resp.StatusCode, msg)
	}
	r.access = tr.AccessToken
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	r.expiry = r.now().Add(ttl)
	if tr.RefreshToken != "" && tr.RefreshToken != r.refresh {
		r.refresh = tr.RefreshToken
		if r.onRotate != nil {
			if err := r.onRotate(ctx, tr.RefreshToken); err != nil {
				return r.access, fmt.Errorf("ocis: persist rotated refresh token: %w", err)
			}
		}
	}
	return r.access, nil
}
