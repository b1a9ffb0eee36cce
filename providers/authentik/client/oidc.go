package authentikapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
)

// Default flow slugs shipped by authentik's blueprints.
const (
	DefaultAuthorizationFlow = "default-provider-authorization-implicit-consent"
	DefaultInvalidationFlow  = "default-provider-invalidation-flow"
)

var slugRE = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// RedirectURI is one allowed redirect URI of an OAuth2 provider.
type RedirectURI struct {
	MatchingMode string `json:"matching_mode"` // "strict" or "regex"
	URL          string `json:"url"`
}

// OIDCAppSpec describes an OIDC application restricted to one group.
type OIDCAppSpec struct {
	Name         string
	Slug         string
	GroupPK      string   // group UUID allowed to use the application
	RedirectURIs []string // matched strictly
	LaunchURL    string
	// ClientType is "confidential" (default) or "public".
	ClientType string
	// AuthorizationFlowSlug and InvalidationFlowSlug default to authentik's defaults.
	AuthorizationFlowSlug string
	InvalidationFlowSlug  string
	// SigningKey is a certificate-keypair UUID; empty means HS256 with the client secret.
	SigningKey string
	// ScopeMappings are property-mapping UUIDs; empty leaves authentik's defaults.
	ScopeMappings []string
}

// OIDCApp is the result of CreateOIDCApp. ClientSecret is only meaningful to hand
// to the caller once; it is never logged.
type OIDCApp struct {
	ProviderPK   int
	AppPK        string
	AppSlug      string
	Name         string
	GroupPK      string // group bound to the application ("" if none)
	BindingPK    string
	ClientID     string
	ClientSecret string
	Issuer       string
}

type oauth2Provider struct {
	PK           int    `json:"pk"`
	Name         string `json:"name"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type application struct {
	PK       string `json:"pk"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Provider *int   `json:"provider"`
}

type policyBinding struct {
	PK     string `json:"pk"`
	Target string `json:"target"`
	Group  string `json:"group"`
}

// Flow is an authentik flow.
type Flow struct {
	PK             string `json:"pk"`
	Slug           string `json:"slug"`
	Name           string `json:"name"`
	Title          string `json:"title"`
	Designation    string `json:"designation"`
	Authentication string `json:"authentication"`
}

// FindFlow returns the flow with the given slug (KindNotFound when absent).
func (c *Client) FindFlow(ctx context.Context, slug string) (Flow, error) {
	var f Flow
	err := c.do(ctx, "get flow", http.MethodGet, "flows/instances/"+url.PathEscape(slug)+"/", nil, nil, &f)
	return f, err
}

// CreateOIDCApp creates an OAuth2/OIDC provider, an application using it and a policy
// binding that restricts the application to spec.GroupPK. If any step fails, the
// objects already created are deleted again (best effort) and the original error is
// returned.
func (c *Client) CreateOIDCApp(ctx context.Context, spec OIDCAppSpec) (app OIDCApp, err error) {
	if spec.Name == "" || !slugRE.MatchString(spec.Slug) || spec.GroupPK == "" || len(spec.RedirectURIs) == 0 {
		return OIDCApp{}, &Error{Op: "create oidc app", Kind: KindInvalid,
			Message: "name, slug ([-a-zA-Z0-9_]+), group and at least one redirect URI are required"}
	}
	authSlug := orDefault(spec.AuthorizationFlowSlug, DefaultAuthorizationFlow)
	invSlug := orDefault(spec.InvalidationFlowSlug, DefaultInvalidationFlow)
	authFlow, err := c.FindFlow(ctx, authSlug)
	if err != nil {
		return OIDCApp{}, fmt.Errorf("authentik: create oidc app: authorization flow %q: %w", authSlug, err)
	}
	invFlow, err := c.FindFlow(ctx, invSlug)
	if err != nil {
		return OIDCApp{}, fmt.Errorf("authentik: create oidc app: invalidation flow %q: %w", invSlug, err)
	}

	var undo []func(context.Context) error
	defer func() {
		if err == nil {
			return
		}
		// Roll back with a context that survives the caller's cancellation.
		rctx := context.WithoutCancel(ctx)
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](rctx); uerr != nil && !errors.Is(uerr, ErrNotFound) {
				c.log.WarnContext(ctx, "authentik oidc app rollback step failed", "slug", spec.Slug, "error", uerr)
			}
		}
	}()

	redirects := make([]RedirectURI, 0, len(spec.RedirectURIs))
	for _, u := range spec.RedirectURIs {
		redirects = append(redirects, RedirectURI{MatchingMode: "strict", URL: u})
	}
	provBody := map[string]any{
		"name":               spec.Name,
		"authorization_flow": authFlow.PK,
		"invalidation_flow":  invFlow.PK,
		"redirect_uris":      redirects,
		"client_type":        orDefault(spec.ClientType, "confidential"),
		"sub_mode":           "user_uuid",
		"issuer_mode":        "per_provider",
	}
	if spec.SigningKey != "" {
		provBody["signing_key"] = spec.SigningKey
	}
	if len(spec.ScopeMappings) > 0 {
		provBody["property_mappings"] = spec.ScopeMappings
	}
	var prov oauth2Provider
	if err = c.do(ctx, "create oauth2 provider", http.MethodPost, "providers/oauth2/", nil, provBody, &prov); err != nil {
		return OIDCApp{}, err
	}
	undo = append(undo, func(ctx context.Context) error {
		return c.do(ctx, "rollback oauth2 provider", http.MethodDelete, "providers/oauth2/"+strconv.Itoa(prov.PK)+"/", nil, nil, nil)
	})

	appBody := map[string]any{
		"name":               spec.Name,
		"slug":               spec.Slug,
		"provider":           prov.PK,
		"policy_engine_mode": "any",
	}
	if spec.LaunchURL != "" {
		appBody["meta_launch_url"] = spec.LaunchURL
	}
	var a application
	if err = c.do(ctx, "create application", http.MethodPost, "core/applications/", nil, appBody, &a); err != nil {
		return OIDCApp{}, err
	}
	undo = append(undo, func(ctx context.Context) error {
		return c.do(ctx, "rollback application", http.MethodDelete, "core/applications/"+url.PathEscape(a.Slug)+"/", nil, nil, nil)
	})

	var b policyBinding
	if err = c.do(ctx, "bind group to application", http.MethodPost, "policies/bindings/", nil, map[string]any{
		"target": a.PK, "group": spec.GroupPK, "order": 0, "enabled": true, "negate": false, "timeout": 30,
	}, &b); err != nil {
		return OIDCApp{}, err
	}
	undo = append(undo, func(ctx context.Context) error {
		return c.do(ctx, "rollback policy binding", http.MethodDelete, "policies/bindings/"+url.PathEscape(b.PK)+"/", nil, nil, nil)
	})

	var urls struct {
		Issuer string `json:"issuer"`
	}
	if err = c.do(ctx, "get provider setup urls", http.MethodGet, "providers/oauth2/"+strconv.Itoa(prov.PK)+"/setup_urls/", nil, nil, &urls); err != nil {
		return OIDCApp{}, err
	}
	return OIDCApp{
		ProviderPK: prov.PK, AppPK: a.PK, AppSlug: a.Slug, Name: a.Name, GroupPK: spec.GroupPK, BindingPK: b.PK,
		ClientID: prov.ClientID, ClientSecret: prov.ClientSecret, Issuer: urls.Issuer,
	}, nil
}

