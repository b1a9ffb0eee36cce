package audit

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// appendCanonicalJSON appends the canonical form of the JSON text raw to b
// (empty or blank text is null), as canonicalRaw does, and reports whether
// it could. It reads raw in one pass without building generic values:
// strings without escapes and short integers are copied as they are, and
// object members are written in place and reordered only when they are not
// in order already (PostgreSQL's jsonb orders keys by length first). Text
// it does not handle this way (invalid JSON, duplicate keys, deep nesting)
// reports false with b unchanged; canonicalRaw then decides, so both ways
// give the same bytes and the same errors (FuzzCanonicalFast checks this).
func appendCanonicalJSON(b, raw []byte) ([]byte, bool) {
	p := canonParser{src: raw}
	p.skipSpace()
	if p.i == len(raw) {
		return append(b, "null"...), true
	}
	out, ok := p.value(b, 0)
	if !ok {
		return b, false
	}
	p.skipSpace()
	if p.i != len(raw) {
		return b, false
	}
	return out, true
}

// appendCanonicalMeta appends the canonical form of the JSON text raw to b
// (appendCanonicalJSON, or canonicalRaw for what it leaves).
func appendCanonicalMeta(b, raw []byte) ([]byte, error) {
	if out, ok := appendCanonicalJSON(b, raw); ok {
		return out, nil
	}
	c, err := canonicalRaw(raw)
	if err != nil {
		return b, err
	}
	return append(b, c...), nil
}

// maxCanonDepth bounds the nesting the fast path follows.
const maxCanonDepth = 64

type canonParser struct {
	src []byte
	i   int
}

func (p *canonParser) skipSpace() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value appends the canonical form of the value at p.i.
func (p *canonParser) value(b []byte, depth int) ([]byte, bool) {
	if p.i >= len(p.src) || depth > maxCanonDepth {
		return b, false
	}
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object(b, depth)
	case c == '[':
		return p.array(b, depth)
	case c == '"':
		return p.str(b)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(b)
	case c == 't':
		return p.literal(b, "true")
	case c == 'f':
		return p.literal(b, "false")
	case c == 'n':
		return p.literal(b, "null")
	}
	return b, false
}

func (p *canonParser) literal(b []byte, lit string) ([]byte, bool) {
	if !bytes.HasPrefix(p.src[p.i:], []byte(lit)) {
		return b, false
	}
	p.i += len(lit)
	return append(b, lit...), true
}

// str appends the string at p.i. A string without escapes is valid UTF-8
// copied as it is (appendString would write the same bytes); one with
// escapes is decoded as encoding/json decodes it and written again.
func (p *canonParser) str(b []byte) ([]byte, bool) {
	start := p.i
	j := start + 1
	plain := true
	for ; j < len(p.src); j++ {
		c := p.src[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			j++ // the escaped byte is never the closing quote
			continue
		}
		if c < 0x20 {
			return b, false
		}
	}
	if j >= len(p.src) {
		return b, false
	}
	body := p.src[start+1 : j]
	p.i = j + 1
	if plain && utf8.Valid(body) {
		b = append(b, '"')
		b = append(b, body...)
		return append(b, '"'), true
	}
	var s string
	if err := json.Unmarshal(p.src[start:j+1], &s); err != nil {
		return b, false
	}
	return appendString(b, s), true
}

// number appends the number at p.i: an integer of at most 15 digits (other
// than -0) is exact as a double and written as it is; any other literal
// takes appendNumber.
func (p *canonParser) number(b []byte) ([]byte, bool) {
	start := p.i
	i := p.i
	if p.src[i] == '-' {
		i++
	}
	digits := i
	switch {
	case i < len(p.src) && p.src[i] == '0':
		i++
	case i < len(p.src) && p.src[i] >= '1' && p.src[i] <= '9':
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
	default:
		return b, false
	}
	integer := true
	if i < len(p.src) && p.src[i] == '.' {
		integer = false
		i++
		n := i
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		if i == n {
			return b, false
		}
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		integer = false
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		n := i
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		if i == n {
			return b, false
		}
	}
	lit := p.src[start:i]
	p.i = i
	if integer && i-digits <= 15 && string(lit) != "-0" {
		return append(b, lit...), true
	}
	return appendNumber(b, string(lit)), true
}

func (p *canonParser) array(b []byte, depth int) ([]byte, bool) {
	p.i++ // [
	b = append(b, '[')
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		return append(b, ']'), true
	}
	for n := 0; ; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		p.skipSpace()
		var ok bool
		if b, ok = p.value(b, depth+1); !ok {
			return b, false
		}
		p.skipSpace()
		if p.i >= len(p.src) {
			return b, false
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return append(b, ']'), true
		default:
			return b, false
		}
	}
}

// member is one written object member: its key as it sorts and the span
// of b holding `"key":value`.
type member struct {
	key        []byte
	start, end int
}

// object appends the object at p.i with its members in key order. Keys
// without escapes sort by their bytes, which is how Go orders the decoded
// strings canonicalRaw sorts; an escaped key or a duplicate key leaves the
// object to canonicalRaw.
func (p *canonParser) object(b []byte, depth int) ([]byte, bool) {
	p.i++ // {
	open := len(b)
	b = append(b, '{')
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		return append(b, '}'), true
	}
	var stack [16]member
	ms := stack[:0]
	sorted := true
	for {
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			return b, false
		}
		keyStart := p.i + 1
		if len(ms) > 0 {
			b = append(b, ',')
		}
		start := len(b)
		var ok bool
		if b, ok = p.str(b); !ok {
			return b, false
		}
		key := p.src[keyStart : p.i-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return b, false
		}
		if len(ms) > 0 {
			switch c := bytes.Compare(ms[len(ms)-1].key, key); {
			case c == 0:
				return b, false
			case c > 0:
				sorted = false
			}
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return b, false
		}
		p.i++
		b = append(b, ':')
		p.skipSpace()
		if b, ok = p.value(b, depth+1); !ok {
			return b, false
		}
		ms = append(ms, member{key: key, start: start, end: len(b)})
		p.skipSpace()
		if p.i >= len(p.src) {
			return b, false
		}
		if p.src[p.i] == '}' {
			p.i++
			break
		}
		if p.src[p.i] != ',' {
			return b, false
		}
		p.i++
	}
	if !sorted {
		slices.SortFunc(ms, func(x, y member) int { return bytes.Compare(x.key, y.key) })
		for k := 1; k < len(ms); k++ {
			if bytes.Equal(ms[k-1].key, ms[k].key) {
				return b, false
			}
		}
		written := slices.Clone(b[open+1:])
		b = b[:open+1]
		for k, m := range ms {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, written[m.start-open-1:m.end-open-1]...)
		}
	}
	return append(b, '}'), true
}
