// Package argcheck applies the input rules of package inputcheck to every
// argument of a GraphQL operation, before any resolver runs: it is the one
// check for arguments that never reach an ent field validator (search
// filters, where inputs, slugs and keys used for look-ups).
//
// Every string, wherever it sits (an argument, an input-object field, a
// list element, given literally or through a variable), must pass
// inputcheck.Line (inputcheck.Text for the multi-line fields in
// MultiLine) and be at most inputcheck.MaxString bytes; every list at most
// inputcheck.MaxList entries. A violation answers BAD_USER_INPUT with
// extensions.field naming the offending argument or input field, and
// nothing runs.
package argcheck

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/inputcheck"
)

// MultiLine names the argument and input fields that may hold several
// lines of text.
var MultiLine = map[string]bool{"description": true, "note": true, "body": true}

// Extension is the gqlgen handler extension; install it with Use.
type Extension struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Extension{}

// ExtensionName implements graphql.HandlerExtension.
func (Extension) ExtensionName() string { return "ArgumentCheck" }

// Validate implements graphql.HandlerExtension.
func (Extension) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext checks every argument of the operation.
func (Extension) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc == nil || oc.Operation == nil {
		return nil
	}
	w := walker{vars: oc.Variables, seen: map[string]bool{}}
	if err := w.selections(oc.Operation.SelectionSet); err != nil {
		return &gqlerror.Error{Message: err.Message, Extensions: map[string]any{
			"code": string(apperr.BadUserInput), "field": err.Field,
		}}
	}
	return nil
}

type walker struct {
	vars map[string]any
	seen map[string]bool // fragments already walked
}

func (w walker) selections(set ast.SelectionSet) *apperr.Error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				if err := w.argument(a); err != nil {
					return err
				}
			}
			if err := w.selections(s.SelectionSet); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := w.selections(s.SelectionSet); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || w.seen[s.Name] {
				continue
			}
			w.seen[s.Name] = true
			if err := w.selections(s.Definition.SelectionSet); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w walker) argument(a *ast.Argument) *apperr.Error {
	if a.Value == nil {
		return nil
	}
	v, err := a.Value.Value(w.vars)
	if err != nil {
		// Validation has already resolved every variable; a value that
		// still does not resolve is refused rather than skipped.
		return apperr.Invalid(a.Name, "invalid value")
	}
	return Value(a.Name, v)
}

// Value checks one argument value named field (a string, list or input
// object as decoded from JSON or a GraphQL literal) and everything inside
// it; the error names the innermost field.
func Value(field string, v any) *apperr.Error {
	switch x := v.(type) {
	case string:
		if len(x) > inputcheck.MaxString {
			return apperr.Invalid(field, "at most %d bytes", inputcheck.MaxString)
		}
		check := inputcheck.Line
		if MultiLine[field] {
			check = inputcheck.Text
		}
		if err := check(x); err != nil {
			return apperr.Invalid(field, "%v", err)
		}
	case []any:
		if len(x) > inputcheck.MaxList {
			return apperr.Invalid(field, "at most %d entries", inputcheck.MaxList)
		}
		for _, e := range x {
			if err := Value(field, e); err != nil {
				return err
			}
		}
	case []string:
		if len(x) > inputcheck.MaxList {
			return apperr.Invalid(field, "at most %d entries", inputcheck.MaxList)
		}
		for _, e := range x {
			if err := Value(field, e); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if err := Value(k, e); err != nil {
				return err
			}
		}
	}
	// Numbers, booleans and null carry no text.
	return nil
}
