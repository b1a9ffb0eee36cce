package authentiksim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var slugRE = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// --- groups ---

func (s *Sim) listGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search := strings.ToLower(q.Get("search"))
	writeList(w, r, s.sortedGroups(), func(g *group) bool {
		return matches(q, "name", g.name) && matchesBool(q, "is_superuser", g.isSuperuser) &&
			strings.Contains(strings.ToLower(g.name), search) && s.hasMemberNamed(g, q["members_by_username"])
	}, s.renderGroup)
}

// hasMemberNamed reports whether names is empty or one of them is a member of g.
func (s *Sim) hasMemberNamed(g *group, names []string) bool {
	for _, n := range names {
		if u := s.userByName(n); u != nil && u.groups[g.pk] {
			return true
		}
	}
	return len(names) == 0
}

func (s *Sim) createGroup(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	if _, has := m["name"]; !has {
		required(w, "name")
		return
	}
	g := &group{pk: newUUID(), attributes: map[string]any{}}
	if !s.applyGroupFields(w, m, g) {
		return
	}
	g.num = s.nextGroupNum
	s.nextGroupNum++
	s.groups[g.pk] = g
	if raw, has := m["users"]; has {
		var pks []int
		if err := json.Unmarshal(raw, &pks); err != nil {
			delete(s.groups, g.pk)
			fieldError(w, "users", "Expected a list of items.")
			return
		}
		for _, pk := range pks {
			if u := s.users[pk]; u != nil {
				u.groups[g.pk] = true
			}
		}
	}
	s.recordModel("model_created", "group", g.pk, g.name)
	writeJSON(w, http.StatusCreated, s.renderGroup(g))
}

func (s *Sim) applyGroupFields(w http.ResponseWriter, m map[string]json.RawMessage, g *group) bool {
	c := *g
	if !getString(w, m, "name", &c.name) || !getBool(w, m, "is_superuser", &c.isSuperuser) ||
		!getObject(w, m, "attributes", &c.attributes) {
		return false
	}
	if c.name == "" {
		fieldError(w, "name", "This field may not be blank.")
		return false
	}
	for _, o := range s.groups {
		if o.pk != g.pk && o.name == c.name {
			fieldError(w, "name", "Group with this name already exists.")
			return false
		}
	}
	if raw, has := m["parents"]; has {
		var ps []string
		if err := json.Unmarshal(raw, &ps); err != nil {
			fieldError(w, "parents", "Expected a list of items.")
			return false
		}
		for _, p := range ps {
			if s.groups[p] == nil {
				fieldError(w, "parents", `Invalid pk "`+p+`" - object does not exist.`)
				return false
			}
		}
		c.parents = ps
	}
	*g = c
	return true
}

func (s *Sim) getGroup(w http.ResponseWriter, r *http.Request, g *group) {
	writeJSON(w, http.StatusOK, s.renderGroup(g))
}

func (s *Sim) patchGroup(w http.ResponseWriter, r *http.Request, g *group) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	if !s.applyGroupFields(w, m, g) {
		return
	}
	s.recordModel("model_updated", "group", g.pk, g.name)
	writeJSON(w, http.StatusOK, s.renderGroup(g))
}

func (s *Sim) deleteGroup(w http.ResponseWriter, r *http.Request, g *group) {
	delete(s.groups, g.pk)
	for _, u := range s.users {
		delete(u.groups, g.pk)
	}
	for id, b := range s.policyBindings {
		if b.group != nil && *b.group == g.pk {
			delete(s.policyBindings, id)
		}
	}
	s.recordModel("model_deleted", "group", g.pk, g.name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) groupMember(add bool) func(http.ResponseWriter, *http.Request, *group) {
	return func(w http.ResponseWriter, r *http.Request, g *group) {
		m, ok := body(w, r)
		if !ok {
			return
		}
		var pk int
		if !getInt(w, m, "pk", &pk) {
			return
		}
		if _, has := m["pk"]; !has {
			required(w, "pk")
			return
		}
		u := s.users[pk]
		if u == nil {
			notFound(w)
			return
		}
		if add {
			u.groups[g.pk] = true
		} else {
			delete(u.groups, g.pk)
		}
		s.recordModel("model_updated", "group", g.pk, g.name)
		w.WriteHeader(http.StatusNoContent)
	}
}

// --- sessions & devices ---

func (s *Sim) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.sessions, func(a, b *session) int { return cmp.Compare(a.uuid, b.uuid) })
	writeList(w, r, list, func(x *session) bool {
		u := s.users[x.user]
		return !q.Has("user__username") || u != nil && u.username == q.Get("user__username")
	}, func(x *session) map[string]any { return renderSession(x, s.users[x.user]) })
}

