// Package domainname normalises domain names the way resolvers look them
// up and knows the consumer mail domains no tenant may claim.
package domainname

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"

	"golang.org/x/net/idna"

	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/inputcheck"
)

// hostnamePattern is a normalised (lower-case ASCII) hostname with at
// least two labels; the top-level label is letters or an IDNA A-label.
var hostnamePattern = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$`)

// idnaProfile maps and validates names the way a resolver looks them up
// (UTS #46 mapping, lower-case), producing A-labels.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// Valid reports whether d is already a normalised hostname.
func Valid(d string) bool { return len(d) <= 253 && hostnamePattern.MatchString(d) }

// Normalize returns the normal form of one domain name: trimmed, without
// the trailing dot, IDNA to ASCII, lower-case. "" stays "". Anything that
// is not a hostname of at least two labels is BAD_USER_INPUT about field.
func Normalize(field, d string) (string, error) {
	if err := inputcheck.Line(d); err != nil {
		return "", apperr.Invalid(field, "%q is not a valid domain name: %v", d, err)
	}
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", nil
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", apperr.Invalid(field, "%q is not a valid domain name", d)
	}
	a = strings.ToLower(a)
	if !Valid(a) {
		return "", apperr.Invalid(field, "%q is not a valid domain name", d)
	}
	return a, nil
}

// consumer are the mail domains of public mailbox providers. Nobody owns
// them in the sense a tenant would: they are refused as tenant mail
// domains, and so are their subdomains.
var consumer = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "hotmail.de": true,
	"hotmail.co.uk": true, "live.com": true, "live.de": true, "msn.com": true, "yahoo.com": true, "yahoo.de": true,
	"yahoo.co.uk": true, "yahoo.fr": true, "ymail.com": true, "rocketmail.com": true, "aol.com": true, "aol.de": true,
	"icloud.com": true, "me.com": true, "mac.com": true, "proton.me": true, "protonmail.com": true, "protonmail.ch": true,
	"pm.me": true, "gmx.de": true, "gmx.net": true, "gmx.at": true, "gmx.ch": true, "gmx.com": true, "web.de": true,
	"t-online.de": true, "freenet.de": true, "posteo.de": true, "mailbox.org": true, "tutanota.com": true,
	"tutanota.de": true, "tuta.io": true, "zoho.com": true, "yandex.com": true, "yandex.ru": true, "mail.ru": true,
	"qq.com": true, "163.com": true, "126.com": true, "fastmail.com": true, "hey.com": true, "orange.fr": true,
	"free.fr": true, "laposte.net": true, "libero.it": true, "virgilio.it": true, "seznam.cz": true, "wp.pl": true,
	"o2.pl": true, "onet.pl": true, "bluewin.ch": true, "kpnmail.nl": true, "ziggo.nl": true, "telenet.be": true,
	"skynet.be": true, "btinternet.com": true, "comcast.net": true, "verizon.net": true, "att.net": true,
}

// Consumer reports whether the normalised name d is a public mailbox
// provider's domain (or a subdomain of one).
func Consumer(d string) bool {
	for {
		if consumer[d] {
			return true
		}
		_, rest, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(rest, ".") {
			return false
		}
		d = rest
	}
}

// NewToken returns a fresh random ownership token: 32 lower-case hex
// digits (128 bits).
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
