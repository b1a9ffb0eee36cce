package authentiksim

import (
	"fmt"
	"time"
)

// EventInput describes an event to inject with Emit.
type EventInput struct {
	Action   string         // authentik action, e.g. "login", "login_failed", "custom_x"
	Username string         // acting user; empty or unknown means AnonymousUser
	ClientIP string         // optional
	App      string         // default "authentik.events"
	Context  map[string]any // optional
}

// Emit appends an event as authentik would record it and returns its pk.
func (s *Sim) Emit(in EventInput) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := map[string]any{}
	for k, v := range in.Context {
		ctx[k] = v
	}
	if in.ClientIP != "" {
		ctx["client_ip"] = in.ClientIP
	}
	app := in.App
	if app == "" {
		app = "authentik.events"
	}
	var actor *user
	if in.Username != "" {
		actor = s.userByName(in.Username)
		if actor == nil {
			ctx["username"] = in.Username
		}
	}
	return s.record(in.Action, actor, app, ctx).pk
}

// Login simulates a successful login: a session is created, last_login updated and
// a "login" event recorded. It returns the session UUID.
func (s *Sim) Login(username, clientIP, userAgent string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(username)
	if u == nil {
		return "", fmt.Errorf("authentiksim: unknown user %q", username)
	}
	if !u.isActive {
		s.record("login_failed", nil, "authentik.events", map[string]any{"username": username, "client_ip": clientIP,
			"message": "Account disabled"})
		return "", fmt.Errorf("authentiksim: user %q is inactive", username)
	}
	now := s.opts.Now().UTC()
	sess := &session{uuid: newUUID(), user: u.pk, lastIP: clientIP, userAgent: userAgent, lastUsed: now,
		expires: now.Add(24 * time.Hour)}
	s.sessions[sess.uuid] = sess
	u.lastLogin = &now
	s.record("login", u, "authentik.events", map[string]any{"auth_method": "password", "client_ip": clientIP})
	return sess.uuid, nil
}

// FailedLogin records a "login_failed" event for username.
func (s *Sim) FailedLogin(username, clientIP string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("login_failed", nil, "authentik.events", map[string]any{"username": username, "client_ip": clientIP,
		"stage": "default-authentication-password"})
}

// AddAuthenticator attaches an MFA device to the user. kind is one of "totp",
// "webauthn", "static", "duo", "sms", "email". It returns the device pk.
func (s *Sim) AddAuthenticator(userPK int, kind, name string, confirmed bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userPK] == nil {
		return "", fmt.Errorf("authentiksim: unknown user pk %d", userPK)
	}
	models := map[string]string{
		"totp": "authentik_stages_authenticator_totp.TOTPDevice", "webauthn": "authentik_stages_authenticator_webauthn.WebAuthnDevice",
		"static": "authentik_stages_authenticator_static.StaticDevice", "duo": "authentik_stages_authenticator_duo.DuoDevice",
		"sms": "authentik_stages_authenticator_sms.SMSDevice", "email": "authentik_stages_authenticator_email.EmailDevice",
	}
	typ, ok := models[kind]
	if !ok {
		return "", fmt.Errorf("authentiksim: unknown authenticator kind %q", kind)
	}
	d := &device{pk: fmt.Sprintf("%d", len(s.devices)+1) + "-" + kind, user: userPK, name: name, typ: typ,
		confirmed: confirmed, created: s.opts.Now().UTC()}
	for s.devices[d.pk] != nil {
		d.pk += "x"
	}
	s.devices[d.pk] = d
	return d.pk, nil
}

// SessionCount returns the number of live sessions of the user.
func (s *Sim) SessionCount(userPK int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.sessions {
		if x.user == userPK {
			n++
		}
	}
	return n
}

// CheckPassword reports whether username's password was last set to password
// through set_password.
func (s *Sim) CheckPassword(username, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(username)
	return u != nil && s.passwords[u.pk] == password && password != ""
}

// RecoveryToken returns the currently valid recovery token of the user, if any.
func (s *Sim) RecoveryToken(userPK int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.recoveryTokens[userPK]
	return t, ok
}

// Counts reports object counts, for assertions about cleanup and rollback.
type Counts struct {
	Users, Groups, Sessions, Providers, Applications, PolicyBindings, Flows, FlowBindings, Events int
}

// Counts returns the current object counts.
func (s *Sim) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Counts{Users: len(s.users), Groups: len(s.groups), Sessions: len(s.sessions), Providers: len(s.providers),
		Applications: len(s.apps), PolicyBindings: len(s.policyBindings), Flows: len(s.flows),
		FlowBindings: len(s.flowBindings), Events: len(s.events)}
}
