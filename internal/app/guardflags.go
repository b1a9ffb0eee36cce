package app

import (
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/dezky/platform/internal/ratelimit"
	"github.com/dezky/platform/internal/server"
)

// registerGuards adds the GraphQL endpoint's limit and trust flags to fs and
// returns a function that reads them after parsing.
func registerGuards(fs *flag.FlagSet) func() (server.Guards, error) {
	maxBody := fs.String("max-body-bytes", env("DEZKY_MAX_BODY_BYTES", strconv.Itoa(server.DefaultMaxBodyBytes)), "largest accepted /query request body in bytes; larger bodies are answered 413 (env DEZKY_MAX_BODY_BYTES)")
	timeout := fs.String("request-timeout", env("DEZKY_REQUEST_TIMEOUT", server.DefaultRequestTimeout.String()), "deadline of one GraphQL HTTP request (env DEZKY_REQUEST_TIMEOUT)")
	proxies := fs.String("trusted-proxies", env("DEZKY_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/Forwarded headers are believed; empty: none (env DEZKY_TRUSTED_PROXIES)")
	introspection := fs.String("introspection", env("DEZKY_INTROSPECTION", "true"), "allow schema introspection to signed-in callers (never to anonymous ones); false turns it off (env DEZKY_INTROSPECTION)")
	return func() (server.Guards, error) {
		var g server.Guards
		n, err := strconv.ParseInt(*maxBody, 10, 64)
		if err != nil || n <= 0 {
			return g, fmt.Errorf("--max-body-bytes: want a positive number of bytes, got %q", *maxBody)
		}
		g.MaxBodyBytes = n
		d, err := time.ParseDuration(*timeout)
		if err != nil || d <= 0 {
			return g, fmt.Errorf("--request-timeout: want a positive Go duration, got %q", *timeout)
		}
		g.RequestTimeout = d
		for _, s := range splitList(*proxies) {
			p, err := parsePrefix(s)
			if err != nil {
				return g, fmt.Errorf("--trusted-proxies: %w", err)
			}
			g.TrustedProxies = append(g.TrustedProxies, p)
		}
		switch *introspection {
		case "true":
		case "false":
			g.DisableIntrospection = true
		default:
			return g, fmt.Errorf("--introspection: want true or false, got %q", *introspection)
		}
		return g, nil
	}
}

// parsePrefix parses a CIDR, or a single address as its /32 or /128.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// limits are the cost-metering and persisted-query settings of serve.
type limits struct {
	budgets   map[ratelimit.Class]ratelimit.Budget
	persisted *server.PersistedQueries
}

// registerLimits adds the rate-limit and persisted-query flags to fs and
// returns a function that reads them after parsing.
func registerLimits(fs *flag.FlagSet) func() (limits, error) {
	rates := fs.String("rate-limits", env("DEZKY_RATE_LIMITS", ratelimit.FormatBudgets(ratelimit.DefaultBudgets)), "leaky-bucket query-cost budgets per caller class as class=capacity/restore-per-second, comma-separated (classes: operator, partner, tenant, anonymous; unnamed classes keep their default); off: no limits (env DEZKY_RATE_LIMITS)")
	manifest := fs.String("persisted-queries", env("DEZKY_PERSISTED_QUERIES", ""), "persisted-query manifest (Apollo's apollo-persisted-query-manifest JSON): its operations may be sent by hash alone (env DEZKY_PERSISTED_QUERIES)")
	only := fs.String("persisted-queries-only", env("DEZKY_PERSISTED_QUERIES_ONLY", "false"), "refuse every operation that is not in the --persisted-queries manifest (env DEZKY_PERSISTED_QUERIES_ONLY)")
	return func() (limits, error) {
		var l limits
		b, err := ratelimit.ParseBudgets(*rates)
		if err != nil {
			return l, fmt.Errorf("--rate-limits: %w", err)
		}
		l.budgets = b
		strict, err := strconv.ParseBool(*only)
		if err != nil {
			return l, fmt.Errorf("--persisted-queries-only: want true or false, got %q", *only)
		}
		if *manifest != "" {
			if l.persisted, err = server.LoadPersistedQueries(*manifest); err != nil {
				return l, fmt.Errorf("--persisted-queries: %w", err)
			}
		}
		if strict {
			if l.persisted == nil {
				return l, fmt.Errorf("--persisted-queries-only needs a --persisted-queries manifest")
			}
			l.persisted.Only = true
		}
		return l, nil
	}
}
