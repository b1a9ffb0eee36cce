package authentiksim

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
)

type user struct {
	pk           int
	uuid         string
	username     string
	name         string
	email        string
	isActive     bool
	isSuperuser  bool
	typ          string
	path         string
	attributes   map[string]any
	groups       map[string]bool
	dateJoined   time.Time
	lastUpdated  time.Time
	lastLogin    *time.Time
	pwChangeDate *time.Time
}

type group struct {
	pk          string
	num         int
	name        string
	isSuperuser bool
	attributes  map[string]any
	parents     []string
}

type session struct {
	uuid      string
	user      int
	lastIP    string
	userAgent string
	lastUsed  time.Time
	expires   time.Time
}

type device struct {
	pk        string
	user      int
	name      string
	typ       string
	confirmed bool
	created   time.Time
}

type provider struct {
	pk                int
	name              string
	authorizationFlow string
	invalidationFlow  string
	redirectURIs      []map[string]string
	clientType        string
	clientID          string
	clientSecret      string
	signingKey        *string
	subMode           string
	issuerMode        string
	propertyMappings  []string
}

type application struct {
	pk               string
	name             string
	slug             string
	provider         *int
	launchURL        string
	policyEngineMode string
	group            string
}

type policyBinding struct {
	pk      string
	target  string
	group   *string
	user    *int
	policy  *string
	order   int
	enabled bool
	negate  bool
	timeout int
}

type flow struct {
	pk             string
	slug           string
	name           string
	title          string
	designation    string
	authentication string
}

type stage struct {
	pk        string
	name      string
	component string
}

type flowBinding struct {
	pk                    string
	target                string
	stage                 string
	order                 int
	evaluateOnPlan        bool
	reEvaluatePolicies    bool
	invalidResponseAction string
}

type brand struct {
	uuid               string
	domain             string
	isDefault          bool
	flowAuthentication string
	flowInvalidation   string
	flowRecovery       *string
}

