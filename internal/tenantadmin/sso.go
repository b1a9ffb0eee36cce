package tenantadmin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/ssoapp"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/oneshot"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/plugins/sdk"
)

// Limits of an SSO application.
const (
	maxAppName      = 80
	MaxRedirectURIs = 10
	maxRedirectURI  = 2048
)

// CreateSsoAppInput describes a new SSO application.
type CreateSsoAppInput struct {
	Name         string
	RedirectURIs []string
}

// CreateSsoAppPayload is a new application and its client secret, shown
// once (nil in an Idempotency-Key replay).
type CreateSsoAppPayload struct {
	App          *ent.SsoApp
	ClientSecret *string
}

// SsoApps lists t's applications, oldest first.
func (s *Service) SsoApps(ctx context.Context, t *ent.Tenant) ([]*ent.SsoApp, error) {
	if err := requireAdmin(ctx, t); err != nil {
		return nil, err
	}
	apps, err := s.client(ctx).SsoApp.Query().Where(ssoapp.TenantID(t.ID)).Order(ent.Asc(ssoapp.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenantadmin: sso apps of %s: %w", t.Slug, err)
	}
	return apps, nil
}

// CheckRedirectURIs validates redirect URIs: 1-MaxRedirectURIs absolute
// URLs without user info or fragment, https, or http to a loopback host
// (localhost, 127.0.0.0/8, ::1) for development. Duplicates are dropped.
func CheckRedirectURIs(in []string) ([]string, error) {
	if len(in) == 0 || len(in) > MaxRedirectURIs {
		return nil, fmt.Errorf("give 1-%d redirect URIs", MaxRedirectURIs)
	}
	out := make([]string, 0, len(in))
	for _, raw := range in {
		s := strings.TrimSpace(raw)
		if len(s) > maxRedirectURI {
			return nil, fmt.Errorf("a redirect URI is longer than %d bytes", maxRedirectURI)
		}
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
			return nil, fmt.Errorf("%q is not an absolute URL", raw)
		}
		if u.User != nil || u.Fragment != "" || strings.Contains(s, "#") {
			return nil, fmt.Errorf("%q must not carry user info or a fragment", raw)
		}
		switch u.Scheme {
		case "https":
		case "http":
			if !loopback(u.Hostname()) {
				return nil, fmt.Errorf("%q: http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https", raw)
			}
		default:
			return nil, fmt.Errorf("%q: the scheme must be https", raw)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CreateSsoApp creates an OIDC application at the identity provider for the
// tenant's group and records it, audited, in ctx's transaction. The client
// secret is returned once and never stored, logged or audited. When
// anything after the upstream creation fails, or the transaction rolls
// back or fails to commit, the upstream application is deleted again (the
// plugin itself rolls back its own partial creation).
func (s *Service) CreateSsoApp(ctx context.Context, slug string, in CreateSsoAppInput) (*CreateSsoAppPayload, error) {
	var out *CreateSsoAppPayload
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.tenantFor(ctx, slug)
		if err != nil {
			return err
		}
		if err := tenancy.Writable(t); err != nil {
			return err
		}
		name := strings.TrimSpace(in.Name)
		if name == "" || len(name) > maxAppName {
			return apperr.Invalid("name", "must be 1-%d bytes", maxAppName)
		}
		uris, err := CheckRedirectURIs(in.RedirectURIs)
		if err != nil {
			return apperr.Invalid("redirectUris", "%v", err)
		}
		idp, err := s.identity()
		if err != nil {
			return err
		}
		group, err := s.upstreamID(ctx, t, provisioning.Identity, provisioning.ExternalGroupID)
		if err != nil {
			return err
		}
		if group == "" {
			return apperr.Conflictf("the identity group of tenant %q is not provisioned yet; reconcile the tenant first", t.Slug)
		}
		upstreamSlug, err := appSlug(t.Slug)
		if err != nil {
			return err
		}
		app, err := idp.CreateOIDCApp(ctx, sdk.CreateOIDCAppRequest{Slug: upstreamSlug, Name: name, GroupID: group, RedirectURIs: uris})
		if err != nil {
			return upstreamError("identity", err)
		}
		// From here on, every failure must remove the upstream application.
		undo := func() {
			if err := idp.DeleteOIDCApp(context.WithoutCancel(ctx), app.ID); err != nil && !sdk.IsNotFound(err) {
				s.cfg.Log.ErrorContext(ctx, "sso app: rollback at the identity provider failed; delete it by hand",
					"tenant", t.Slug, "app", app.ID, "err", err)
			}
		}
		onRollback(ctx, undo)
		row, err := ent.FromContext(ctx).SsoApp.Create().SetTenantID(t.ID).SetName(name).SetUpstreamID(app.ID).
			SetClientID(app.ClientID).SetRedirectUris(uris).Save(ctx)
		if err != nil {
			return apperr.About(err, "sso app")
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "tenant.sso_app_created", ResourceType: "sso_app", ResourceID: strconv.Itoa(row.ID), ResourceName: name,
			Tenant: t, Metadata: map[string]any{"clientId": app.ClientID, "redirectUris": uris, "upstreamId": app.ID},
		}); err != nil {
			return err
		}
		oneshot.Mark(ctx, app.ClientSecret)
		secret := app.ClientSecret
		out = &CreateSsoAppPayload{App: row, ClientSecret: &secret}
		return nil
	})
	if err != nil {
		return nil, apperr.About(err, "sso app")
	}
	return out, nil
}

