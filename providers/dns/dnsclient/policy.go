package dnsclient

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SPFTerm is one directive or modifier of an SPF record (RFC 7208).
type SPFTerm struct {
	// Qualifier is '+', '-', '~' or '?' for mechanisms ('+' when omitted),
	// zero for modifiers.
	Qualifier byte
	// Name is the lower-case mechanism (all, include, a, mx, ptr, ip4, ip6,
	// exists) or modifier name (redirect, exp, ...).
	Name string
	// Value is what follows ':' or '/' for a mechanism (including the
	// separator for CIDR-only forms, e.g. "/24") or '=' for a modifier.
	Value string
	// Modifier reports whether the term is name=value.
	Modifier bool
}

// SPF is a parsed SPF record.
type SPF struct {
	Terms []SPFTerm
}

var spfMechanisms = map[string]bool{
	"all": true, "include": true, "a": true, "mx": true, "ptr": true, "ip4": true, "ip6": true, "exists": true,
}

// ParseSPF parses a TXT value as an SPF record. It requires the "v=spf1"
// version term and rejects unknown mechanisms, mechanisms missing a required
// domain, and duplicate redirect or exp modifiers.
func ParseSPF(txt string) (SPF, error) {
	fields := strings.Fields(txt)
	if len(fields) == 0 || !strings.EqualFold(fields[0], "v=spf1") {
		return SPF{}, errors.New("not an SPF record (missing v=spf1)")
	}
	var spf SPF
	seenMod := map[string]bool{}
	for _, f := range fields[1:] {
		term, err := parseSPFTerm(f)
		if err != nil {
			return SPF{}, err
		}
		if term.Modifier && (term.Name == "redirect" || term.Name == "exp") {
			if seenMod[term.Name] {
				return SPF{}, fmt.Errorf("duplicate %s modifier", term.Name)
			}
			seenMod[term.Name] = true
		}
		spf.Terms = append(spf.Terms, term)
	}
	return spf, nil
}

func parseSPFTerm(f string) (SPFTerm, error) {
	// A modifier is name=value where name is ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
	if i := strings.IndexByte(f, '='); i > 0 && validSPFName(f[:i]) && !strings.ContainsAny(f[:i], ":/") {
		name := strings.ToLower(f[:i])
		if spfMechanisms[name] {
			return SPFTerm{}, fmt.Errorf("term %q: mechanism used as modifier", f)
		}
		return SPFTerm{Name: name, Value: f[i+1:], Modifier: true}, nil
	}
	t := SPFTerm{Qualifier: '+'}
	switch f[0] {
	case '+', '-', '~', '?':
		t.Qualifier = f[0]
		f = f[1:]
	}
	end := strings.IndexAny(f, ":/")
	name := f
	if end >= 0 {
		name, t.Value = f[:end], f[end:]
		if t.Value[0] == ':' {
			t.Value = t.Value[1:]
		}
	}
	t.Name = strings.ToLower(name)
	if !spfMechanisms[t.Name] {
		return SPFTerm{}, fmt.Errorf("unknown mechanism %q", name)
	}
	switch t.Name {
	case "all":
		if end >= 0 {
			return SPFTerm{}, errors.New("all takes no argument")
		}
	case "include", "exists":
		if t.Value == "" || strings.HasPrefix(t.Value, "/") {
			return SPFTerm{}, fmt.Errorf("%s requires a domain", t.Name)
		}
	case "ip4", "ip6":
		if t.Value == "" || strings.HasPrefix(t.Value, "/") {
			return SPFTerm{}, fmt.Errorf("%s requires an address", t.Name)
		}
	}
	return t, nil
}

func validSPFName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// Includes reports whether the record has a passing include of domain
// (qualifier '+', written or implied), compared case-insensitively and
// ignoring a trailing dot.
func (s SPF) Includes(domain string) bool {
	want := displayName(domain)
	for _, t := range s.Terms {
		if !t.Modifier && t.Name == "include" && t.Qualifier == '+' && displayName(t.Value) == want {
			return true
		}
	}
	return false
}

// Tag is one tag=value pair of a DKIM or DMARC tag list.
type Tag struct {
	Name  string
	Value string
}

// TagList is a parsed tag list (RFC 6376 section 3.2), in record order.
type TagList []Tag

