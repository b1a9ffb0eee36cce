package authentiksim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

func (s *Sim) routes() {
	m := http.NewServeMux()
	const p = "/api/v3/"
	m.HandleFunc("GET "+p+"core/users/{$}", s.listUsers)
	m.HandleFunc("POST "+p+"core/users/{$}", s.createUser)
	m.HandleFunc("GET "+p+"core/users/{pk}/{$}", with(s.userAt, s.getUser))
	m.HandleFunc("PATCH "+p+"core/users/{pk}/{$}", with(s.userAt, s.patchUser))
	m.HandleFunc("PUT "+p+"core/users/{pk}/{$}", with(s.userAt, s.patchUser))
	m.HandleFunc("DELETE "+p+"core/users/{pk}/{$}", with(s.userAt, s.deleteUser))
	m.HandleFunc("POST "+p+"core/users/{pk}/set_password/{$}", with(s.userAt, s.setPassword))
	m.HandleFunc("POST "+p+"core/users/{pk}/recovery/{$}", with(s.userAt, s.recovery))

	m.HandleFunc("GET "+p+"core/groups/{$}", s.listGroups)
	m.HandleFunc("POST "+p+"core/groups/{$}", s.createGroup)
	m.HandleFunc("GET "+p+"core/groups/{pk}/{$}", with(s.groupAt, s.getGroup))
	m.HandleFunc("PATCH "+p+"core/groups/{pk}/{$}", with(s.groupAt, s.patchGroup))
	m.HandleFunc("DELETE "+p+"core/groups/{pk}/{$}", with(s.groupAt, s.deleteGroup))
	m.HandleFunc("POST "+p+"core/groups/{pk}/add_user/{$}", with(s.groupAt, s.groupMember(true)))
	m.HandleFunc("POST "+p+"core/groups/{pk}/remove_user/{$}", with(s.groupAt, s.groupMember(false)))

	m.HandleFunc("GET "+p+"core/authenticated_sessions/{$}", s.listSessions)
	m.HandleFunc("GET "+p+"core/authenticated_sessions/{uuid}/{$}", with(s.sessionAt, s.getSession))
	m.HandleFunc("DELETE "+p+"core/authenticated_sessions/{uuid}/{$}", with(s.sessionAt, s.deleteSession))
	m.HandleFunc("GET "+p+"authenticators/admin/all/{$}", s.listDevices)

	m.HandleFunc("GET "+p+"providers/oauth2/{$}", s.listProviders)
	m.HandleFunc("POST "+p+"providers/oauth2/{$}", s.createProvider)
	m.HandleFunc("GET "+p+"providers/oauth2/{pk}/{$}", with(s.providerAt, s.getProvider))
	m.HandleFunc("DELETE "+p+"providers/oauth2/{pk}/{$}", with(s.providerAt, s.deleteProvider))
	m.HandleFunc("GET "+p+"providers/oauth2/{pk}/setup_urls/{$}", with(s.providerAt, s.setupURLs))

	m.HandleFunc("GET "+p+"core/applications/{$}", s.listApps)
	m.HandleFunc("POST "+p+"core/applications/{$}", s.createApp)
	m.HandleFunc("GET "+p+"core/applications/{slug}/{$}", with(s.appAt, s.getApp))
	m.HandleFunc("DELETE "+p+"core/applications/{slug}/{$}", with(s.appAt, s.deleteApp))

	m.HandleFunc("GET "+p+"policies/bindings/{$}", s.listPolicyBindings)
	m.HandleFunc("POST "+p+"policies/bindings/{$}", s.createPolicyBinding)
	m.HandleFunc("DELETE "+p+"policies/bindings/{pk}/{$}", with(s.bindingAt, s.deletePolicyBinding))

	m.HandleFunc("GET "+p+"flows/instances/{$}", s.listFlows)
	m.HandleFunc("POST "+p+"flows/instances/{$}", s.createFlow)
	m.HandleFunc("GET "+p+"flows/instances/{slug}/{$}", with(s.flowAt, s.getFlow))
	m.HandleFunc("DELETE "+p+"flows/instances/{slug}/{$}", with(s.flowAt, s.deleteFlow))
	m.HandleFunc("GET "+p+"flows/bindings/{$}", s.listFlowBindings)
	m.HandleFunc("POST "+p+"flows/bindings/{$}", s.createFlowBinding)
	m.HandleFunc("DELETE "+p+"flows/bindings/{pk}/{$}", with(s.flowBindingAt, s.deleteFlowBinding))
	m.HandleFunc("GET "+p+"stages/all/{$}", s.listStages)

	m.HandleFunc("GET "+p+"core/brands/{$}", s.listBrands)
	m.HandleFunc("GET "+p+"core/brands/current/{$}", with(s.currentBrandAt, s.getBrand))
	m.HandleFunc("GET "+p+"core/brands/{uuid}/{$}", with(s.brandAt, s.getBrand))
	m.HandleFunc("PATCH "+p+"core/brands/{uuid}/{$}", with(s.brandAt, s.patchBrand))

	m.HandleFunc("GET "+p+"events/events/{$}", s.listEvents)
	m.HandleFunc("GET "+p+"events/events/{pk}/{$}", with(s.eventAt, s.getEvent))

	m.HandleFunc("GET "+p+"admin/version/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"version_current": Version, "version_latest": Version,
			"version_latest_valid": true, "build_hash": "", "outdated": false, "outpost_outdated": false})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	s.mux = m
}

