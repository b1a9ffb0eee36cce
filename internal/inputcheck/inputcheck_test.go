package inputcheck_test

import (
	"testing"
	"unicode"

	"github.com/dezky/platform/internal/inputcheck"
)

func TestLineRefusesEveryControlCharacter(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.Is(unicode.Cc, r) {
			continue
		}
		if inputcheck.Line("a"+string(r)+"b") == nil {
			t.Errorf("Line accepts U+%04X", r)
		}
		multi := r == '\t' || r == '\n' || r == '\r'
		if err := inputcheck.Text("a" + string(r) + "b"); (err == nil) != multi {
			t.Errorf("Text(U+%04X) = %v", r, err)
		}
	}
}

func TestLineRefusesInvisibleFormatting(t *testing.T) {
	for _, r := range []rune{0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
		0x2066, 0x2067, 0x2068, 0x2069, 0x200B, 0x2060, 0x2064, 0xFEFF, 0xFFF9, 0xFFFB} {
		if inputcheck.Line("x"+string(r)) == nil || inputcheck.Text("x"+string(r)) == nil {
			t.Errorf("U+%04X accepted", r)
		}
	}
	if inputcheck.Line("bad \xff utf-8") == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

func TestLineAcceptsText(t *testing.T) {
	for _, s := range []string{"", "Acme GmbH", "Müller & Söhne", "株式会社", "👩\u200d💻", "שלום", "a\u00a0b", "x\u200cy"} {
		if err := inputcheck.Line(s); err != nil {
			t.Errorf("Line(%q) = %v", s, err)
		}
	}
}

func TestMaxLen(t *testing.T) {
	check := inputcheck.MaxLen(2)
	if check([]string{"a", "b"}) != nil || check([]string{"a", "b", "c"}) == nil || check([]string{"a\x00"}) == nil {
		t.Fatal("MaxLen(2) does not cap the list or check its entries")
	}
}
