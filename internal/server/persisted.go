package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodePersistedQueryNotAllowed refuses, in allow-list mode, an operation
// that is not in the persisted-query manifest.
const CodePersistedQueryNotAllowed = "PERSISTED_QUERY_NOT_ALLOWED"

// PersistedQueries is a manifest of known operations by SHA-256 hash (hex
// of the operation text, as automatic persisted queries compute it).
type PersistedQueries struct {
	byHash map[string]string
	// Only refuses every operation that is not in the manifest.
	Only bool
}

// Len reports how many operations the manifest holds.
func (p *PersistedQueries) Len() int {
	if p == nil {
		return 0
	}
	return len(p.byHash)
}

// manifest is the persisted-query manifest format Apollo's tooling
// generates (format apollo-persisted-query-manifest, version 1).
type manifest struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Operations []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
		Body string `json:"body"`
	} `json:"operations"`
}

// ParsePersistedQueries reads a manifest. Every operation's id must be the
// SHA-256 of its body, so a hash always names exactly the text it stands for.
func ParsePersistedQueries(data []byte) (*PersistedQueries, error) {
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("persisted-query manifest: %w", err)
	}
	if m.Format != "apollo-persisted-query-manifest" || m.Version != 1 {
		return nil, fmt.Errorf("persisted-query manifest: want format apollo-persisted-query-manifest version 1, got %q version %d", m.Format, m.Version)
	}
	p := &PersistedQueries{byHash: make(map[string]string, len(m.Operations))}
	for i, op := range m.Operations {
		if op.Body == "" {
			return nil, fmt.Errorf("persisted-query manifest: operation %d (%q) has no body", i, op.Name)
		}
		if h := hashQuery(op.Body); !strings.EqualFold(op.ID, h) {
			return nil, fmt.Errorf("persisted-query manifest: operation %d (%q): id %q is not the SHA-256 of its body (%s)", i, op.Name, op.ID, h)
		}
		p.byHash[hashQuery(op.Body)] = op.Body
	}
	return p, nil
}

// LoadPersistedQueries reads a manifest file.
func LoadPersistedQueries(path string) (*PersistedQueries, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read persisted-query manifest: %w", err)
	}
	return ParsePersistedQueries(data)
}

func hashQuery(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

// persistedGuard resolves hashes from the manifest (so clients may send
// only {"extensions":{"persistedQuery":{"version":1,"sha256Hash":…}}}) and,
// when Only is set, refuses every operation the manifest does not hold,
// whether sent as text or as an unknown hash. It runs before automatic
// persisted queries, which in allow-list mode can then only ever see
// manifest operations.
type persistedGuard struct{ p *PersistedQueries }

func (persistedGuard) ExtensionName() string                   { return "PersistedQueries" }
func (persistedGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (g persistedGuard) MutateOperationParameters(_ context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash := persistedHash(raw.Extensions)
	if raw.Query == "" && hash != "" {
		if body, ok := g.p.byHash[strings.ToLower(hash)]; ok {
			raw.Query = body
			return nil
		}
	}
	if !g.p.Only {
		return nil
	}
	if raw.Query != "" {
		if _, ok := g.p.byHash[hashQuery(raw.Query)]; ok {
			return nil
		}
	}
	return &gqlerror.Error{
		Message:    "this server only runs operations from its persisted-query manifest; send the hash of a listed operation",
		Extensions: map[string]any{"code": CodePersistedQueryNotAllowed},
	}
}

// persistedHash returns extensions.persistedQuery.sha256Hash, or "".
func persistedHash(ext map[string]any) string {
	pq, _ := ext["persistedQuery"].(map[string]any)
	h, _ := pq["sha256Hash"].(string)
	return h
}