func (s *Sim) getSession(w http.ResponseWriter, r *http.Request, x *session) {
	writeJSON(w, http.StatusOK, renderSession(x, s.users[x.user]))
}

func (s *Sim) deleteSession(w http.ResponseWriter, r *http.Request, x *session) {
	delete(s.sessions, x.uuid)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []map[string]any{}
	for _, d := range sortedValues(s.devices, func(a, b *device) int { return cmp.Compare(a.pk, b.pk) }) {
		if matches(q, "user", strconv.Itoa(d.user)) {
			out = append(out, renderDevice(d))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// --- OAuth2 providers & applications ---

func (s *Sim) listProviders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.providers, func(a, b *provider) int { return cmp.Compare(a.pk, b.pk) })
	writeList(w, r, list, func(p *provider) bool {
		return matches(q, "name", p.name) && matches(q, "client_id", p.clientID)
	}, s.renderProvider)
}

func (s *Sim) createProvider(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	p := &provider{clientType: "confidential", subMode: "hashed_user_id", issuerMode: "per_provider"}
	for _, f := range []string{"name", "authorization_flow", "invalidation_flow", "redirect_uris"} {
		if _, has := m[f]; !has {
			required(w, f)
			return
		}
	}
	var signing string
	if !getString(w, m, "name", &p.name) || !getString(w, m, "authorization_flow", &p.authorizationFlow) ||
		!getString(w, m, "invalidation_flow", &p.invalidationFlow) || !getString(w, m, "client_type", &p.clientType) ||
		!getString(w, m, "client_id", &p.clientID) || !getString(w, m, "client_secret", &p.clientSecret) ||
		!getString(w, m, "sub_mode", &p.subMode) || !getString(w, m, "issuer_mode", &p.issuerMode) ||
		!getString(w, m, "signing_key", &signing) {
		return
	}
	for _, o := range s.providers {
		if o.name == p.name {
			fieldError(w, "name", "Provider with this name already exists.")
			return
		}
	}
	for _, f := range []struct{ field, pk string }{{"authorization_flow", p.authorizationFlow}, {"invalidation_flow", p.invalidationFlow}} {
		if s.flows[f.pk] == nil {
			fieldError(w, f.field, `Invalid pk "`+f.pk+`" - object does not exist.`)
			return
		}
	}
	if p.clientType != "confidential" && p.clientType != "public" {
		fieldError(w, "client_type", `"`+p.clientType+`" is not a valid choice.`)
		return
	}
	var uris []map[string]string
	if err := json.Unmarshal(m["redirect_uris"], &uris); err != nil {
		fieldError(w, "redirect_uris", `Expected a list of items but got type "`+jsonType(m["redirect_uris"])+`".`)
		return
	}
	for _, u := range uris {
		if u["matching_mode"] != "strict" && u["matching_mode"] != "regex" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"redirect_uris": []map[string]any{{"matching_mode": []string{"This field is required."}}}})
			return
		}
		if u["url"] == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"redirect_uris": []map[string]any{{"url": []string{"This field is required."}}}})
			return
		}
	}
	p.redirectURIs = uris
	if signing != "" {
		p.signingKey = &signing
	}
	if raw, has := m["property_mappings"]; has {
		_ = json.Unmarshal(raw, &p.propertyMappings)
	}
	if p.clientID == "" {
		p.clientID = randomToken(40)
	}
	if p.clientSecret == "" {
		p.clientSecret = randomToken(128)
	}
	p.pk = s.nextProviderPK
	s.nextProviderPK++
	s.providers[p.pk] = p
	s.recordModel("model_created", "oauth2provider", p.pk, p.name)
	writeJSON(w, http.StatusCreated, s.renderProvider(p))
}