// onRollback runs undo when ctx's transaction rolls back or its commit
// fails.
func onRollback(ctx context.Context, undo func()) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return
	}
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Rollback(ctx, tx)
			undo()
			return err
		})
	})
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err != nil {
				undo()
			}
			return err
		})
	})
}

// DeleteSsoApp deletes the tenant's application id here and at the
// identity provider, audited, and returns it as it was.
func (s *Service) DeleteSsoApp(ctx context.Context, slug string, id int) (*ent.SsoApp, error) {
	var out *ent.SsoApp
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		t, err := s.tenantFor(ctx, slug)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		app, err := c.SsoApp.Query().Where(ssoapp.ID(id), ssoapp.TenantID(t.ID)).Only(ctx)
		if err != nil {
			return apperr.About(err, "sso app")
		}
		idp, err := s.identity()
		if err != nil {
			return err
		}
		if err := c.SsoApp.DeleteOne(app).Exec(ctx); err != nil {
			return apperr.About(err, "sso app")
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "tenant.sso_app_deleted", ResourceType: "sso_app", ResourceID: strconv.Itoa(app.ID), ResourceName: app.Name,
			Tenant: t, Metadata: map[string]any{"clientId": app.ClientID, "upstreamId": app.UpstreamID},
		}); err != nil {
			return err
		}
		// Last, so a failure here rolls back the row; an application
		// already gone upstream counts as deleted.
		if err := idp.DeleteOIDCApp(ctx, app.UpstreamID); err != nil && !sdk.IsNotFound(err) {
			return upstreamError("identity", err)
		}
		out = app
		return nil
	})
	if err != nil {
		return nil, apperr.About(err, "sso app")
	}
	return out, nil
}

// identity returns the identity plugin or UNAVAILABLE.
func (s *Service) identity() (sdk.Identity, error) {
	if s.cfg.Providers == nil {
		return nil, unavailable("identity", sdk.Errorf(sdk.CodeUnsupported, "no providers"))
	}
	idp, err := s.cfg.Providers.Identity()
	if err != nil {
		return nil, unavailable("identity", err)
	}
	return idp, nil
}

// upstreamError maps a provider error for the caller (apperr.Upstream).
func upstreamError(what string, err error) error { return apperr.Upstream(what, err) }

// appSlug is a new, unique upstream application slug for a tenant.
func appSlug(tenantSlug string) (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("tenantadmin: app slug: %w", err)
	}
	return "dezky-" + tenantSlug + "-" + hex.EncodeToString(b), nil
}
