package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/internal/viewer"
)

// Budget bounds the size of a GraphQL document before it is parsed or
// validated. It is checked in one linear pass over the raw text, so a
// hostile document costs at most its length, whatever its shape.
type Budget struct {
	// Tokens caps lexical tokens (names, punctuators, literals).
	Tokens int
	// Spreads caps fragment spreads and inline fragments ("...").
	Spreads int
	// Nesting caps the depth of nested braces, brackets and parentheses.
	Nesting int
}

// Budgets of signed-in and anonymous callers. An anonymous caller can read
// __typename only, so its documents are small.
var (
	SignedInBudget  = Budget{Tokens: 20000, Spreads: 500, Nesting: 64}
	AnonymousBudget = Budget{Tokens: 1000, Spreads: 50, Nesting: 64}
)

// BudgetError reports which budget a document exceeds.
type BudgetError struct {
	What  string // "tokens", "fragment spreads" or "nesting"
	Limit int
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("document exceeds the limit of %d %s", e.Limit, e.What)
}

// Check scans doc once and returns a *BudgetError when it exceeds b. It
// does not validate the document: malformed text within the budget is
// left to the parser.
func (b Budget) Check(doc string) error {
	tokens, spreads, depth := 0, 0, 0
	count := func() error {
		tokens++
		if tokens > b.Tokens {
			return &BudgetError{What: "tokens", Limit: b.Tokens}
		}
		return nil
	}
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == 0xEF && i+2 < len(doc) && doc[i+1] == 0xBB && doc[i+2] == 0xBF:
			if c == 0xEF {
				i += 3
			} else {
				i++
			}
			continue
		case c == '#':
			for i < len(doc) && doc[i] != '\n' && doc[i] != '\r' {
				i++
			}
			continue
		case c == '"':
			i = skipString(doc, i)
		case c == '.' && i+2 < len(doc) && doc[i+1] == '.' && doc[i+2] == '.':
			spreads++
			if spreads > b.Spreads {
				return &BudgetError{What: "fragment spreads", Limit: b.Spreads}
			}
			i += 3
		case c == '{' || c == '[' || c == '(':
			depth++
			if depth > b.Nesting {
				return &BudgetError{What: "levels of nesting", Limit: b.Nesting}
			}
			i++
		case c == '}' || c == ']' || c == ')':
			if depth > 0 {
				depth--
			}
			i++
		case c >= '0' && c <= '9':
			// A run of digits; signs, points and exponents count apart,
			// so a number never counts as fewer tokens than the lexer sees.
			for i < len(doc) && doc[i] >= '0' && doc[i] <= '9' {
				i++
			}
		case isNameByte(c):
			for i < len(doc) && isNameByte(doc[i]) {
				i++
			}
		default:
			i++
		}
		if err := count(); err != nil {
			return err
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// skipString returns the index after the string starting at doc[i] (a
// quoted string with escapes, or a """block string""").
func skipString(doc string, i int) int {
	if i+2 < len(doc) && doc[i+1] == '"' && doc[i+2] == '"' {
		i += 3
		for i < len(doc) {
			switch {
			case doc[i] == '\\' && i+3 < len(doc) && doc[i+1:i+4] == `"""`:
				i += 4
			case doc[i] == '"' && i+2 < len(doc) && doc[i+1] == '"' && doc[i+2] == '"':
				return i + 3
			default:
				i++
			}
		}
		return i
	}
	i++
	for i < len(doc) {
		switch doc[i] {
		case '\\':
			i += 2
		case '"', '\n', '\r':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// budgetGuard applies the caller's Budget to every operation before it is
// parsed, whatever the transport (the HTTP middleware checks POST and GET
// bodies earlier still; WebSocket subscribe messages are checked here).
type budgetGuard struct{}

func (budgetGuard) ExtensionName() string                   { return "Budget" }
func (budgetGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (budgetGuard) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	b := SignedInBudget
	if viewer.FromContext(ctx) == nil {
		b = AnonymousBudget
	}
	if err := b.Check(p.Query); err != nil {
		code := CodeComplexityLimitExceeded
		var be *BudgetError
		if errors.As(err, &be) && be.What == "levels of nesting" {
			code = CodeDepthLimitExceeded
		}
		return codedError(code, err.Error())
	}
	return nil
}
