package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is the canonical form of a time: UTC with exactly six
// fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Entry is one chained audit event as the chain sees it: every field that
// the hash covers, plus the hash itself. It is also one line of an export.
type Entry struct {
	Seq          int64
	PrevHash     string
	Hash         string
	At           time.Time
	Source       string
	ExternalID   *string
	ActorType    string
	ActorID      string
	ActorEmail   string
	ActorIP      string
	Action       string
	Outcome      string
	ResourceType string
	ResourceID   string
	ResourceName string
	TenantID     *int64
	TenantSlug   string
	PartnerID    *int64
	PartnerSlug  string
	// Metadata is the event's metadata as JSON text (any form; it is
	// canonicalised when hashed), or nil for none.
	Metadata json.RawMessage
	// Personal holds the seals of the personal fields of an event chained
	// in the sealed format (an empty map when it has none), keyed by path;
	// nil for a legacy event. See "Personal data".
	Personal map[string]Seal
}

// Canonical returns the canonical JSON of e without its hash: the bytes whose
// sha256 is e's hash. See the package documentation for the exact form. For
// a sealed event (Personal not nil) every personal value is replaced by its
// commitment and the member "format":2 is added; an event whose seals do not
// fit its fields fails with ErrSeal.
func Canonical(e Entry) ([]byte, error) {
	return appendCanonical(make([]byte, 0, 768), e)
}

// appendCanonical appends Canonical(e) to b.
func appendCanonical(b []byte, e Entry) ([]byte, error) {
	if e.Personal != nil {
		v, err := sealedView(e)
		if err != nil {
			return nil, fmt.Errorf("audit: canonical JSON of seq %d: %w", e.Seq, err)
		}
		return v.appendJSON(b, false, SealedFormat, nil)
	}
	return e.appendJSON(b, false, 0, nil)
}

// HashEntry returns the lowercase hex sha256 of Canonical(e).
func HashEntry(e Entry) (string, error) {
	b, err := Canonical(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// hashIs reports whether sum, written as lowercase hex, is h.
func hashIs(sum [sha256.Size]byte, h string) bool {
	var x [2 * sha256.Size]byte
	hex.Encode(x[:], sum[:])
	return string(x[:]) == h
}

// MarshalLine returns e as one export line (without the newline): the
// canonical JSON with the "hash" member added in its sorted place. A sealed
// event's line carries its values as they are (ErasedValue once erased),
// "format":2 and the member "personal" with its seals (MarshalPersonal),
// so the line can be verified offline.
func MarshalLine(e Entry) ([]byte, error) {
	if e.Personal != nil {
		return e.appendJSON(make([]byte, 0, 1024), true, SealedFormat, e.Personal)
	}
	return e.appendJSON(make([]byte, 0, 600), true, 0, nil)
}

// appendJSON writes e's members in sorted order; format > 0 adds
// "format", personal (not nil) adds "personal".
func (e Entry) appendJSON(b []byte, withHash bool, format int, personal map[string]Seal) ([]byte, error) {
	var err error
	str := func(k, v string) {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, v)
	}
	optStr := func(k string, v *string) {
		if v == nil {
			b = append(b, ',')
			b = appendString(b, k)
			b = append(b, ":null"...)
			return
		}
		str(k, *v)
	}
	optInt := func(k string, v *int64) {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		if v == nil {
			b = append(b, "null"...)
			return
		}
		b = strconv.AppendInt(b, *v, 10)
	}
	b = append(b, '{')
	b = appendString(b, "action")
	b = append(b, ':')
	b = appendString(b, e.Action)
	str("actorEmail", e.ActorEmail)
	str("actorId", e.ActorID)
	str("actorIp", e.ActorIP)
	str("actorType", e.ActorType)
	b = append(b, `,"at":"`...)
	b = appendTime(b, e.At)
	b = append(b, '"')
	optStr("externalId", e.ExternalID)
	if format > 0 {
		b = append(b, `,"format":`...)
		b = strconv.AppendInt(b, int64(format), 10)
	}
	if withHash {
		str("hash", e.Hash)
	}
	b = append(b, `,"metadata":`...)
	if b, err = appendCanonicalMeta(b, e.Metadata); err != nil {
		return nil, fmt.Errorf("audit: canonical metadata of seq %d: %w", e.Seq, err)
	}
	str("outcome", e.Outcome)
	optInt("partnerId", e.PartnerID)
	str("partnerSlug", e.PartnerSlug)
	if personal != nil {
		b = append(b, `,"personal":`...)
		b = appendPersonal(b, personal)
	}
	str("prevHash", e.PrevHash)
	str("resourceId", e.ResourceID)
	str("resourceName", e.ResourceName)
	str("resourceType", e.ResourceType)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	str("source", e.Source)
	optInt("tenantId", e.TenantID)
	str("tenantSlug", e.TenantSlug)
	b = append(b, '}')
	return b, nil
}

// line is the decoded shape of an export line.
type line struct {
	Action       *string         `json:"action"`
	ActorEmail   string          `json:"actorEmail"`
	ActorID      string          `json:"actorId"`
	ActorIP      string          `json:"actorIp"`
	ActorType    string          `json:"actorType"`
	At           *string         `json:"at"`
	ExternalID   *string         `json:"externalId"`
	Format       *int            `json:"format"`
	Hash         *string         `json:"hash"`
	Metadata     json.RawMessage `json:"metadata"`
	Outcome      string          `json:"outcome"`
	PartnerID    *int64          `json:"partnerId"`
	PartnerSlug  string          `json:"partnerSlug"`
	Personal     json.RawMessage `json:"personal"`
	PrevHash     *string         `json:"prevHash"`
	ResourceID   string          `json:"resourceId"`
	ResourceName string          `json:"resourceName"`
	ResourceType string          `json:"resourceType"`
	Seq          *int64          `json:"seq"`
	Source       string          `json:"source"`
	TenantID     *int64          `json:"tenantId"`
	TenantSlug   string          `json:"tenantSlug"`
}

// ParseLine parses one export line (see MarshalLine). It requires action,
// at, hash, prevHash and seq, rejects unknown members, and checks the forms
// of seq (≥ 1), at (TimeLayout) and the hashes (64 lowercase hex digits;
// prevHash may be empty). It does not check the hash: that is Verify's job.
func ParseLine(data []byte) (Entry, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Entry{}, fmt.Errorf("audit: parse event line: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("audit: parse event line: trailing data")
	}
	if l.Action == nil || l.At == nil || l.Hash == nil || l.PrevHash == nil || l.Seq == nil {
		return Entry{}, errors.New("audit: parse event line: action, at, hash, prevHash and seq are required")
	}
	if *l.Seq < 1 {
		return Entry{}, fmt.Errorf("audit: parse event line: seq %d is not positive", *l.Seq)
	}
	at, err := time.Parse(TimeLayout, *l.At)
	if err != nil || at.Format(TimeLayout) != *l.At {
		return Entry{}, fmt.Errorf("audit: parse event line: at %q is not in the form %s", *l.At, TimeLayout)
	}
	if !isHash(*l.Hash) {
		return Entry{}, fmt.Errorf("audit: parse event line: hash %q is not 64 lowercase hex digits", *l.Hash)
	}
	if *l.PrevHash != "" && !isHash(*l.PrevHash) {
		return Entry{}, fmt.Errorf("audit: parse event line: prevHash %q is not 64 lowercase hex digits", *l.PrevHash)
	}
	var personal map[string]Seal
	switch {
	case l.Format == nil:
		if l.Personal != nil {
			return Entry{}, errors.New("audit: parse event line: personal without format")
		}
	case *l.Format == SealedFormat:
		if l.Personal == nil || string(l.Personal) == "null" {
			return Entry{}, errors.New("audit: parse event line: a sealed line needs personal")
		}
		if personal, err = ParsePersonal(l.Personal); err != nil {
			return Entry{}, fmt.Errorf("audit: parse event line: %w", err)
		}
	default:
		return Entry{}, fmt.Errorf("audit: parse event line: format %d is not %d", *l.Format, SealedFormat)
	}
	var meta json.RawMessage
	if len(l.Metadata) > 0 && string(l.Metadata) != "null" {
		c, err := appendCanonicalMeta(nil, l.Metadata)
		if err != nil {
			return Entry{}, fmt.Errorf("audit: parse event line: metadata: %w", err)
		}
		meta = c
	}
	return Entry{
		Seq: *l.Seq, PrevHash: *l.PrevHash, Hash: *l.Hash, At: at,
		Source: l.Source, ExternalID: l.ExternalID,
		ActorType: l.ActorType, ActorID: l.ActorID, ActorEmail: l.ActorEmail, ActorIP: l.ActorIP,
		Action: *l.Action, Outcome: l.Outcome,
		ResourceType: l.ResourceType, ResourceID: l.ResourceID, ResourceName: l.ResourceName,
		TenantID: l.TenantID, TenantSlug: l.TenantSlug, PartnerID: l.PartnerID, PartnerSlug: l.PartnerSlug,
		Metadata: meta, Personal: personal,
	}, nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// canonicalRaw returns the canonical form of the JSON text raw; empty or
// absent text is null.
func canonicalRaw(raw []byte) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("decode JSON: trailing data")
	}
	return appendValue(nil, v)
}

