package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
)

// listQuery is the read path measured: the first page of tenants by slug
// with the total and each tenant's partner.
const listQuery = `{ tenants(first: 50, orderBy: {field: SLUG}) { totalCount edges { node { slug name plan status seats partner { slug name } } } } }`

// listWithProvisioning is listQuery with each tenant's provisioning.
const listWithProvisioning = `{ tenants(first: 50, orderBy: {field: SLUG}) { totalCount edges { node { slug name plan status seats partner { slug name } provisioning { integration status } } } } }`

type barePartner struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type bareTenant struct {
	Slug    string       `json:"slug"`
	Name    string       `json:"name"`
	Plan    string       `json:"plan"`
	Status  string       `json:"status"`
	Seats   int          `json:"seats"`
	Partner *barePartner `json:"partner"`
}

type bareEdge struct {
	Node bareTenant `json:"node"`
}

type bareList struct {
	Data struct {
		Tenants struct {
			TotalCount int        `json:"totalCount"`
			Edges      []bareEdge `json:"edges"`
		} `json:"tenants"`
	} `json:"data"`
}

// bareHandler serves listQuery's rows as the same JSON from plain
// database/sql, without authentication: the floor a GraphQL server of the
// same query is compared with (two statements: the count and the page).
func bareHandler(pool *sql.DB, postgres bool) http.Handler {
	page := `SELECT t.slug, t.name, t.plan, t.status, t.seats, p.slug, p.name
FROM tenants t LEFT JOIN partners p ON p.id = t.partner_id ORDER BY t.slug LIMIT 50`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out bareList
		ctx := r.Context()
		if err := pool.QueryRowContext(ctx, `SELECT count(*) FROM tenants`).Scan(&out.Data.Tenants.TotalCount); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rows, err := pool.QueryContext(ctx, page)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		out.Data.Tenants.Edges = make([]bareEdge, 0, 50)
		for rows.Next() {
			var t bareTenant
			var ps, pn sql.NullString
			if err := rows.Scan(&t.Slug, &t.Name, &t.Plan, &t.Status, &t.Seats, &ps, &pn); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if ps.Valid {
				t.Partner = &barePartner{Slug: ps.String, Name: pn.String}
			}
			out.Data.Tenants.Edges = append(out.Data.Tenants.Edges, bareEdge{Node: t})
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&out)
	})
}
