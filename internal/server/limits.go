package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/viewer"
)

// Limits that reject hostile queries before they run.
const (
	MaxDepth      = 12
	MaxComplexity = 5000
	MaxPageSize   = 100
	// DefaultPageSize applies when a connection is asked for without first/last.
	DefaultPageSize = 50
)

// depthLimit rejects operations nested deeper than max (fragments are
// followed; introspection is exempt because its shape is fixed).
type depthLimit struct{ max int }

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, 0, d.max); depth > d.max {
		return codedError(CodeDepthLimitExceeded, fmt.Sprintf("query is nested too deeply: depth > %d", d.max))
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, depth, max int) int {
	if depth > max {
		return depth
	}
	deepest := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.Name) > 1 && s.Name[:2] == "__" {
				continue
			}
			d = selectionDepth(s.SelectionSet, depth+1, max)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, max)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, max)
			}
		}
		if d > deepest {
			deepest = d
		}
	}
	return deepest
}

// fieldGuard requires a viewer for every root field but __typename,
// refuses introspection (__schema, __type) to anonymous callers and, with
// g.DisableIntrospection, to everyone, and caps connection page sizes
// (first/last) at MaxPageSize, defaulting to DefaultPageSize when neither
// is given.
func fieldGuard(g Guards) graphql.FieldMiddleware {
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		if err := guardRoot(ctx, g); err != nil {
			return nil, err
		}
		return guardPage(ctx, next)
	}
}

// guardRoot applies the viewer and introspection rules to root fields.
func guardRoot(ctx context.Context, g Guards) error {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !isRoot(fc.Object) || fc.Field.Name == "__typename" {
		return nil
	}
	introspection := fc.Field.Name == "__schema" || fc.Field.Name == "__type"
	if introspection && g.DisableIntrospection {
		return apperr.New(apperr.Forbidden, "introspection is disabled on this server")
	}
	if viewer.FromContext(ctx) == nil {
		if introspection {
			return apperr.New(apperr.Unauthenticated, "introspection requires authentication: send an OIDC bearer token")
		}
		return apperr.New(apperr.Unauthenticated, "authentication required: send an OIDC bearer token")
	}
	return nil
}

// guardPage caps and defaults connection page sizes.
func guardPage(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Args != nil {
		if fc.Field.Definition != nil && strings.HasSuffix(fc.Field.Definition.Type.Name(), "Connection") {
			first, _ := fc.Args["first"].(*int)
			last, _ := fc.Args["last"].(*int)
			if first == nil && last == nil {
				n := DefaultPageSize
				fc.Args["first"] = &n
			}
		}
		for _, name := range []string{"first", "last"} {
			if n, ok := fc.Args[name].(*int); ok && n != nil {
				if *n < 0 || *n > MaxPageSize {
					return nil, apperr.Invalid(name, "must be between 0 and %d", MaxPageSize)
				}
			}
		}
	}
	return next(ctx)
}

func isRoot(object string) bool {
	return object == "Query" || object == "Mutation" || object == "Subscription"
}
