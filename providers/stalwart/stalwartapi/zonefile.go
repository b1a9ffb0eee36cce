package stalwartapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DNSRecord is one resource record to publish.
type DNSRecord struct {
	// Name is the fully qualified owner name, lower case, without trailing dot.
	Name string
	Type string // upper case, e.g. "MX", "TXT"
	TTL  uint32 // 0 when the zone file gave none
	// Value is the record data in presentation format. TXT values are the
	// concatenation of their character strings without quotes; host names in MX,
	// CNAME, NS, PTR and SRV data are fully qualified with a trailing dot.
	Value string
}

// maxZoneFile bounds the zone text ParseZoneFile accepts.
const maxZoneFile = 1 << 20

var rrTypes = map[string]bool{
	"A": true, "AAAA": true, "MX": true, "TXT": true, "CNAME": true, "SRV": true, "TLSA": true, "CAA": true,
	"NS": true, "SOA": true, "PTR": true, "SPF": true, "DS": true, "DNSKEY": true, "HTTPS": true, "SVCB": true,
	"SSHFP": true, "NAPTR": true,
}

var rrClasses = map[string]bool{"IN": true, "CH": true, "HS": true, "CS": true}

type zoneToken struct {
	text   string
	quoted bool
}

type zoneLine struct {
	num        int
	tokens     []zoneToken
	blankOwner bool // line started with whitespace: owner is the previous one
}

// ParseZoneFile parses BIND master-file text as produced in Stalwart's dnsZoneFile:
// $ORIGIN and $TTL directives, ";" comments, parenthesised multi-line records,
// quoted character strings (with \" and \DDD escapes), "@", relative owner names,
// blank owners (repeat the previous owner) and optional TTL/class in either order.
// origin is used until a $ORIGIN directive appears; it may be empty when every
// name is absolute.
func ParseZoneFile(zone, origin string) ([]DNSRecord, error) {
	if len(zone) > maxZoneFile {
		return nil, errors.New("zone file: too large")
	}
	lines, err := zoneLines(zone)
	if err != nil {
		return nil, err
	}
	origin = fqdn(strings.ToLower(strings.TrimSpace(origin)))
	var (
		out       []DNSRecord
		defTTL    uint32
		lastOwner string
	)
	for _, ln := range lines {
		toks := ln.tokens
		if len(toks) == 0 {
			continue
		}
		if !toks[0].quoted && !ln.blankOwner && strings.HasPrefix(toks[0].text, "$") {
			switch strings.ToUpper(toks[0].text) {
			case "$ORIGIN":
				if len(toks) != 2 || !strings.HasSuffix(toks[1].text, ".") {
					return nil, fmt.Errorf("zone file line %d: $ORIGIN needs one absolute name", ln.num)
				}
				origin = strings.ToLower(toks[1].text)
			case "$TTL":
				if len(toks) != 2 {
					return nil, fmt.Errorf("zone file line %d: $TTL needs one value", ln.num)
				}
				t, err := parseTTL(toks[1].text)
				if err != nil {
					return nil, fmt.Errorf("zone file line %d: %w", ln.num, err)
				}
				defTTL = t
			default:
				return nil, fmt.Errorf("zone file line %d: unsupported directive %s", ln.num, toks[0].text)
			}
			continue
		}
		owner := lastOwner
		if !ln.blankOwner {
			if toks[0].quoted {
				return nil, fmt.Errorf("zone file line %d: quoted owner name", ln.num)
			}
			o, err := absName(toks[0].text, origin)
			if err != nil {
				return nil, fmt.Errorf("zone file line %d: %w", ln.num, err)
			}
			owner = o
			toks = toks[1:]
		}
		if owner == "" {
			return nil, fmt.Errorf("zone file line %d: no owner name", ln.num)
		}
		lastOwner = owner
		ttl := defTTL
		typ := ""
		for len(toks) > 0 && typ == "" {
			t := toks[0]
			up := strings.ToUpper(t.text)
			switch {
			case t.quoted:
				return nil, fmt.Errorf("zone file line %d: expected record type", ln.num)
			case rrClasses[up]:
			case isTypeToken(up):
				typ = up
			case t.text != "" && t.text[0] >= '0' && t.text[0] <= '9':
				v, err := parseTTL(t.text)
				if err != nil {
					return nil, fmt.Errorf("zone file line %d: %w", ln.num, err)
				}
				ttl = v
			default:
				return nil, fmt.Errorf("zone file line %d: unknown record type %q", ln.num, t.text)
			}
			toks = toks[1:]
		}
		if typ == "" {
			return nil, fmt.Errorf("zone file line %d: missing record type", ln.num)
		}
		if len(toks) == 0 {
			return nil, fmt.Errorf("zone file line %d: %s record without data", ln.num, typ)
		}
		val, err := rdata(typ, toks, origin)
		if err != nil {
			return nil, fmt.Errorf("zone file line %d: %w", ln.num, err)
		}
		out = append(out, DNSRecord{Name: strings.TrimSuffix(owner, "."), Type: typ, TTL: ttl, Value: val})
	}
	return out, nil
}