// Get returns the value of tag name (names are case-sensitive).
func (l TagList) Get(name string) (string, bool) {
	for _, t := range l {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// ParseTagList parses "name=value; name=value[;]". Whitespace around names
// and values is ignored; names must be ALPHA *(ALPHA / DIGIT / "_"), appear
// once, and values must not contain control characters.
func ParseTagList(s string) (TagList, error) {
	var out TagList
	seen := map[string]bool{}
	parts := strings.Split(s, ";")
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			if i == len(parts)-1 {
				continue
			}
			return nil, errors.New("empty tag")
		}
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("tag %q has no '='", strings.TrimSpace(p))
		}
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if !validTagName(name) {
			return nil, fmt.Errorf("invalid tag name %q", name)
		}
		for j := 0; j < len(value); j++ {
			if c := value[j]; (c < ' ' && c != '\t' && c != '\r' && c != '\n') || c == 0x7f {
				return nil, fmt.Errorf("tag %s has a control character", name)
			}
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate tag %s", name)
		}
		seen[name] = true
		out = append(out, Tag{Name: name, Value: value})
	}
	return out, nil
}

func validTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// DMARC is a parsed DMARC policy record (RFC 7489).
type DMARC struct {
	// Policy is p: none, quarantine or reject.
	Policy string
	// SubdomainPolicy is sp, defaulting to Policy.
	SubdomainPolicy string
	// Percent is pct, defaulting to 100.
	Percent int
	// AggregateReports lists the rua URIs.
	AggregateReports []string
	Tags             TagList
}

// ParseDMARC parses a TXT value as a DMARC record: the first tag must be
// v=DMARC1, p must be none, quarantine or reject, sp (if present) likewise,
// and pct (if present) 0..100.
func ParseDMARC(txt string) (DMARC, error) {
	tags, err := ParseTagList(txt)
	if err != nil {
		return DMARC{}, err
	}
	if len(tags) == 0 || tags[0].Name != "v" || tags[0].Value != "DMARC1" {
		return DMARC{}, errors.New("not a DMARC record (first tag must be v=DMARC1)")
	}
	d := DMARC{Tags: tags, Percent: 100}
	p, ok := tags.Get("p")
	if !ok {
		return DMARC{}, errors.New("DMARC record has no p tag")
	}
	if d.Policy, err = dmarcPolicy(p); err != nil {
		return DMARC{}, err
	}
	d.SubdomainPolicy = d.Policy
	if sp, ok := tags.Get("sp"); ok {
		if d.SubdomainPolicy, err = dmarcPolicy(sp); err != nil {
			return DMARC{}, fmt.Errorf("sp: %w", err)
		}
	}
	if pct, ok := tags.Get("pct"); ok {
		n, err := strconv.Atoi(pct)
		if err != nil || n < 0 || n > 100 {
			return DMARC{}, fmt.Errorf("pct %q must be 0..100", pct)
		}
		d.Percent = n
	}
	if rua, ok := tags.Get("rua"); ok {
		for _, u := range strings.Split(rua, ",") {
			if u = strings.TrimSpace(u); u != "" {
				d.AggregateReports = append(d.AggregateReports, u)
			}
		}
	}
	return d, nil
}

func dmarcPolicy(p string) (string, error) {
	switch v := strings.ToLower(p); v {
	case "none", "quarantine", "reject":
		return v, nil
	default:
		return "", fmt.Errorf("policy %q must be none, quarantine or reject", p)
	}
}

// DKIMKey is a parsed DKIM key record (RFC 6376 section 3.6.1).
type DKIMKey struct {
	// KeyType is k, defaulting to "rsa".
	KeyType string
	// PublicKey is p with all whitespace removed; empty means revoked.
	PublicKey string
	Tags      TagList
}

// ParseDKIM parses a TXT value as a DKIM key record. v, when present, must
// be the first tag and equal DKIM1; p is required (it may be empty).
func ParseDKIM(txt string) (DKIMKey, error) {
	tags, err := ParseTagList(txt)
	if err != nil {
		return DKIMKey{}, err
	}
	for i, t := range tags {
		if t.Name == "v" && (i != 0 || t.Value != "DKIM1") {
			return DKIMKey{}, errors.New("v must be the first tag and equal DKIM1")
		}
	}
	p, ok := tags.Get("p")
	if !ok {
		return DKIMKey{}, errors.New("DKIM record has no p tag")
	}
	k := DKIMKey{KeyType: "rsa", PublicKey: stripSpace(p), Tags: tags}
	if kt, ok := tags.Get("k"); ok {
		k.KeyType = strings.ToLower(kt)
	}
	for i := 0; i < len(k.PublicKey); i++ {
		c := k.PublicKey[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return DKIMKey{}, errors.New("p is not base64")
		}
	}
	return k, nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
