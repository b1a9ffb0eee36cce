package server

import (
	"encoding/json"
	"unicode/utf8"
)

// leaf stands for a scalar JSON value (not null) in a skimmed document.
type leaf struct{}

// skimJSON decodes the shape of a JSON document for actualCost: objects
// as map[string]any, arrays as []any, null as nil and every other scalar
// as leaf{}, without building strings or numbers. Whatever encoding/json
// decodes, it decodes to the same shape (FuzzSkimJSON checks this); it
// reports false for text that is not one JSON value, though it does not
// check the escapes and UTF-8 inside string values (the response encoder
// writes valid JSON; on false actualCost charges nothing).
func skimJSON(data []byte) (any, bool) {
	s := skimmer{b: data}
	v, ok := s.value(0)
	if !ok {
		return nil, false
	}
	s.space()
	return v, s.i == len(s.b)
}

// maxSkimDepth bounds the nesting followed, as encoding/json's limit does.
const maxSkimDepth = 10000

type skimmer struct {
	b []byte
	i int
}

func (s *skimmer) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *skimmer) value(depth int) (any, bool) {
	s.space()
	if s.i >= len(s.b) || depth > maxSkimDepth {
		return nil, false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		_, _, ok := s.str()
		return leaf{}, ok
	case c == 't':
		return leaf{}, s.lit("true")
	case c == 'f':
		return leaf{}, s.lit("false")
	case c == 'n':
		return nil, s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return leaf{}, s.number()
	}
	return nil, false
}

func (s *skimmer) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// str skips the string at s.i and returns its body and whether it holds
// escapes.
func (s *skimmer) str() ([]byte, bool, bool) {
	start := s.i + 1
	escaped := false
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], escaped, true
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

func (s *skimmer) number() bool {
	i := s.i
	if s.b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s.b) && s.b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	s.i = i
	return true
}

func (s *skimmer) array(depth int) (any, bool) {
	s.i++
	out := []any{}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return out, true
	}
	for {
		v, ok := s.value(depth + 1)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		s.space()
		if s.i >= len(s.b) {
			return nil, false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return out, true
		default:
			return nil, false
		}
	}
}

func (s *skimmer) object(depth int) (any, bool) {
	s.i++
	out := map[string]any{}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return out, true
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return nil, false
		}
		keyStart := s.i
		body, escaped, ok := s.str()
		if !ok {
			return nil, false
		}
		var key string
		if escaped || !utf8.Valid(body) {
			if err := json.Unmarshal(s.b[keyStart:s.i], &key); err != nil {
				return nil, false
			}
		} else {
			key = string(body)
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return nil, false
		}
		s.i++
		v, ok := s.value(depth + 1)
		if !ok {
			return nil, false
		}
		out[key] = v
		s.space()
		if s.i >= len(s.b) {
			return nil, false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return out, true
		default:
			return nil, false
		}
	}
}