// GetOIDCApp returns the application with slug, its provider's client id and
// issuer, and the group bound to it. ClientSecret is always empty.
func (c *Client) GetOIDCApp(ctx context.Context, slug string) (OIDCApp, error) {
	var a application
	if err := c.do(ctx, "get application", http.MethodGet, "core/applications/"+url.PathEscape(slug)+"/", nil, nil, &a); err != nil {
		return OIDCApp{}, err
	}
	out := OIDCApp{AppPK: a.PK, AppSlug: a.Slug, Name: a.Name}
	bindings, err := listAll[policyBinding](ctx, c, "list policy bindings", "policies/bindings/", url.Values{"target": {a.PK}})
	if err != nil {
		return OIDCApp{}, err
	}
	for _, b := range bindings {
		if b.Target == a.PK && b.Group != "" {
			out.GroupPK, out.BindingPK = b.Group, b.PK
			break
		}
	}
	if a.Provider != nil {
		var prov oauth2Provider
		if err := c.do(ctx, "get oauth2 provider", http.MethodGet, "providers/oauth2/"+strconv.Itoa(*a.Provider)+"/", nil, nil, &prov); err != nil {
			return OIDCApp{}, err
		}
		var urls struct {
			Issuer string `json:"issuer"`
		}
		if err := c.do(ctx, "get provider setup urls", http.MethodGet, "providers/oauth2/"+strconv.Itoa(prov.PK)+"/setup_urls/", nil, nil, &urls); err != nil {
			return OIDCApp{}, err
		}
		out.ProviderPK, out.ClientID, out.Issuer = prov.PK, prov.ClientID, urls.Issuer
	}
	return out, nil
}

// DeleteOIDCApp deletes the application with slug, its policy bindings and its
// provider. It is idempotent: a missing application is not an error.
func (c *Client) DeleteOIDCApp(ctx context.Context, slug string) error {
	var a application
	err := c.do(ctx, "get application", http.MethodGet, "core/applications/"+url.PathEscape(slug)+"/", nil, nil, &a)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	bindings, err := listAll[policyBinding](ctx, c, "list policy bindings", "policies/bindings/", url.Values{"target": {a.PK}})
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if b.Target != a.PK {
			continue
		}
		if err := c.do(ctx, "delete policy binding", http.MethodDelete, "policies/bindings/"+url.PathEscape(b.PK)+"/", nil, nil, nil); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if err := c.do(ctx, "delete application", http.MethodDelete, "core/applications/"+url.PathEscape(slug)+"/", nil, nil, nil); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if a.Provider != nil {
		if err := c.do(ctx, "delete oauth2 provider", http.MethodDelete, "providers/oauth2/"+strconv.Itoa(*a.Provider)+"/", nil, nil, nil); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
