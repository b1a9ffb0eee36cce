package stalwartapi

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// DMARCPolicy is a DMARC record (RFC 7489) in structured form.
type DMARCPolicy struct {
	Policy          string   // p: none | quarantine | reject (required)
	SubdomainPolicy string   // sp: optional
	Percent         int      // pct: 0 means "omit" (= 100)
	RUA             []string // aggregate report addresses (without "mailto:")
	RUF             []string // forensic report addresses
	ADKIM           string   // "r" or "s"; empty = omit
	ASPF            string   // "r" or "s"; empty = omit
}

var dmarcPolicies = map[string]bool{"none": true, "quarantine": true, "reject": true}

// Validate checks the policy values.
func (p DMARCPolicy) Validate() error {
	if !dmarcPolicies[p.Policy] {
		return fmt.Errorf("dmarc: invalid policy %q", p.Policy)
	}
	if p.SubdomainPolicy != "" && !dmarcPolicies[p.SubdomainPolicy] {
		return fmt.Errorf("dmarc: invalid subdomain policy %q", p.SubdomainPolicy)
	}
	if p.Percent < 0 || p.Percent > 100 {
		return fmt.Errorf("dmarc: pct %d out of range", p.Percent)
	}
	for _, a := range []string{p.ADKIM, p.ASPF} {
		if a != "" && a != "r" && a != "s" {
			return fmt.Errorf("dmarc: invalid alignment %q", a)
		}
	}
	for _, list := range [][]string{p.RUA, p.RUF} {
		for _, addr := range list {
			if _, err := mail.ParseAddress(addr); err != nil || strings.ContainsAny(addr, ",;!<> ") {
				return fmt.Errorf("dmarc: invalid report address %q", addr)
			}
		}
	}
	return nil
}

// BuildDMARC renders the TXT value for _dmarc.<domain>.
func BuildDMARC(p DMARCPolicy) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	parts := []string{"v=DMARC1", "p=" + p.Policy}
	if p.SubdomainPolicy != "" {
		parts = append(parts, "sp="+p.SubdomainPolicy)
	}
	if p.Percent != 0 && p.Percent != 100 {
		parts = append(parts, "pct="+strconv.Itoa(p.Percent))
	}
	if len(p.RUA) > 0 {
		parts = append(parts, "rua="+mailtos(p.RUA))
	}
	if len(p.RUF) > 0 {
		parts = append(parts, "ruf="+mailtos(p.RUF))
	}
	if p.ADKIM != "" {
		parts = append(parts, "adkim="+p.ADKIM)
	}
	if p.ASPF != "" {
		parts = append(parts, "aspf="+p.ASPF)
	}
	return strings.Join(parts, "; "), nil
}

func mailtos(addrs []string) string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = "mailto:" + a
	}
	return strings.Join(out, ",")
}

// ParseDMARC parses a DMARC TXT value. Unknown tags are ignored (RFC 7489 §6.3);
// "v=DMARC1" must come first and "p" must be present.
func ParseDMARC(s string) (DMARCPolicy, error) {
	var p DMARCPolicy
	tags := strings.Split(s, ";")
	first := true
	seen := map[string]bool{}
	for _, raw := range tags {
		tag := strings.TrimSpace(raw)
		if tag == "" {
			continue
		}
		k, v, ok := strings.Cut(tag, "=")
		if !ok {
			return DMARCPolicy{}, fmt.Errorf("dmarc: malformed tag %q", tag)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if first {
			if k != "v" || v != "DMARC1" {
				return DMARCPolicy{}, errors.New("dmarc: record must start with v=DMARC1")
			}
			first = false
			continue
		}
		if seen[k] {
			return DMARCPolicy{}, fmt.Errorf("dmarc: duplicate tag %q", k)
		}
		seen[k] = true
		switch k {
		case "p":
			p.Policy = strings.ToLower(v)
		case "sp":
			p.SubdomainPolicy = strings.ToLower(v)
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil {
				return DMARCPolicy{}, fmt.Errorf("dmarc: invalid pct %q", v)
			}
			p.Percent = n
		case "rua", "ruf":
			var list []string
			for _, u := range strings.Split(v, ",") {
				u = strings.TrimSpace(u)
				if len(u) < 7 || !strings.EqualFold(u[:7], "mailto:") {
					return DMARCPolicy{}, fmt.Errorf("dmarc: unsupported report URI %q", u)
				}
				addr := u[7:]
				if i := strings.IndexByte(addr, '!'); i >= 0 { // size limit suffix
					addr = addr[:i]
				}
				list = append(list, addr)
			}
			if k == "rua" {
				p.RUA = list
			} else {
				p.RUF = list
			}
		case "adkim":
			p.ADKIM = strings.ToLower(v)
		case "aspf":
			p.ASPF = strings.ToLower(v)
		}
	}
	if first {
		return DMARCPolicy{}, errors.New("dmarc: empty record")
	}
	if p.Percent == 100 {
		p.Percent = 0
	}
	if err := p.Validate(); err != nil {
		return DMARCPolicy{}, err
	}
	return p, nil
}

// ApplyDMARC returns records with every TXT at _dmarc.<domain> replaced by the
// record for p (TTL taken from the replaced record, else 3600).
func ApplyDMARC(records []DNSRecord, domain string, p DMARCPolicy) ([]DNSRecord, error) {
	val, err := BuildDMARC(p)
	if err != nil {
		return nil, err
	}
	name := "_dmarc." + NormalizeDomain(domain)
	ttl := uint32(3600)
	out := make([]DNSRecord, 0, len(records)+1)
	for _, r := range records {
		if r.Type == "TXT" && r.Name == name {
			if r.TTL != 0 {
				ttl = r.TTL
			}
			continue
		}
		out = append(out, r)
	}
	return append(out, DNSRecord{Name: name, Type: "TXT", TTL: ttl, Value: val}), nil
}
