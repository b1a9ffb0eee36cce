package maildomains

import (
	"strconv"
	"strings"

	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/plugins/sdk"
)

// Purpose is what a DNS record is for.
type Purpose string

// The purposes.
const (
	PurposeOwnership Purpose = "OWNERSHIP"
	PurposeMX        Purpose = "MX"
	PurposeSPF       Purpose = "SPF"
	PurposeDKIM      Purpose = "DKIM"
	PurposeDMARC     Purpose = "DMARC"
)

// CheckStatus is the result of checking one record.
type CheckStatus string

// The check results.
const (
	CheckOK       CheckStatus = "OK"
	CheckMissing  CheckStatus = "MISSING"
	CheckMismatch CheckStatus = "MISMATCH"
)

// OwnershipPrefix is the owner label of the ownership TXT record.
const OwnershipPrefix = "_dezky-challenge."

// ownershipValuePrefix starts the ownership TXT value.
const ownershipValuePrefix = "dezky-domain-verification="

// OwnershipRecord is the ownership TXT record of domain with token.
func OwnershipRecord(domain, token string) sdk.DNSRecord {
	return sdk.DNSRecord{Name: OwnershipPrefix + domain, Type: "TXT", Value: ownershipValuePrefix + token, TTL: 300}
}

// expectedRecords lists the records domain needs: the ownership record,
// then MX, SPF, DKIM and DMARC as the mail provider proposes them. Other
// records the provider proposes (SRV, CNAME, TLS reporting) are not
// checked.
func expectedRecords(domain, token string, provided []sdk.DNSRecord) []schematype.DNSRecordCheck {
	own := OwnershipRecord(domain, token)
	out := []schematype.DNSRecordCheck{{Purpose: string(PurposeOwnership), Type: own.Type, Name: own.Name, Expected: own.Value}}
	for _, r := range provided {
		name := strings.ToLower(strings.TrimSuffix(r.Name, "."))
		p := purposeOf(domain, name, strings.ToUpper(r.Type), r.Value)
		if p == "" {
			continue
		}
		out = append(out, schematype.DNSRecordCheck{Purpose: string(p), Type: strings.ToUpper(r.Type), Name: name, Expected: r.Value})
	}
	for i := range out {
		out[i].Found = []string{}
		out[i].Status = string(CheckMissing)
	}
	return out
}

// purposeOf classifies a proposed record; "" for records not checked.
func purposeOf(domain, name, typ, value string) Purpose {
	switch {
	case typ == "MX" && name == domain:
		return PurposeMX
	case typ == "TXT" && name == domain && hasPrefixFold(value, "v=spf1"):
		return PurposeSPF
	case typ == "TXT" && strings.HasSuffix(name, "._domainkey."+domain):
		return PurposeDKIM
	case typ == "TXT" && name == "_dmarc."+domain:
		return PurposeDMARC
	}
	return ""
}

// relevant filters the values found at a record's name down to those of
// its purpose: the apex carries other TXT records than SPF, and so on.
func relevant(p Purpose, found []string) []string {
	out := []string{}
	for _, f := range found {
		switch p {
		case PurposeSPF:
			if !hasPrefixFold(Normalize("TXT", f), "v=spf1") {
				continue
			}
		case PurposeDMARC:
			if !hasPrefixFold(Normalize("TXT", f), "v=dmarc1") {
				continue
			}
		case PurposeOwnership:
			if !strings.HasPrefix(Normalize("TXT", f), ownershipValuePrefix) {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// compare returns the status of a record whose expected value is expected
// given the relevant values found.
func compare(typ, expected string, found []string) CheckStatus {
	if len(found) == 0 {
		return CheckMissing
	}
	want := Normalize(typ, expected)
	for _, f := range found {
		if Normalize(typ, f) == want {
			return CheckOK
		}
	}
	return CheckMismatch
}

// Normalize returns the normal form of a record value for comparison:
// TXT values lose the quoting of zone-file character strings (the strings
// are joined), runs of white space become one space, and white space
// around the ";" separating tags is dropped, as is a final ";"; MX values
// become "<preference> <host>" with the host lower-case and without its
// final dot; other types are trimmed and lower-cased.
func Normalize(typ, v string) string {
	v = strings.TrimSpace(v)
	switch strings.ToUpper(typ) {
	case "TXT":
		v = unquoteTXT(v)
		v = strings.Join(strings.Fields(v), " ")
		parts := strings.Split(v, ";")
		for i, p := range parts {
			parts[i] = strings.TrimSpace(p)
		}
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return strings.Join(parts, ";")
	case "MX":
		f := strings.Fields(v)
		if len(f) != 2 {
			return strings.ToLower(strings.Join(f, " "))
		}
		pref, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			return strings.ToLower(strings.Join(f, " "))
		}
		return strconv.FormatUint(pref, 10) + " " + strings.ToLower(strings.TrimSuffix(f[1], "."))
	default:
		return strings.ToLower(v)
	}
}

// unquoteTXT joins zone-file character strings ("a" "b" → ab) when v is
// made of them entirely; any other value is returned as it is.
func unquoteTXT(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	rest := v
	for rest != "" {
		if rest[0] != '"' {
			return v
		}
		s, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return v
		}
		u, err := strconv.Unquote(s)
		if err != nil {
			return v
		}
		b.WriteString(u)
		rest = strings.TrimLeft(rest[len(s):], " \t")
	}
	return b.String()
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
