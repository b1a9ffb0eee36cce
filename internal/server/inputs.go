package server

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/internal/apperr"
)

// Input limits that hold for every argument of every operation.
const (
	// MaxListItems caps any list input.
	MaxListItems = 100
	// MaxDomains caps a tenant's domains.
	MaxDomains = 50
)

// multiline are the input fields that may hold tabs and line breaks.
var multiline = map[string]bool{"description": true}

// listCaps are list inputs capped below MaxListItems.
var listCaps = map[string]int{"domains": MaxDomains}

// inputGuard checks every argument value of an operation, literal or
// variable, before any resolver runs: text must be valid UTF-8 without
// NUL or control characters (tab and line breaks only in descriptions),
// and lists are capped. It is the one place text and list inputs are
// validated, whatever the field; a violation answers BAD_USER_INPUT naming
// the input and changes nothing.
type inputGuard struct{}

func (inputGuard) ExtensionName() string                   { return "InputGuard" }
func (inputGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (inputGuard) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	var walk func(ast.SelectionSet) *gqlerror.Error
	seen := map[string]bool{}
	walk = func(set ast.SelectionSet) *gqlerror.Error {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				for _, a := range s.Arguments {
					v, err := a.Value.Value(oc.Variables)
					if err != nil {
						continue // left to validation
					}
					if e := checkInput(a.Name, v); e != nil {
						return e
					}
				}
				if e := walk(s.SelectionSet); e != nil {
					return e
				}
			case *ast.InlineFragment:
				if e := walk(s.SelectionSet); e != nil {
					return e
				}
			case *ast.FragmentSpread:
				if s.Definition != nil && !seen[s.Name] {
					seen[s.Name] = true
					if e := walk(s.Definition.SelectionSet); e != nil {
						return e
					}
				}
			}
		}
		return nil
	}
	// Validation has refused unused variables, so every variable is
	// checked where it is used, under the input's name.
	return walk(oc.Operation.SelectionSet)
}

// checkInput checks one input value named name (the argument or input
// field it belongs to).
func checkInput(name string, v any) *gqlerror.Error {
	switch x := v.(type) {
	case string:
		if msg := badText(x, multiline[name]); msg != "" {
			return inputError(name, msg)
		}
	case []any:
		limit := MaxListItems
		if n, ok := listCaps[name]; ok {
			limit = n
		}
		if len(x) > limit {
			return inputError(name, fmt.Sprintf("at most %d items", limit))
		}
		for _, item := range x {
			if e := checkInput(name, item); e != nil {
				return e
			}
		}
	case map[string]any:
		for k, item := range x {
			if msg := badText(k, false); msg != "" {
				return inputError(name, msg)
			}
			if e := checkInput(k, item); e != nil {
				return e
			}
		}
	}
	return nil
}

// badText describes what is wrong with s as text input, or returns "".
func badText(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if r == 0 {
			return "must not contain NUL characters"
		}
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "must not contain control characters"
		}
	}
	return ""
}

func inputError(field, msg string) *gqlerror.Error {
	e := codedError(apperr.BadUserInput, fmt.Sprintf("%s: %s", field, msg))
	e.Extensions["field"] = field
	return e
}
