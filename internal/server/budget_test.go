package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
)

// gqlTokens counts the document's tokens with the reference lexer; ok is
// false when the lexer rejects the document.
func gqlTokens(doc string) (n int, ok bool) {
	lx := lexer.New(&ast.Source{Input: doc})
	for {
		tok, err := lx.ReadToken()
		if err != nil {
			return n, false
		}
		if tok.Kind == lexer.EOF {
			return n, true
		}
		if tok.Kind != lexer.Comment {
			n++
		}
	}
}

// FuzzBudgetCheck: the scanner never panics, and on a document the
// reference lexer accepts it never counts fewer tokens than there are,
// so no document slips past the budget by its shape.
func FuzzBudgetCheck(f *testing.F) {
	for _, seed := range []string{
		`{ me { email } }`, `query Q($a: Int = -1.5e3) { t(first: $a) @skip(if: false) { ...F ... on T { x } } } fragment F on T { y }`,
		`{ a(s: "x\"y", b: """block "" \""" text""") }`, "# comment\n{ a }", "\ufeff{ a }", `{ a(f: [1, 2, {x: [3]}]) }`,
		strings.Repeat("...F ", 50), strings.Repeat("{", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		n, ok := gqlTokens(doc)
		if !ok {
			_ = SignedInBudget.Check(doc)
			return
		}
		if n == 0 {
			return
		}
		err := Budget{Tokens: n - 1, Spreads: 1 << 30, Nesting: 1 << 30}.Check(doc)
		var be *BudgetError
		if !errors.As(err, &be) || be.What != "tokens" {
			t.Fatalf("document of %d tokens passed a budget of %d: %q (%v)", n, n-1, doc, err)
		}
	})
}

// TestBudgetCheck pins the counts of each budget.
func TestBudgetCheck(t *testing.T) {
	b := Budget{Tokens: 100, Spreads: 2, Nesting: 3}
	for _, tc := range []struct {
		doc, what string
	}{
		{`{ a { b } }`, ""},
		{`{ ...F ...G }`, ""},
		{`{ ...F ...G ... on Q { a } }`, "fragment spreads"},
		{`{ a { b { c { d } } } }`, "levels of nesting"},
		{`{ a(x: [[{y: 1}]]) }`, "levels of nesting"},
		{`{ a(s: "{{{{{{ ... ... ...") }`, ""},
		{"{ a # {{{{ ... ... ...\n }", ""},
		{"{ " + strings.Repeat("a ", 100) + "}", "tokens"},
	} {
		err := b.Check(tc.doc)
		var be *BudgetError
		got := ""
		if errors.As(err, &be) {
			got = be.What
		}
		if got != tc.what {
			t.Errorf("%q: %v, want %q", tc.doc, err, tc.what)
		}
	}
}