func (s *Sim) getProvider(w http.ResponseWriter, r *http.Request, p *provider) {
	writeJSON(w, http.StatusOK, s.renderProvider(p))
}

func (s *Sim) deleteProvider(w http.ResponseWriter, r *http.Request, p *provider) {
	delete(s.providers, p.pk)
	for _, a := range s.apps {
		if a.provider != nil && *a.provider == p.pk {
			a.provider = nil // on_delete=SET_NULL
		}
	}
	s.recordModel("model_deleted", "oauth2provider", p.pk, p.name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) setupURLs(w http.ResponseWriter, r *http.Request, p *provider) {
	base := s.opts.PublicURL
	var issuer, discovery, jwks, logout any
	for _, a := range s.apps {
		if a.provider != nil && *a.provider == p.pk {
			iss := base + "/application/o/" + a.slug + "/"
			if p.issuerMode == "global" {
				iss = base + "/"
			}
			issuer = iss
			discovery = base + "/application/o/" + a.slug + "/.well-known/openid-configuration"
			jwks = base + "/application/o/" + a.slug + "/jwks/"
			logout = base + "/application/o/" + a.slug + "/end-session/"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuer": issuer, "authorize": base + "/application/o/authorize/",
		"token": base + "/application/o/token/", "user_info": base + "/application/o/userinfo/",
		"provider_info": discovery, "logout": logout, "jwks": jwks})
}

func (s *Sim) listApps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.apps, func(a, b *application) int { return cmp.Compare(a.slug, b.slug) })
	writeList(w, r, list, func(a *application) bool {
		return matches(q, "slug", a.slug) && matches(q, "name", a.name)
	}, s.renderApp)
}

func (s *Sim) createApp(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	for _, f := range []string{"name", "slug"} {
		if _, has := m[f]; !has {
			required(w, f)
			return
		}
	}
	a := &application{pk: newUUID(), policyEngineMode: "any"}
	if !getString(w, m, "name", &a.name) || !getString(w, m, "slug", &a.slug) ||
		!getString(w, m, "meta_launch_url", &a.launchURL) || !getString(w, m, "policy_engine_mode", &a.policyEngineMode) ||
		!getString(w, m, "group", &a.group) {
		return
	}
	if !slugRE.MatchString(a.slug) {
		fieldError(w, "slug", `Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.`)
		return
	}
	if s.apps[a.slug] != nil {
		fieldError(w, "slug", "Application with this slug already exists.")
		return
	}
	if raw, has := m["provider"]; has && string(raw) != "null" {
		var pk int
		if err := json.Unmarshal(raw, &pk); err != nil || s.providers[pk] == nil {
			fieldError(w, "provider", `Invalid pk "`+strings.Trim(string(raw), `"`)+`" - object does not exist.`)
			return
		}
		for _, o := range s.apps {
			if o.provider != nil && *o.provider == pk {
				fieldError(w, "provider", "Application with this provider already exists.")
				return
			}
		}
		a.provider = &pk
	}
	s.apps[a.slug] = a
	s.recordModel("model_created", "application", a.pk, a.name)
	writeJSON(w, http.StatusCreated, s.renderApp(a))
}

func (s *Sim) getApp(w http.ResponseWriter, r *http.Request, a *application) {
	writeJSON(w, http.StatusOK, s.renderApp(a))
}

