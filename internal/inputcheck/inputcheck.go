// Package inputcheck holds the platform's rules for text and list inputs,
// shared by the ent schema (field validators) and the GraphQL boundary
// (arguments that never reach ent, such as search filters).
//
// Text is refused when it is not valid UTF-8 or contains a character that
// has no place in a stored name or value: control characters (Unicode
// category Cc, NUL included), line and paragraph separators (U+2028,
// U+2029), bidirectional formatting (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069) and other invisible format characters
// (U+200B, U+2060–U+2064, U+FEFF, U+FFF9–U+FFFB). Multi-line text (see
// Text) additionally allows tab, line feed and carriage return.
package inputcheck

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// The limits of inputs. They are part of the public contract (the README
// lists them).
const (
	// MaxString is the longest string argument accepted anywhere, in bytes.
	MaxString = 2048
	// MaxList is the longest list argument accepted anywhere.
	MaxList = 100
	// MaxDomains is the most domains a tenant may hold.
	MaxDomains = 50
	// MaxScopeList is the most entries in each list of a flag scope.
	MaxScopeList = 100
)

// ErrInvalidUTF8 is returned for text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("not valid UTF-8")

// Line checks single-line text (names, slugs, keys, e-mail addresses,
// filters): it returns an error naming the first refused character.
func Line(s string) error { return check(s, false) }

// Text checks multi-line text (descriptions, notes): like Line, but tab,
// line feed and carriage return are allowed.
func Text(s string) error { return check(s, true) }

// Lines checks every element of a list with Line.
func Lines(ss []string) error {
	for _, s := range ss {
		if err := Line(s); err != nil {
			return err
		}
	}
	return nil
}

func check(s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	for _, r := range s {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if Refused(r) {
			return fmt.Errorf("contains the control or invisible character U+%04X", r)
		}
	}
	return nil
}

// Refused reports whether r is never accepted in text.
func Refused(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r):
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, // bidi marks
		r >= 0x202A && r <= 0x202E, // bidi embeddings and overrides
		r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	case r == 0x200B, // zero-width space
		r >= 0x2060 && r <= 0x2064, // word joiner, invisible operators
		r == 0xFEFF,                // byte order mark
		r >= 0xFFF9 && r <= 0xFFFB: // interlinear annotation
		return true
	}
	return false
}

// MaxLen returns a check that refuses more than n elements.
func MaxLen(n int) func([]string) error {
	return func(ss []string) error {
		if len(ss) > n {
			return fmt.Errorf("at most %d entries", n)
		}
		return Lines(ss)
	}
}
