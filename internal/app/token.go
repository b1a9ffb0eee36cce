package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/viewer"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	as := fs.String("as", "operator", "who: operator | partner:<slug> | admin:<tenant> | member:<tenant>")
	ttl := fs.Duration("ttl", 12*time.Hour, "token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	issuerURL, err := os.ReadFile(filepath.Join(c.dataDir, "dev-oidc", "issuer"))
	if err != nil {
		return fmt.Errorf("token: no development issuer in %s: start 'dezky serve' with the same --data-dir first", c.dataDir)
	}
	iss, err := devissuer.LoadOrCreate(filepath.Join(c.dataDir, "dev-oidc", "key.pem"), strings.TrimSpace(string(issuerURL)))
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	tok, err := MintFor(ctx, d.Client, iss, *as, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// MintFor mints a development token for the user a role spec names:
// "operator", "partner:<slug>", "admin:<tenant>" or "member:<tenant>".
// Operators get the operator audience, everybody else the portal audience.
func MintFor(ctx context.Context, client *ent.Client, iss *devissuer.Issuer, as string, ttl time.Duration) (string, error) {
	u, aud, err := userFor(viewer.SystemContext(ctx), client, as)
	if err != nil {
		return "", err
	}
	return iss.Mint(devissuer.MintClaims{Subject: u.Subject, Email: u.Email, Name: u.Name, Audience: []string{aud}, TTL: ttl})
}

func userFor(ctx context.Context, client *ent.Client, as string) (*ent.User, string, error) {
	kind, arg, _ := strings.Cut(as, ":")
	var q *ent.UserQuery
	aud := DefaultPortalAudience
	switch {
	case kind == "operator" && arg == "":
		q = client.User.Query().Where(user.PlatformAdmin(true), user.Active(true))
		aud = DefaultOperatorAudience
	case kind == "partner" && arg != "":
		q = client.User.Query().Where(user.HasPartnerWith(partner.Slug(arg)), user.Active(true))
	case (kind == "admin" || kind == "member") && arg != "":
		role := membership.RoleMember
		if kind == "admin" {
			role = membership.RoleAdmin
		}
		q = client.User.Query().Where(user.Active(true), user.HasMembershipsWith(
			membership.RoleEQ(role), membership.HasTenantWith(tenant.Slug(arg))))
	default:
		return nil, "", errors.New("token: --as must be operator, partner:<slug>, admin:<tenant> or member:<tenant>")
	}
	u, err := q.Order(ent.Asc(user.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, "", fmt.Errorf("token: no user matches %q", as)
	}
	if err != nil {
		return nil, "", fmt.Errorf("token: %w", err)
	}
	return u, aud, nil
}
