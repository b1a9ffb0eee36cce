// Package deps pins modules that are used by packages under construction.
package deps

import (
	_ "ariga.io/atlas/sql/migrate"
	_ "entgo.io/contrib/entgql"
	_ "entgo.io/ent"
	_ "entgo.io/ent/entc/gen"
	_ "github.com/99designs/gqlgen/graphql"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/lib/pq"
	_ "github.com/miekg/dns"
	_ "github.com/stripe/stripe-go/v76"
	_ "github.com/vektah/gqlparser/v2"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite"
)