func isTypeToken(up string) bool {
	if rrTypes[up] {
		return true
	}
	if strings.HasPrefix(up, "TYPE") && len(up) > 4 {
		_, err := strconv.ParseUint(up[4:], 10, 16)
		return err == nil
	}
	return false
}

func rdata(typ string, toks []zoneToken, origin string) (string, error) {
	switch typ {
	case "TXT", "SPF":
		var b strings.Builder
		for _, t := range toks {
			b.WriteString(t.text)
		}
		return b.String(), nil
	}
	parts := make([]string, len(toks))
	for i, t := range toks {
		if t.quoted {
			parts[i] = strconv.Quote(t.text)
		} else {
			parts[i] = t.text
		}
	}
	hostAt := -1
	switch typ {
	case "CNAME", "NS", "PTR":
		hostAt = 0
	case "MX":
		hostAt = 1
	case "SRV":
		hostAt = 3
	}
	if hostAt >= 0 {
		if len(toks) <= hostAt || toks[hostAt].quoted {
			return "", fmt.Errorf("%s record has malformed data", typ)
		}
		h, err := absName(toks[hostAt].text, origin)
		if err != nil {
			return "", err
		}
		parts[hostAt] = h
	}
	return strings.Join(parts, " "), nil
}

func absName(name, origin string) (string, error) {
	name = strings.ToLower(name)
	switch {
	case name == "@":
		if origin == "" {
			return "", errors.New("@ used without $ORIGIN")
		}
		return origin, nil
	case name == ".":
		return ".", nil
	case strings.HasSuffix(name, "."):
		return name, nil
	case origin == "":
		return "", fmt.Errorf("relative name %q without $ORIGIN", name)
	case origin == ".":
		return name + ".", nil
	}
	return name + "." + origin, nil
}

func fqdn(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// parseTTL accepts seconds or BIND units (1h30m, 2d, 1w).
func parseTTL(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	var total, cur uint64
	seen := false
	for _, r := range strings.ToLower(s) {
		if r >= '0' && r <= '9' {
			cur = cur*10 + uint64(r-'0')
			seen = true
			if cur > 1<<32 {
				return 0, fmt.Errorf("invalid TTL %q", s)
			}
			continue
		}
		mult := map[rune]uint64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[r]
		if mult == 0 || !seen {
			return 0, fmt.Errorf("invalid TTL %q", s)
		}
		total += cur * mult
		cur, seen = 0, false
		if total > 1<<32-1 {
			return 0, fmt.Errorf("invalid TTL %q", s)
		}
	}
	if seen {
		return 0, fmt.Errorf("invalid TTL %q", s)
	}
	return uint32(total), nil
}

// zoneLines splits zone text into logical lines of tokens.
func zoneLines(zone string) ([]zoneLine, error) {
	var (
		lines   []zoneLine
		cur     zoneLine
		depth   int
		lineNum = 1
		i       int
	)
	cur.num = 1
	startOfLine := true
	flush := func() {
		if len(cur.tokens) > 0 {
			lines = append(lines, cur)
		}
		cur = zoneLine{num: lineNum}
	}
	for i < len(zone) {
		c := zone[i]
		switch {
		case c == '\n':
			lineNum++
			i++
			if depth == 0 {
				flush()
				startOfLine = true
			}
			continue
		case c == ' ' || c == '\t' || c == '\r':
			if startOfLine && depth == 0 && len(cur.tokens) == 0 {
				cur.blankOwner = true
			}
			i++
		case c == ';':
			for i < len(zone) && zone[i] != '\n' {
				i++
			}
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth == 0 {
				return nil, fmt.Errorf("zone file line %d: unbalanced ')'", lineNum)
			}
			depth--
			i++
		case c == '"':
			i++
			var b strings.Builder
			closed := false
			for i < len(zone) {
				ch := zone[i]
				if ch == '"' {
					closed = true
					i++
					break
				}
				if ch == '\n' {
					lineNum++
				}
				if ch == '\\' && i+1 < len(zone) {
					if i+3 < len(zone) && isDigit(zone[i+1]) && isDigit(zone[i+2]) && isDigit(zone[i+3]) {
						v := int(zone[i+1]-'0')*100 + int(zone[i+2]-'0')*10 + int(zone[i+3]-'0')
						if v > 255 {
							return nil, fmt.Errorf("zone file line %d: invalid escape", lineNum)
						}
						b.WriteByte(byte(v))
						i += 4
						continue
					}
					b.WriteByte(zone[i+1])
					i += 2
					continue
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("zone file line %d: unterminated quoted string", lineNum)
			}
			cur.tokens = append(cur.tokens, zoneToken{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(zone) && !strings.ContainsRune(" \t\r\n;()\"", rune(zone[j])) {
				j++
			}
			cur.tokens = append(cur.tokens, zoneToken{text: zone[i:j]})
			i = j
		}
		startOfLine = false
	}
	if depth != 0 {
		return nil, errors.New("zone file: unbalanced '('")
	}
	flush()
	return lines, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