func (s *Sim) deleteApp(w http.ResponseWriter, r *http.Request, a *application) {
	delete(s.apps, a.slug)
	for id, b := range s.policyBindings {
		if b.target == a.pk {
			delete(s.policyBindings, id) // cascade with the binding target
		}
	}
	s.recordModel("model_deleted", "application", a.pk, a.name)
	w.WriteHeader(http.StatusNoContent)
}

// --- policy bindings ---

func (s *Sim) listPolicyBindings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.policyBindings, func(a, b *policyBinding) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.pk, b.pk))
	})
	writeList(w, r, list, func(b *policyBinding) bool { return matches(q, "target", b.target) }, renderPolicyBinding)
}

func (s *Sim) isBindingTarget(pk string) bool {
	if s.flows[pk] != nil {
		return true
	}
	for _, a := range s.apps {
		if a.pk == pk {
			return true
		}
	}
	return false
}

func (s *Sim) createPolicyBinding(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	for _, f := range []string{"target", "order"} {
		if _, has := m[f]; !has {
			required(w, f)
			return
		}
	}
	b := &policyBinding{pk: newUUID(), enabled: true, timeout: 30}
	var grp, pol string
	userPK := 0
	if !getString(w, m, "target", &b.target) || !getInt(w, m, "order", &b.order) || !getString(w, m, "group", &grp) ||
		!getString(w, m, "policy", &pol) || !getBool(w, m, "enabled", &b.enabled) || !getBool(w, m, "negate", &b.negate) ||
		!getInt(w, m, "timeout", &b.timeout) {
		return
	}
	if raw, has := m["user"]; has && string(raw) != "null" && !getInt(w, m, "user", &userPK) {
		return
	}
	if !s.isBindingTarget(b.target) {
		fieldError(w, "target", `Invalid pk "`+b.target+`" - object does not exist.`)
		return
	}
	n := 0
	if grp != "" {
		n++
		if s.groups[grp] == nil {
			fieldError(w, "group", `Invalid pk "`+grp+`" - object does not exist.`)
			return
		}
		b.group = &grp
	}
	if userPK != 0 {
		n++
		if s.users[userPK] == nil {
			fieldError(w, "user", `Invalid pk "`+strconv.Itoa(userPK)+`" - object does not exist.`)
			return
		}
		b.user = &userPK
	}
	if pol != "" {
		n++
		b.policy = &pol
	}
	switch {
	case n > 1:
		writeJSON(w, http.StatusBadRequest, map[string]any{"non_field_errors": []string{"Only one of 'policy', 'group', 'user' can be set."}})
		return
	case n == 0:
		writeJSON(w, http.StatusBadRequest, map[string]any{"non_field_errors": []string{"One of 'policy', 'group', 'user' must be set."}})
		return
	}
	s.policyBindings[b.pk] = b
	s.recordModel("model_created", "policybinding", b.pk, "Binding "+b.pk)
	writeJSON(w, http.StatusCreated, renderPolicyBinding(b))
}

func (s *Sim) deletePolicyBinding(w http.ResponseWriter, r *http.Request, b *policyBinding) {
	delete(s.policyBindings, b.pk)
	w.WriteHeader(http.StatusNoContent)
}

// --- flows, stages, bindings ---

var designations = map[string]bool{"authentication": true, "authorization": true, "invalidation": true,
	"enrollment": true, "unenrollment": true, "recovery": true, "stage_configuration": true}

func (s *Sim) listFlows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.flows, func(a, b *flow) int { return cmp.Compare(a.slug, b.slug) })
	writeList(w, r, list, func(f *flow) bool {
		return matches(q, "designation", f.designation) && matches(q, "slug", f.slug) && matches(q, "name", f.name)
	}, renderFlow)
}

