package members

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

// CredentialKind is how a one-time credential is handed over.
type CredentialKind string

// The credential kinds.
const (
	// RecoveryLink is a link into the identity provider's recovery flow.
	RecoveryLink CredentialKind = "RECOVERY_LINK"
	// OneTimePassword is a generated password marked expired, so the
	// first login must change it.
	OneTimePassword CredentialKind = "ONE_TIME_PASSWORD"
)

// Credential is a one-time credential. It is returned to the caller once
// and never stored, logged or audited: only its Kind is.
type Credential struct {
	Kind  CredentialKind
	Value string
	// ExpiresAt is when the credential stops working, nil when the
	// identity provider does not say.
	ExpiresAt *time.Time
}

// String never reveals the value, so a credential that reaches a log by
// mistake shows only its kind.
func (c *Credential) String() string { return "credential(" + string(c.Kind) + ")" }

// handoff names the kind for audit metadata.
func (c *Credential) handoff() string {
	if c == nil {
		return "none"
	}
	if c.Kind == RecoveryLink {
		return "recovery_link"
	}
	return "one_time_password"
}

// Password alphabets: no characters that are easily confused (I, O, l, 0, 1).
const (
	upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	lower   = "abcdefghijkmnopqrstuvwxyz"
	digits  = "23456789"
	symbols = "!#$%&*+-=?@^_"
	// PasswordLength is the length of a generated one-time password.
	PasswordLength = 16
)

// GeneratePassword returns a PasswordLength-character password from
// crypto/rand with at least one upper-case letter, lower-case letter, digit
// and symbol, and none of the confusable characters I, O, l, 0, 1.
func GeneratePassword() (string, error) {
	all := upper + lower + digits + symbols
	out := make([]byte, 0, PasswordLength)
	for _, set := range []string{upper, lower, digits, symbols} {
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	for len(out) < PasswordLength {
		c, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	// Fisher-Yates with crypto/rand, so the guaranteed classes are not
	// always in front.
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("members: random: %w", err)
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, fmt.Errorf("members: random: %w", err)
	}
	return set[n.Int64()], nil
}

// issueCredential hands over access to an SSO user: a recovery link when
// the identity provider has a recovery flow, otherwise a generated
// password set as expired (the first login must change it).
func issueCredential(ctx context.Context, idp sdk.Identity, userID string) (*Credential, error) {
	link, err := idp.RecoveryLink(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("recovery link: %w", err)
	}
	if link.OK {
		c := &Credential{Kind: RecoveryLink, Value: link.URL}
		if !link.ExpiresAt.IsZero() {
			at := link.ExpiresAt.UTC()
			c.ExpiresAt = &at
		}
		return c, nil
	}
	pw, err := GeneratePassword()
	if err != nil {
		return nil, err
	}
	if err := idp.SetPassword(ctx, sdk.SetPasswordRequest{UserID: userID, Password: pw, Expired: true}); err != nil {
		return nil, fmt.Errorf("set one-time password: %w", err)
	}
	return &Credential{Kind: OneTimePassword, Value: pw}, nil
}
