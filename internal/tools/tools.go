// Package tools keeps the code generator's dependencies in go.mod and
// go.sum: ent/entc.go is excluded from builds (it is run by `make
// generate`), so nothing else would record what it imports.
package tools

import (
	_ "entgo.io/contrib/entgql"
	_ "entgo.io/ent/entc"
	_ "entgo.io/ent/entc/gen"
)