func (s *Sim) createFlow(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	for _, f := range []string{"name", "slug", "title", "designation"} {
		if _, has := m[f]; !has {
			required(w, f)
			return
		}
	}
	f := &flow{pk: newUUID(), authentication: "none"}
	if !getString(w, m, "name", &f.name) || !getString(w, m, "slug", &f.slug) || !getString(w, m, "title", &f.title) ||
		!getString(w, m, "designation", &f.designation) || !getString(w, m, "authentication", &f.authentication) {
		return
	}
	if !slugRE.MatchString(f.slug) {
		fieldError(w, "slug", `Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.`)
		return
	}
	if s.flowBySlug(f.slug) != nil {
		fieldError(w, "slug", "Flow with this slug already exists.")
		return
	}
	if !designations[f.designation] {
		fieldError(w, "designation", `"`+f.designation+`" is not a valid choice.`)
		return
	}
	switch f.authentication {
	case "none", "require_authenticated", "require_unauthenticated", "require_superuser", "require_redirect", "require_outpost":
	default:
		fieldError(w, "authentication", `"`+f.authentication+`" is not a valid choice.`)
		return
	}
	s.flows[f.pk] = f
	s.recordModel("model_created", "flow", f.pk, f.name)
	writeJSON(w, http.StatusCreated, renderFlow(f))
}

func (s *Sim) getFlow(w http.ResponseWriter, r *http.Request, f *flow) {
	writeJSON(w, http.StatusOK, renderFlow(f))
}

func (s *Sim) deleteFlow(w http.ResponseWriter, r *http.Request, f *flow) {
	delete(s.flows, f.pk)
	for id, b := range s.flowBindings {
		if b.target == f.pk {
			delete(s.flowBindings, id)
		}
	}
	for _, b := range s.brands {
		if b.flowRecovery != nil && *b.flowRecovery == f.pk {
			b.flowRecovery = nil
		}
	}
	s.recordModel("model_deleted", "flow", f.pk, f.name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) listFlowBindings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.flowBindings, func(a, b *flowBinding) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.pk, b.pk))
	})
	writeList(w, r, list, func(b *flowBinding) bool {
		return matches(q, "target", b.target) && matches(q, "stage", b.stage)
	}, func(b *flowBinding) map[string]any { return renderFlowBinding(b, s.stages[b.stage]) })
}

func (s *Sim) createFlowBinding(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	for _, f := range []string{"target", "stage", "order"} {
		if _, has := m[f]; !has {
			required(w, f)
			return
		}
	}
	b := &flowBinding{pk: newUUID(), evaluateOnPlan: true, invalidResponseAction: "retry"}
	if !getString(w, m, "target", &b.target) || !getString(w, m, "stage", &b.stage) || !getInt(w, m, "order", &b.order) ||
		!getBool(w, m, "evaluate_on_plan", &b.evaluateOnPlan) || !getBool(w, m, "re_evaluate_policies", &b.reEvaluatePolicies) ||
		!getString(w, m, "invalid_response_action", &b.invalidResponseAction) {
		return
	}
	if s.flows[b.target] == nil {
		fieldError(w, "target", `Invalid pk "`+b.target+`" - object does not exist.`)
		return
	}
	if s.stages[b.stage] == nil {
		fieldError(w, "stage", `Invalid pk "`+b.stage+`" - object does not exist.`)
		return
	}
	for _, o := range s.flowBindings {
		if o.target == b.target && o.stage == b.stage && o.order == b.order {
			writeJSON(w, http.StatusBadRequest, map[string]any{"non_field_errors": []string{"The fields target, stage, order must make a unique set."}})
			return
		}
	}
	s.flowBindings[b.pk] = b
	writeJSON(w, http.StatusCreated, renderFlowBinding(b, s.stages[b.stage]))
}

func (s *Sim) deleteFlowBinding(w http.ResponseWriter, r *http.Request, b *flowBinding) {
	delete(s.flowBindings, b.pk)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) listStages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.stages, func(a, b *stage) int { return cmp.Compare(a.name, b.name) })
	writeList(w, r, list, func(st *stage) bool { return matches(q, "name", st.name) }, func(st *stage) map[string]any {
		flowSet := []map[string]any{}
		for _, b := range s.flowBindings {
			if b.stage == st.pk {
				if f := s.flows[b.target]; f != nil {
					flowSet = append(flowSet, map[string]any{"pk": f.pk, "slug": f.slug, "name": f.name, "designation": f.designation})
				}
			}
		}
		return renderStage(st, flowSet)
	})
}