// The finders of the objects named by request paths (for with): nil when
// there is none.

func (s *Sim) userAt(r *http.Request) *user               { return s.users[pathPK(r)] }
func (s *Sim) groupAt(r *http.Request) *group             { return s.groups[r.PathValue("pk")] }
func (s *Sim) sessionAt(r *http.Request) *session         { return s.sessions[r.PathValue("uuid")] }
func (s *Sim) providerAt(r *http.Request) *provider       { return s.providers[pathPK(r)] }
func (s *Sim) appAt(r *http.Request) *application         { return s.apps[r.PathValue("slug")] }
func (s *Sim) bindingAt(r *http.Request) *policyBinding   { return s.policyBindings[r.PathValue("pk")] }
func (s *Sim) flowAt(r *http.Request) *flow               { return s.flowBySlug(r.PathValue("slug")) }
func (s *Sim) flowBindingAt(r *http.Request) *flowBinding { return s.flowBindings[r.PathValue("pk")] }
func (s *Sim) brandAt(r *http.Request) *brand             { return s.brands[r.PathValue("uuid")] }
func (s *Sim) currentBrandAt(r *http.Request) *brand      { return s.brandForHost(r.Host) }

func (s *Sim) eventAt(r *http.Request) *event {
	for _, e := range s.events {
		if e.pk == r.PathValue("pk") {
			return e
		}
	}
	return nil
}

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := s.sortedUsers()
	switch q.Get("ordering") {
	case "username":
		slices.SortStableFunc(list, func(a, b *user) int { return cmp.Compare(a.username, b.username) })
	case "-username":
		slices.SortStableFunc(list, func(a, b *user) int { return cmp.Compare(b.username, a.username) })
	case "-pk":
		slices.Reverse(list)
	}
	search := strings.ToLower(q.Get("search"))
	writeList(w, r, list, func(u *user) bool {
		return matches(q, "email", u.email) && matches(q, "username", u.username) && matches(q, "uuid", u.uuid) &&
			matchesBool(q, "is_active", u.isActive) && matches(q, "type", u.typ) &&
			(!q.Has("path_startswith") || strings.HasPrefix(u.path, q.Get("path_startswith"))) &&
			strings.Contains(strings.ToLower(u.username+" "+u.name+" "+u.email), search) &&
			(len(q["groups_by_name"]) == 0 || s.userInGroupNamed(u, q["groups_by_name"]))
	}, s.renderUser)
}

func (s *Sim) userInGroupNamed(u *user, names []string) bool {
	for gpk := range u.groups {
		if g := s.groups[gpk]; g != nil {
			for _, n := range names {
				if g.name == n {
					return true
				}
			}
		}
	}
	return false
}

func (s *Sim) createUser(w http.ResponseWriter, r *http.Request) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	u := &user{isActive: true, typ: "internal", path: "users", attributes: map[string]any{}, groups: map[string]bool{}}
	if _, has := m["username"]; !has {
		required(w, "username")
		return
	}
	if _, has := m["name"]; !has {
		required(w, "name")
		return
	}
	if !s.applyUserFields(w, m, u) {
		return
	}
	now := s.opts.Now().UTC()
	u.pk = s.nextUserPK
	s.nextUserPK++
	u.uuid = newUUID()
	u.dateJoined, u.lastUpdated = now, now
	s.users[u.pk] = u
	s.recordModel("model_created", "user", u.pk, u.username)
	writeJSON(w, http.StatusCreated, s.renderUser(u))
}

