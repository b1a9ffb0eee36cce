package server

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// pagedComplexity makes a connection field cost its page size times its
// children, so one query cannot ask for 100 × 100 × … rows under the fixed
// complexity limit. A connection without first/last costs DefaultPageSize
// (the size fieldGuard gives it).
type pagedComplexity struct {
	graphql.ExecutableSchema
	connections map[string]bool // "Type.field"
}

func newPagedComplexity(es graphql.ExecutableSchema) pagedComplexity {
	p := pagedComplexity{ExecutableSchema: es, connections: map[string]bool{}}
	for name, def := range es.Schema().Types {
		for _, f := range def.Fields {
			if strings.HasSuffix(f.Type.Name(), "Connection") {
				p.connections[name+"."+f.Name] = true
			}
		}
	}
	return p
}

func (p pagedComplexity) Complexity(ctx context.Context, typeName, field string, child int, args map[string]any) (int, bool) {
	if !p.connections[typeName+"."+field] {
		return p.ExecutableSchema.Complexity(ctx, typeName, field, child, args)
	}
	n := max(pageArg(args["first"]), pageArg(args["last"]))
	if n <= 0 {
		n = DefaultPageSize
	}
	return 1 + n*child, true
}

func pageArg(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	case *int:
		if x != nil {
			return *x
		}
	}
	return 0
}
