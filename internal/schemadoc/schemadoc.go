// Package schemadoc describes the parts of the GraphQL schema that entgql
// generates without descriptions: where-input predicates, their boolean
// combinators and edge predicates, and the values of order-field enums.
// Everything else is described where it is defined (ent field comments and
// annotations, schema.graphql); a test in graph/ checks that nothing in the
// schema is left undescribed.
//
// Describe is an entgql schema hook, run by ent/entc.go during
// `make generate`.
package schemadoc

import (
	"fmt"
	"strings"

	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"
)

// predicates maps a where-input field suffix to the phrase it stands for,
// longest suffixes first so that "NotIn" wins over "In".
var predicates = []struct{ suffix, phrase string }{
	{"ContainsFold", "contains the value, ignoring case"},
	{"EqualFold", "equals the value, ignoring case"},
	{"HasPrefix", "starts with the value"},
	{"HasSuffix", "ends with the value"},
	{"Contains", "contains the value"},
	{"NotNil", "is set"},
	{"IsNil", "is not set"},
	{"NotIn", "is none of the values"},
	{"NEQ", "does not equal the value"},
	{"GTE", "is greater than or equal to the value"},
	{"LTE", "is less than or equal to the value"},
	{"GT", "is greater than the value"},
	{"LT", "is less than the value"},
	{"In", "is one of the values"},
}

// Describe fills in missing descriptions: entity types from their ent
// schema's Comment annotation, every node's id field, the values of ent
// enums (from enumValues), where-input fields and order-field enum values.
func Describe(g *gen.Graph, s *ast.Schema) error {
	for _, n := range g.Nodes {
		t := s.Types[n.Name]
		if t == nil {
			continue
		}
		if c, ok := n.Annotations["Comment"].(map[string]any); ok && t.Description == "" {
			t.Description, _ = c["Text"].(string)
		}
		for _, f := range t.Fields {
			if f.Name == "id" && f.Description == "" {
				f.Description = "Global object id: pass it to node(id:) to fetch the object again."
			}
		}
		// entgql leaves connection edges undescribed; use the edge comment.
		for _, e := range n.Edges {
			if f := t.Fields.ForName(e.Name); f != nil && f.Description == "" {
				f.Description = e.Comment()
			}
		}
	}
	if q := s.Types["Query"]; q != nil && q.Description == "" {
		q.Description = "Reads. Everything is filtered by the caller's visibility: what you cannot see does not exist for you."
	}
	for name, t := range s.Types {
		if t.Kind == ast.Enum {
			for _, v := range t.EnumValues {
				if d, ok := enumValues[name+"."+v.Name]; ok && v.Description == "" {
					v.Description = d
				}
			}
		}
		switch {
		case t.Kind == ast.InputObject && strings.HasSuffix(name, "WhereInput"):
			describeWhere(strings.TrimSuffix(name, "WhereInput"), t)
		case t.Kind == ast.Enum && strings.HasSuffix(name, "OrderField"):
			for _, v := range t.EnumValues {
				if v.Description == "" {
					v.Description = fmt.Sprintf("Order by %s.", strings.ToLower(strings.ReplaceAll(v.Name, "_", " ")))
				}
			}
		}
	}
	return nil
}

func describeWhere(entity string, t *ast.Definition) {
	fields := map[string]bool{}
	for _, f := range t.Fields {
		fields[f.Name] = true
	}
	for _, f := range t.Fields {
		if d := whereDescription(entity, f.Name, fields); d != "" {
			// entgql marks the first field of each group "<column> field
			// predicates"; each field gets its own sentence instead.
			if f.Description == "" || strings.HasSuffix(f.Description, " field predicates") {
				f.Description = d
			}
		}
	}
}

// whereDescription is the sentence for one where-input field, "" when the
// field is not one of entgql's predicate shapes.
func whereDescription(entity, field string, fields map[string]bool) string {
	switch field {
	case "not":
		return fmt.Sprintf("Matches a %s the given condition does not match.", entity)
	case "and":
		return fmt.Sprintf("Matches a %s every given condition matches.", entity)
	case "or":
		return fmt.Sprintf("Matches a %s at least one given condition matches.", entity)
	}
	if edge, ok := strings.CutPrefix(field, "has"); ok && edge != "" && edge[0] >= 'A' && edge[0] <= 'Z' {
		name := strings.ToLower(edge[:1]) + edge[1:]
		if base, ok := strings.CutSuffix(name, "With"); ok && fields[field[:len(field)-len("With")]] {
			return fmt.Sprintf("Matches a %s with at least one %s edge matching every given condition.", entity, base)
		}
		return fmt.Sprintf("Matches a %s that has (true) or lacks (false) a %s edge.", entity, name)
	}
	for _, p := range predicates {
		if base, ok := strings.CutSuffix(field, p.suffix); ok && fields[base] {
			return fmt.Sprintf("Matches when %s %s.", base, p.phrase)
		}
	}
	return fmt.Sprintf("Matches when %s equals the value.", field)
}
