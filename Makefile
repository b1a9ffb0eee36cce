# Dezky platform API. `make run` starts the server with the embedded
# database and demo data; `make test` runs every test (SQLite and
# PostgreSQL; a throwaway PostgreSQL cluster is started when DATABASE_URL is
# not set).

GO ?= go

.PHONY: run plugins test generate playground check-generate migration fmt vet bench bench-plugins

# The demo: provider plugins built into ./bin (where serve looks for them),
# the upstream simulators started in-process, demo data seeded once.
run: plugins
	$(GO) run ./cmd/dezky-demo serve --webhooks-allow-private

# Build every provider plugin as bin/dezky-provider-<name>.
plugins:
	@mkdir -p bin
	@for p in $$($(GO) list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./providers/...); do \
		$(GO) build -o bin/dezky-provider-$$(basename $$p) $$p || exit 1; done

test:
	$(GO) test -count=1 ./...

# Regenerate everything generated: ent (+ entgql's ent.graphql), gqlgen,
# the plugin protocol, and the playground bundle (web/playground/dist, from
# the locked npm packages; the build is byte-reproducible). Generated code
# is committed; CI fails when this changes anything.
generate:
	$(GO) run ./ent/entc.go
	$(GO) tool gqlgen generate
	$(GO) generate ./plugins/...
	$(MAKE) playground

# Bundle the playground (GraphiQL) into web/playground/dist, embedded in the
# binary: exact package versions from package-lock.json, pinned esbuild.
playground:
	cd web/playground && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

check-generate: generate
	@git diff --exit-code --stat -- . || (echo "generated code is stale: run 'make generate' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- ent graph plugins ent.graphql web/playground/dist)" || \
		(git status --porcelain --untracked-files=all -- ent graph plugins ent.graphql web/playground/dist; echo "generation created untracked files" >&2; exit 1)

# Write a new PostgreSQL migration after changing ent/schema:
#   make migration name=add_something
migration:
	@test -n "$(name)" || (echo "usage: make migration name=<what_changed>" >&2; exit 1)
	$(GO) run ./internal/db/internal/migrategen -name $(name)

fmt:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1)

vet:
	$(GO) vet ./...

# Dezky side by side with bare baselines (bare Go + SQL server, the same
# insert in a Go transaction, sha256, SQL + flags.Evaluate) on generated
# data, SQLite and a throwaway PostgreSQL cluster; prints one table with
# ratios. Arguments via BENCH_ARGS, e.g. BENCH_ARGS='-size 10000 -rounds 5'.
BENCH_ARGS ?= -size 2000
bench:
	$(GO) run ./bench $(BENCH_ARGS)

# The plugin protocol's round-trip benchmarks (plugin process vs in-process).
bench-plugins:
	$(GO) test -run '^$$' -bench . -benchtime 10000x ./plugins/...