type event struct {
	pk       string
	user     map[string]any
	action   string
	app      string
	context  map[string]any
	clientIP *string
	created  time.Time
	expires  time.Time
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func (s *Sim) renderUser(u *user) map[string]any {
	groups := make([]string, 0, len(u.groups))
	objs := make([]map[string]any, 0, len(u.groups))
	for _, g := range s.sortedGroups() {
		if u.groups[g.pk] {
			groups = append(groups, g.pk)
			objs = append(objs, map[string]any{"pk": g.pk, "num_pk": g.num, "name": g.name,
				"is_superuser": g.isSuperuser, "parents": nonNil(g.parents), "attributes": g.attributes})
		}
	}
	return map[string]any{
		"pk": u.pk, "uuid": u.uuid, "uid": hashedUID(u.pk), "username": u.username, "name": u.name,
		"email": u.email, "is_active": u.isActive, "is_superuser": u.isSuperuser, "type": u.typ,
		"path": u.path, "attributes": u.attributes, "groups": groups, "groups_obj": objs,
		"roles": []string{}, "roles_obj": []any{}, "avatar": "data:image/svg+xml;base64,",
		"date_joined": ts(u.dateJoined), "last_updated": ts(u.lastUpdated), "last_login": tsPtr(u.lastLogin),
		"password_change_date": tsPtr(u.pwChangeDate),
	}
}

func (s *Sim) renderGroup(g *group) map[string]any {
	users := []int{}
	objs := []map[string]any{}
	for _, u := range s.sortedUsers() {
		if u.groups[g.pk] {
			users = append(users, u.pk)
			objs = append(objs, map[string]any{"pk": u.pk, "username": u.username, "name": u.name,
				"is_active": u.isActive, "email": u.email, "uid": hashedUID(u.pk), "attributes": u.attributes})
		}
	}
	return map[string]any{"pk": g.pk, "num_pk": g.num, "name": g.name, "is_superuser": g.isSuperuser,
		"parents": nonNil(g.parents), "users": users, "users_obj": objs, "attributes": g.attributes,
		"roles": []string{}, "roles_obj": []any{}}
}

func renderSession(s *session, u *user) map[string]any {
	return map[string]any{"uuid": s.uuid, "current": false, "user": s.user, "last_ip": s.lastIP,
		"last_user_agent": s.userAgent, "last_used": ts(s.lastUsed), "expires": ts(s.expires),
		"user_agent": map[string]any{"device": map[string]any{"family": "Other"}, "os": map[string]any{"family": "Other"},
			"user_agent": map[string]any{"family": "Other"}, "string": s.userAgent},
		"geo_ip": nil, "asn": nil}
}

func renderDevice(d *device) map[string]any {
	return map[string]any{"pk": d.pk, "name": d.name, "type": d.typ, "confirmed": d.confirmed,
		"created": ts(d.created), "last_updated": ts(d.created), "last_used": nil,
		"verbose_name": verboseDevice(d.typ), "verbose_name_plural": verboseDevice(d.typ) + "s",
		"meta_model_name": d.typ, "extra_description": nil, "external_id": nil}
}

func verboseDevice(typ string) string {
	switch {
	case strings.Contains(typ, "totp"):
		return "TOTP Device"
	case strings.Contains(typ, "webauthn"):
		return "WebAuthn Device"
	case strings.Contains(typ, "static"):
		return "Static Device"
	}
	return "Device"
}

func (s *Sim) renderProvider(p *provider) map[string]any {
	var appSlug, appName any
	for _, a := range s.apps {
		if a.provider != nil && *a.provider == p.pk {
			appSlug, appName = a.slug, a.name
		}
	}
	var signing any
	if p.signingKey != nil {
		signing = *p.signingKey
	}
	return map[string]any{"pk": p.pk, "name": p.name, "authorization_flow": p.authorizationFlow,
		"invalidation_flow": p.invalidationFlow, "redirect_uris": p.redirectURIs, "client_type": p.clientType,
		"client_id": p.clientID, "client_secret": p.clientSecret, "signing_key": signing, "sub_mode": p.subMode,
		"issuer_mode": p.issuerMode, "property_mappings": nonNil(p.propertyMappings),
		"component": "ak-provider-oauth2-form", "assigned_application_slug": appSlug,
		"assigned_application_name": appName, "verbose_name": "OAuth2/OpenID Provider",
		"verbose_name_plural": "OAuth2/OpenID Providers", "meta_model_name": "authentik_providers_oauth2.oauth2provider",
		"access_code_validity": "minutes=1", "access_token_validity": "hours=1", "refresh_token_validity": "days=30",
		"include_claims_in_id_token": true}
}

func (s *Sim) renderApp(a *application) map[string]any {
	var prov any
	var provObj any
	if a.provider != nil {
		prov = *a.provider
		if p := s.providers[*a.provider]; p != nil {
			provObj = s.renderProvider(p)
		}
	}
	return map[string]any{"pk": a.pk, "name": a.name, "slug": a.slug, "provider": prov, "provider_obj": provObj,
		"backchannel_providers": []int{}, "meta_launch_url": a.launchURL, "meta_description": "",
		"meta_publisher": "", "open_in_new_tab": false, "policy_engine_mode": a.policyEngineMode, "group": a.group,
		"launch_url": nilIfEmpty(a.launchURL)}
}

func renderPolicyBinding(b *policyBinding) map[string]any {
	var g, u, p any
	if b.group != nil {
		g = *b.group
	}
	if b.user != nil {
		u = *b.user
	}
	if b.policy != nil {
		p = *b.policy
	}
	return map[string]any{"pk": b.pk, "target": b.target, "group": g, "user": u, "policy": p, "order": b.order,
		"enabled": b.enabled, "negate": b.negate, "timeout": b.timeout, "failure_result": false}
}

func renderFlow(f *flow) map[string]any {
	return map[string]any{"pk": f.pk, "slug": f.slug, "name": f.name, "title": f.title,
		"designation": f.designation, "authentication": f.authentication, "policy_engine_mode": "any",
		"denied_action": "message_continue", "layout": "stacked", "compatibility_mode": false,
		"background": "", "stages": []string{}, "policies": []string{}, "cache_count": 0,
		"export_url": "/api/v3/flows/instances/" + f.slug + "/export/"}
}

func renderStage(st *stage, flowSet []map[string]any) map[string]any {
	return map[string]any{"pk": st.pk, "name": st.name, "component": st.component,
		"meta_model_name": "authentik_stages." + st.component, "verbose_name": st.name, "flow_set": flowSet}
}

func renderFlowBinding(b *flowBinding, st *stage) map[string]any {
	return map[string]any{"pk": b.pk, "policybindingmodel_ptr_id": b.pk, "target": b.target, "stage": b.stage,
		"stage_obj": renderStage(st, []map[string]any{}), "order": b.order, "evaluate_on_plan": b.evaluateOnPlan,
		"re_evaluate_policies": b.reEvaluatePolicies, "policy_engine_mode": "any",
		"invalid_response_action": b.invalidResponseAction}
}

func renderBrand(b *brand) map[string]any {
	var rec any
	if b.flowRecovery != nil {
		rec = *b.flowRecovery
	}
	return map[string]any{"brand_uuid": b.uuid, "domain": b.domain, "default": b.isDefault,
		"branding_title": "authentik", "branding_logo": "/static/dist/assets/icons/icon_left_brand.svg",
		"branding_favicon": "/static/dist/assets/icons/icon.png", "flow_authentication": b.flowAuthentication,
		"flow_invalidation": b.flowInvalidation, "flow_recovery": rec, "flow_unenrollment": nil,
		"flow_user_settings": nil, "flow_device_code": nil, "default_application": nil, "web_certificate": nil,
		"client_certificates": []string{}, "attributes": map[string]any{}}
}

func renderEvent(e *event) map[string]any {
	var ip any
	if e.clientIP != nil {
		ip = *e.clientIP
	}
	return map[string]any{"pk": e.pk, "user": e.user, "action": e.action, "app": e.app, "context": e.context,
		"client_ip": ip, "created": ts(e.created), "expires": ts(e.expires),
		"brand": map[string]any{"app": "authentik_brands", "model_name": "brand", "pk": "", "name": "Default brand"}}
}

func (s *Sim) sortedUsers() []*user {
	return sortedValues(s.users, func(a, b *user) int { return cmp.Compare(a.pk, b.pk) })
}

func (s *Sim) sortedGroups() []*group {
	return sortedValues(s.groups, func(a, b *group) int { return cmp.Compare(a.name, b.name) })
}

// sortedValues returns the values of m ordered by order.
func sortedValues[K comparable, V any](m map[K]V, order func(a, b V) int) []V {
	return slices.SortedFunc(maps.Values(m), order)
}

func (s *Sim) flowBySlug(slug string) *flow {
	for _, f := range s.flows {
		if f.slug == slug {
			return f
		}
	}
	return nil
}

func (s *Sim) userByName(name string) *user {
	for _, u := range s.users {
		if u.username == name {
			return u
		}
	}
	return nil
}

func (s *Sim) defaultBrand() *brand {
	for _, b := range s.brands {
		if b.isDefault {
			return b
		}
	}
	return nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