// --- brands ---

func (s *Sim) listBrands(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := sortedValues(s.brands, func(a, b *brand) int { return cmp.Compare(a.domain, b.domain) })
	writeList(w, r, list, func(b *brand) bool {
		return matchesBool(q, "default", b.isDefault) && matches(q, "domain", b.domain)
	}, renderBrand)
}

func (s *Sim) getBrand(w http.ResponseWriter, r *http.Request, b *brand) {
	writeJSON(w, http.StatusOK, renderBrand(b))
}

func (s *Sim) patchBrand(w http.ResponseWriter, r *http.Request, b *brand) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	if raw, has := m["flow_recovery"]; has {
		if string(raw) == "null" {
			b.flowRecovery = nil
		} else {
			var pk string
			if err := json.Unmarshal(raw, &pk); err != nil || s.flows[pk] == nil {
				fieldError(w, "flow_recovery", `Invalid pk "`+strings.Trim(string(raw), `"`)+`" - object does not exist.`)
				return
			}
			b.flowRecovery = &pk
		}
	}
	if !getString(w, m, "domain", &b.domain) {
		return
	}
	s.recordModel("model_updated", "brand", b.uuid, b.domain)
	writeJSON(w, http.StatusOK, renderBrand(b))
}

// --- events ---

func (s *Sim) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := slices.Clone(s.events)
	asc := q.Get("ordering") == "created"
	slices.SortStableFunc(list, func(a, b *event) int {
		if asc {
			return a.created.Compare(b.created)
		}
		return b.created.Compare(a.created)
	})
	action := strings.ToLower(q.Get("action"))
	writeList(w, r, list, func(e *event) bool {
		return strings.Contains(strings.ToLower(e.action), action) && (!q.Has("username") || e.user["username"] == q.Get("username")) &&
			(!q.Has("client_ip") || e.clientIP != nil && *e.clientIP == q.Get("client_ip"))
	}, renderEvent)
}

func (s *Sim) getEvent(w http.ResponseWriter, r *http.Request, e *event) {
	writeJSON(w, http.StatusOK, renderEvent(e))
}

func (s *Sim) admin() *user { return s.users[1] }

func modelRef(model string, pk any, name string) map[string]any {
	app := "authentik_core"
	switch model {
	case "oauth2provider":
		app = "authentik_providers_oauth2"
	case "policybinding":
		app = "authentik_policies"
	case "flow":
		app = "authentik_flows"
	case "brand":
		app = "authentik_brands"
	}
	return map[string]any{"app": app, "model_name": model, "pk": pk, "name": name}
}

// recordModel records a model_* event performed by the API token's owner.
func (s *Sim) recordModel(action, model string, pk any, name string) {
	s.record(action, s.admin(), "authentik.events.signals", map[string]any{"model": modelRef(model, pk, name), "http_request": map[string]any{"method": "API"}})
}

// record appends an event. The caller holds s.mu.
func (s *Sim) record(action string, actor *user, app string, ctx map[string]any) *event {
	now := s.opts.Now().UTC()
	var u map[string]any
	if actor != nil {
		u = map[string]any{"pk": actor.pk, "username": actor.username, "email": actor.email}
	} else {
		u = map[string]any{"pk": 0, "username": "AnonymousUser", "email": ""}
	}
	if ctx == nil {
		ctx = map[string]any{}
	}
	e := &event{pk: newUUID(), user: u, action: action, app: app, context: ctx, created: now, expires: now.Add(365 * 24 * time.Hour)}
	if ip, ok := ctx["client_ip"].(string); ok {
		e.clientIP = &ip
		delete(ctx, "client_ip")
	}
	s.events = append(s.events, e)
	return e
}
