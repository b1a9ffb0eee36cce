package authentikapi

import (
	"context"
	"net/http"
	"net/url"
)

// Default recovery flow bootstrap values.
const (
	DefaultRecoveryFlowSlug = "default-dezky-recovery"
)

// DefaultRecoveryStages are bound, in order 10, 20, 30, to a bootstrapped recovery flow.
var DefaultRecoveryStages = []string{
	"default-authentication-identification",
	"default-password-change-prompt",
	"default-password-change-write",
}

// RecoveryFlowSpec configures EnsureRecoveryFlow. Zero values select the defaults.
type RecoveryFlowSpec struct {
	Slug   string
	Name   string
	Title  string
	Stages []string // stage names, bound with order 10, 20, 30…
}

// RecoveryFlowResult reports what EnsureRecoveryFlow did.
type RecoveryFlowResult struct {
	Flow         Flow
	CreatedFlow  bool
	BoundStages  int  // stage bindings created by this call
	BrandUpdated bool // default brand's flow_recovery was changed
}

type stage struct {
	PK   string `json:"pk"`
	Name string `json:"name"`
}

type flowStageBinding struct {
	PK     string `json:"pk"`
	Target string `json:"target"`
	Stage  string `json:"stage"`
	Order  int    `json:"order"`
}

// Brand is an authentik brand (subset).
type Brand struct {
	BrandUUID    string  `json:"brand_uuid"`
	Domain       string  `json:"domain"`
	Default      bool    `json:"default"`
	FlowRecovery *string `json:"flow_recovery"`
}

// EnsureRecoveryFlow makes admin-issued recovery links work: it reuses an existing
// flow with designation "recovery" (or creates one with authentication "none"),
// binds the configured stages when the flow has no bindings yet, and points the
// default brand's flow_recovery at it. Every step is idempotent.
func (c *Client) EnsureRecoveryFlow(ctx context.Context, spec RecoveryFlowSpec) (RecoveryFlowResult, error) {
	slug := orDefault(spec.Slug, DefaultRecoveryFlowSlug)
	stages := spec.Stages
	if len(stages) == 0 {
		stages = DefaultRecoveryStages
	}
	var res RecoveryFlowResult

	flows, err := listAll[Flow](ctx, c, "find recovery flow", "flows/instances/", url.Values{"designation": {"recovery"}})
	if err != nil {
		return res, err
	}
	for _, f := range flows {
		if f.Designation == "recovery" && (res.Flow.PK == "" || f.Slug == slug) {
			res.Flow = f
		}
	}
	if res.Flow.PK == "" {
		body := map[string]any{
			"name":           orDefault(spec.Name, "Dezky recovery"),
			"slug":           slug,
			"title":          orDefault(spec.Title, "Reset your password"),
			"designation":    "recovery",
			"authentication": "none",
		}
		if err := c.do(ctx, "create recovery flow", http.MethodPost, "flows/instances/", nil, body, &res.Flow); err != nil {
			return res, err
		}
		res.CreatedFlow = true
	}

	bindings, err := listAll[flowStageBinding](ctx, c, "list flow bindings", "flows/bindings/", url.Values{"target": {res.Flow.PK}})
	if err != nil {
		return res, err
	}
	bound := map[string]bool{}
	for _, b := range bindings {
		if b.Target == res.Flow.PK {
			bound[b.Stage] = true
		}
	}
	if len(bound) == 0 {
		for i, name := range stages {
			st, err := c.findStage(ctx, name)
			if err != nil {
				return res, err
			}
			if bound[st.PK] {
				continue
			}
			if err := c.do(ctx, "bind recovery stage", http.MethodPost, "flows/bindings/", nil, map[string]any{
				"target": res.Flow.PK, "stage": st.PK, "order": (i + 1) * 10,
				"evaluate_on_plan": true, "re_evaluate_policies": false, "invalid_response_action": "retry",
			}, nil); err != nil {
				return res, err
			}
			bound[st.PK] = true
			res.BoundStages++
		}
	}

	brands, err := listAll[Brand](ctx, c, "find default brand", "core/brands/", url.Values{"default": {"true"}})
	if err != nil {
		return res, err
	}
	var brand *Brand
	for i := range brands {
		if brands[i].Default {
			brand = &brands[i]
			break
		}
	}
	if brand == nil {
		return res, &Error{Op: "find default brand", Kind: KindNotFound, Message: "no default brand"}
	}
	if brand.FlowRecovery == nil || *brand.FlowRecovery != res.Flow.PK {
		if err := c.do(ctx, "set brand recovery flow", http.MethodPatch, "core/brands/"+url.PathEscape(brand.BrandUUID)+"/", nil,
			map[string]any{"flow_recovery": res.Flow.PK}, nil); err != nil {
			return res, err
		}
		res.BrandUpdated = true
	}
	return res, nil
}

func (c *Client) findStage(ctx context.Context, name string) (stage, error) {
	stages, err := listAll[stage](ctx, c, "find stage", "stages/all/", url.Values{"name": {name}})
	if err != nil {
		return stage{}, err
	}
	for _, s := range stages {
		if s.Name == name {
			return s, nil
		}
	}
	return stage{}, &Error{Op: "find stage", Kind: KindNotFound, Message: "no stage named " + name}
}
