// Package flags owns feature flags: CRUD with a capped change history, the
// kill switch, and per-tenant evaluation.
//
// Evaluation (Evaluate) is pure and deterministic:
//
//	OFF      → false
//	ON       → true
//	TARGETED → the scope must have at least one non-empty axis, and every
//	           non-empty axis must contain the target's value
//	ROLLOUT  → the scope must match (an empty scope matches everyone) and
//	           bucket(tenantID, key) < pct
//
// bucket is the first 8 bytes of sha256("<tenantID>:<key>") read as a
// big-endian unsigned integer, modulo 100. A tenant's bucket never changes,
// so the same tenant always gets the same answer and raising pct only adds
// tenants. Scope matching is case-insensitive.
package flags

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/ent/schema/schematype"
)

// Target is what a flag is evaluated against.
type Target struct {
	TenantID    int
	TenantSlug  string
	Plan        string
	PartnerSlug string // "" for direct tenants
	Environment string
}

// Rule is the evaluated part of a flag.
type Rule struct {
	Key   string
	State flag.State
	Pct   int
	Scope schematype.FlagScope
}

// Reason says why an evaluation came out as it did, in the OpenFeature
// vocabulary (https://openfeature.dev/specification/types#resolution-reason).
type Reason string

// The reasons Explain gives.
const (
	// ReasonStatic: the flag is ON for everyone.
	ReasonStatic Reason = "STATIC"
	// ReasonDisabled: the flag is OFF (or killed) for everyone.
	ReasonDisabled Reason = "DISABLED"
	// ReasonTargetingMatch: a TARGETED flag whose scope matched the target.
	ReasonTargetingMatch Reason = "TARGETING_MATCH"
	// ReasonSplit: a ROLLOUT flag whose scope matched; the tenant's bucket
	// decided the value.
	ReasonSplit Reason = "SPLIT"
	// ReasonDefault: the target is outside the flag's scope, so it gets the
	// default, off.
	ReasonDefault Reason = "DEFAULT"
)

// Evaluate reports whether the flag is on for the target.
func Evaluate(r Rule, t Target) bool {
	on, _ := Explain(r, t)
	return on
}

// Explain evaluates the flag for the target and says why.
func Explain(r Rule, t Target) (bool, Reason) {
	switch r.State {
	case flag.StateOn:
		return true, ReasonStatic
	case flag.StateTargeted:
		if !r.Scope.Empty() && matches(r.Scope, t) {
			return true, ReasonTargetingMatch
		}
		return false, ReasonDefault
	case flag.StateRollout:
		if matches(r.Scope, t) {
			return Bucket(t.TenantID, r.Key) < r.Pct, ReasonSplit
		}
		return false, ReasonDefault
	default:
		return false, ReasonDisabled
	}
}

// Bucket returns the tenant's rollout bucket (0–99) for a flag key.
func Bucket(tenantID int, key string) int {
	sum := sha256.Sum256([]byte(strconv.Itoa(tenantID) + ":" + key))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

func matches(s schematype.FlagScope, t Target) bool {
	return axis(s.Plans, t.Plan) && axis(s.TenantSlugs, t.TenantSlug) &&
		axis(s.PartnerSlugs, t.PartnerSlug) && axis(s.Environments, t.Environment)
}

// axis matches when the axis is empty or contains v.
func axis(values []string, v string) bool {
	if len(values) == 0 {
		return true
	}
	for _, x := range values {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