// applyUserFields validates and applies writable fields of m to u (create and update).
func (s *Sim) applyUserFields(w http.ResponseWriter, m map[string]json.RawMessage, u *user) bool {
	c := *u
	if !getString(w, m, "username", &c.username) || !getString(w, m, "name", &c.name) ||
		!getString(w, m, "email", &c.email) || !getBool(w, m, "is_active", &c.isActive) ||
		!getString(w, m, "path", &c.path) || !getString(w, m, "type", &c.typ) ||
		!getObject(w, m, "attributes", &c.attributes) {
		return false
	}
	if _, has := m["username"]; has {
		if c.username == "" {
			fieldError(w, "username", "This field may not be blank.")
			return false
		}
		if len(c.username) > 150 {
			fieldError(w, "username", "Ensure this field has no more than 150 characters.")
			return false
		}
		for _, other := range s.users {
			if other.pk != u.pk && other.username == c.username {
				fieldError(w, "username", "This field must be unique.")
				return false
			}
		}
	}
	if c.email != "" && !strings.Contains(c.email, "@") {
		fieldError(w, "email", "Enter a valid email address.")
		return false
	}
	switch c.typ {
	case "internal", "external", "service_account":
	default:
		fieldError(w, "type", `"`+c.typ+`" is not a valid choice.`)
		return false
	}
	if strings.HasPrefix(c.path, "/") || strings.HasSuffix(c.path, "/") {
		fieldError(w, "path", "No leading or trailing slashes allowed.")
		return false
	}
	if raw, has := m["groups"]; has {
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			fieldError(w, "groups", `Expected a list of items but got type "`+jsonType(raw)+`".`)
			return false
		}
		set := map[string]bool{}
		for _, id := range ids {
			if s.groups[id] == nil {
				fieldError(w, "groups", `Invalid pk "`+id+`" - object does not exist.`)
				return false
			}
			set[id] = true
		}
		c.groups = set
	}
	*u = c
	return true
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, u *user) {
	writeJSON(w, http.StatusOK, s.renderUser(u))
}

func (s *Sim) patchUser(w http.ResponseWriter, r *http.Request, u *user) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	if !s.applyUserFields(w, m, u) {
		return
	}
	u.lastUpdated = s.opts.Now().UTC()
	if _, has := m["is_active"]; has && !u.isActive {
		for id, sess := range s.sessions {
			if sess.user == u.pk {
				delete(s.sessions, id)
			}
		}
	}
	s.recordModel("model_updated", "user", u.pk, u.username)
	writeJSON(w, http.StatusOK, s.renderUser(u))
}

func (s *Sim) deleteUser(w http.ResponseWriter, r *http.Request, u *user) {
	delete(s.users, u.pk)
	delete(s.passwords, u.pk)
	delete(s.recoveryTokens, u.pk)
	for id, sess := range s.sessions {
		if sess.user == u.pk {
			delete(s.sessions, id)
		}
	}
	for id, d := range s.devices {
		if d.user == u.pk {
			delete(s.devices, id)
		}
	}
	for id, b := range s.policyBindings {
		if b.user != nil && *b.user == u.pk {
			delete(s.policyBindings, id)
		}
	}
	s.recordModel("model_deleted", "user", u.pk, u.username)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) setPassword(w http.ResponseWriter, r *http.Request, u *user) {
	m, ok := body(w, r)
	if !ok {
		return
	}
	var pw string
	if !getString(w, m, "password", &pw) {
		return
	}
	if _, has := m["password"]; !has {
		required(w, "password")
		return
	}
	if pw == "" {
		// Django's password validation failure: authentik answers 400 with an empty body.
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.passwords[u.pk] = pw
	now := s.opts.Now().UTC()
	u.pwChangeDate = &now
	u.lastUpdated = now
	s.record("password_set", s.admin(), "authentik_core", map[string]any{"user": modelRef("user", u.pk, u.username)})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) recovery(w http.ResponseWriter, r *http.Request, u *user) {
	if _, ok := body(w, r); !ok {
		return
	}
	b := s.brandForHost(r.Host)
	if b == nil || b.flowRecovery == nil || s.flows[*b.flowRecovery] == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"non_field_errors": "No recovery flow set."})
		return
	}
	f := s.flows[*b.flowRecovery]
	if f.authentication == "require_unauthenticated" || f.authentication == "require_superuser" && !u.isSuperuser {
		writeJSON(w, http.StatusBadRequest, map[string]any{"non_field_errors": "Recovery flow not applicable to user"})
		return
	}
	key := randomToken(64)
	s.recoveryTokens[u.pk] = key
	writeJSON(w, http.StatusOK, map[string]any{"link": s.opts.PublicURL + "/if/flow/" + f.slug + "/?flow_token=" + key})
}

func (s *Sim) brandForHost(host string) *brand {
	h, _, _ := strings.Cut(host, ":")
	for _, b := range s.brands {
		if b.domain == h {
			return b
		}
	}
	return s.defaultBrand()
}

func jsonType(raw json.RawMessage) string {
	t := strings.TrimSpace(string(raw))
	switch {
	case strings.HasPrefix(t, `"`):
		return "str"
	case strings.HasPrefix(t, "{"):
		return "dict"
	case t == "true" || t == "false":
		return "bool"
	case t == "null":
		return "NoneType"
	}
	return "int"
}