// appendValue appends the canonical JSON of a value decoded with UseNumber.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case json.Number:
		return appendNumber(b, string(x)), nil
	case string:
		return appendString(b, x), nil
	case []any:
		b = append(b, '[')
		for i, el := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, el); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	default:
		return nil, fmt.Errorf("unexpected JSON value of type %T", v)
	}
}

// appendTime appends t in TimeLayout, as t.UTC().Format(TimeLayout)
// would, without the layout's interpretation.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	digits := func(b []byte, v, n int) []byte {
		var x [6]byte
		for i := n - 1; i >= 0; i-- {
			x[i] = byte('0' + v%10)
			v /= 10
		}
		return append(b, x[:n]...)
	}
	b = digits(b, year, 4)
	b = append(b, '-')
	b = digits(b, int(month), 2)
	b = append(b, '-')
	b = digits(b, day, 2)
	b = append(b, 'T')
	b = digits(b, hour, 2)
	b = append(b, ':')
	b = digits(b, minute, 2)
	b = append(b, ':')
	b = digits(b, sec, 2)
	b = append(b, '.')
	b = digits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendNumber writes the IEEE-754 double nearest to lit as the shortest
// decimal that round-trips: plain notation when 1e-6 ≤ |x| < 1e21 (and for
// zero, written 0), otherwise d[.ddd]e±x without leading exponent zeros. A
// literal that does not fit a double is written as it is.
func appendNumber(b []byte, lit string) []byte {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, lit...)
	}
	if f == 0 {
		return append(b, '0')
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	// Drop a leading zero of a two-digit exponent: 1e-07 → 1e-7.
	if n := len(s); n >= 4 && s[n-4] == 'e' && s[n-2] == '0' {
		s = s[:n-2] + s[n-1:]
	}
	return append(b, s...)
}

// plainByte marks the bytes appendString writes as they are: printable
// ASCII other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string: '"' and '\' escaped with a
// backslash, code points below U+0020 as \u00xx (lowercase hex), every
// other code point as its literal UTF-8 bytes; invalid UTF-8 bytes become
// U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		// Copy the run of bytes written as they are in one append.
		j := i
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
