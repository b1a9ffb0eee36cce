package host_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	files := map[string]os.FileMode{
		"dezky-provider-alpha": 0o755,
		"dezky-provider-beta":  0o644, // not executable
		"other-tool":           0o755,
		"dezky-provider-":      0o755, // no name
	}
	for name, mode := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dezky-provider-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := host.Discover(dir)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if len(got) != 1 || got["alpha"] != filepath.Join(dir, "dezky-provider-alpha") {
		t.Fatalf("Discover = %v, want only alpha", got)
	}
}

func TestNew_ConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		caps map[sdk.Capability]host.Binding
		want string
	}{
		{"MissingBinary", map[sdk.Capability]host.Binding{sdk.CapabilityMail: {Plugin: "nope"}}, "no dezky-provider-nope"},
		{"NoPlugin", map[sdk.Capability]host.Binding{sdk.CapabilityMail: {}}, "no plugin named"},
		{"ConflictingSecret", map[sdk.Capability]host.Binding{
			sdk.CapabilityMail:    {Plugin: "test", Secrets: host.Secrets{"token": "first-value"}},
			sdk.CapabilityStorage: {Plugin: "test", Secrets: host.Secrets{"token": "second-value"}},
		}, `secret "token" has conflicting values`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := host.New(host.Config{Dir: binDir, Capabilities: tt.caps})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "first-value") || strings.Contains(err.Error(), "second-value") {
				t.Fatalf("New() error %q leaks a secret value", err)
			}
		})
	}
}

func TestHost_CallsAndStatus(t *testing.T) {
	h, logs := MustStart(t, host.Config{Capabilities: bindAll("test", nil, nil)})
	ctx := t.Context()
	id := identity(t, h)
	u, err := id.CreateUser(ctx, sdk.CreateUserRequest{Username: "alice", Active: true})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if got, err := id.GetUser(ctx, u.ID); err != nil || got.Username != "alice" {
		t.Fatalf("GetUser = %+v, %v, want alice", got, err)
	}

	st := status(t, h, "test")
	if st.State != host.StateRunning || st.Breaker != host.BreakerClosed || st.Restarts != 0 || st.PID == 0 {
		t.Fatalf("Status = %+v, want running, closed breaker, no restarts, a PID", st)
	}
	if st.Description.ProtocolVersion != sdk.ProtocolVersion || len(st.Description.Capabilities) != 5 {
		t.Fatalf("Status description = %+v, want protocol %d with 5 capabilities", st.Description, sdk.ProtocolVersion)
	}
	if st.LastLatency <= 0 {
		t.Fatalf("Status.LastLatency = %v, want the last call's latency", st.LastLatency)
	}
	health := h.Health(ctx)
	if len(health) != 1 || health[0].Health == nil || !health[0].Health.Healthy || health[0].Health.Message == "" {
		t.Fatalf("Health = %+v, want one healthy plugin with a message", health)
	}
	if !strings.Contains(logs.String(), `"plugin":"test"`) {
		t.Fatalf("host log has no plugin=test records:\n%s", logs)
	}
}

func TestHost_UnhealthyUpstream(t *testing.T) {
	h, _ := MustStart(t, host.Config{Capabilities: bindAll("test", map[string]string{"unhealthy": "1"}, nil)})
	health := h.Health(t.Context())
	if health[0].Health == nil || health[0].Health.Healthy || !strings.Contains(health[0].Health.Message, "unhealthy") {
		t.Fatalf("Health = %+v, want unhealthy with the provider's message", health[0].Health)
	}
}

func TestHost_UnboundCapability(t *testing.T) {
	h, _ := MustStart(t, host.Config{Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: "test"}}})
	if _, err := h.Mail(); !sdk.IsUnsupported(err) {
		t.Fatalf("Mail() error = %v, want UNSUPPORTED", err)
	}
}

// TestHost_TypedErrors checks that every error code a provider returns
// reaches the host's caller intact.
func TestHost_TypedErrors(t *testing.T) {
	h, _ := MustStart(t, host.Config{Capabilities: bindAll("test", nil, nil)})
	ctx := t.Context()
	id := identity(t, h)
	mail, _ := h.Mail()

	g1, err := id.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := id.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: "two"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.CreateOIDCApp(ctx, sdk.CreateOIDCAppRequest{Slug: "app", GroupID: g1.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.CreateDomain(ctx, sdk.CreateDomainRequest{Name: "example.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: "a@example.test", Password: "pw-1234567"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		call func() error
		code sdk.Code
		is   func(error) bool
		msg  string
	}{
		{"NotFound", func() error { _, err := id.GetUser(ctx, "missing"); return err }, sdk.CodeNotFound, sdk.IsNotFound, `user "missing" not found`},
		{"Conflict", func() error {
			_, err := id.CreateOIDCApp(ctx, sdk.CreateOIDCAppRequest{Slug: "app", GroupID: g2.ID})
			return err
		}, sdk.CodeConflict, sdk.IsConflict, "bound to another group"},
		{"InUse", func() error { return mail.DeleteDomain(ctx, "example.test") }, sdk.CodeInUse, sdk.IsInUse, "has 1 mailboxes"},
		{"Invalid", func() error { _, err := id.CreateUser(ctx, sdk.CreateUserRequest{}); return err }, sdk.CodeInvalid, sdk.IsInvalid, "username is required"},
		{"Unavailable", func() error { _, err := id.GetUser(ctx, "fault:unavailable"); return err }, sdk.CodeUnavailable, sdk.IsUnavailable, "injected upstream outage"},
		{"Unauthenticated", func() error { _, err := mail.ParseMailWebhook(ctx, sdk.Webhook{Body: []byte(`[]`)}); return err }, sdk.CodeUnauthenticated, sdk.IsUnauthenticated, "webhook"},
		{"InternalUntyped", func() error { _, err := id.GetUser(ctx, "fault:internal"); return err }, sdk.CodeInternal, func(err error) bool { return sdk.ErrorCode(err) == sdk.CodeInternal }, "injected untyped failure"},
		{"Panic", func() error { _, err := id.GetUser(ctx, "fault:panic"); return err }, sdk.CodeInternal, func(err error) bool { return sdk.ErrorCode(err) == sdk.CodeInternal }, "injected panic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := sdk.ErrorCode(err); got != tt.code || !tt.is(err) {
				t.Fatalf("error = %v (code %q), want code %q", err, got, tt.code)
			}
			var e *sdk.Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("error = %v, want an *sdk.Error whose message contains %q", err, tt.msg)
			}
			if !errors.Is(err, &sdk.Error{Code: tt.code}) {
				t.Fatalf("errors.Is(%v, &sdk.Error{Code: %s}) = false", err, tt.code)
			}
			if !strings.Contains(err.Error(), "plugin test:") {
				t.Fatalf("error %q lacks the plugin context", err)
			}
		})
	}

	// The panic was recovered inside the plugin: same process, still serving.
	st := status(t, h, "test")
	if st.Restarts != 0 || st.State != host.StateRunning {
		t.Fatalf("after a provider panic: Status = %+v, want the same running process", st)
	}
	if _, err := id.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: "after-panic"}); err != nil {
		t.Fatalf("call after panic: %v", err)
	}
}

func TestHost_CallDeadline(t *testing.T) {
	h, _ := MustStart(t, host.Config{
		Capabilities: bindAll("test", nil, nil),
		CallTimeout:  100 * time.Millisecond,
		Breaker:      host.BreakerConfig{Failures: 100},
	})
	_, err := identity(t, h).GetUser(t.Context(), "fault:block")
	if !sdk.IsUnavailable(err) {
		t.Fatalf("blocked call error = %v, want UNAVAILABLE after the per-call deadline", err)
	}
	if _, err := identity(t, h).EnsureGroup(t.Context(), sdk.EnsureGroupRequest{Name: "after-deadline"}); err != nil {
		t.Fatalf("call after deadline: %v", err)
	}
}

// TestHost_CrashRestart kills the plugin process while calls are in flight.
func TestHost_CrashRestart(t *testing.T) {
	h, logs := MustStart(t, host.Config{
		Capabilities: bindAll("test", nil, nil),
		Backoff:      host.Backoff{Initial: 10 * time.Millisecond, Max: time.Second},
		Breaker:      host.BreakerConfig{Failures: 1000},
	})
	id := identity(t, h)
	before := status(t, h, "test")

	const inflight = 4
	errs := make(chan error, inflight)
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := id.GetUser(context.Background(), "fault:block")
			errs <- err
		}()
	}
	waitFor(t, "calls in flight inside the plugin", func() bool {
		return countLines(logs.String(), "blocking call started") >= inflight
	})
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", before.PID, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !sdk.IsUnavailable(err) {
			t.Errorf("in-flight call error = %v, want UNAVAILABLE", err)
		}
	}

	waitFor(t, "automatic restart", func() bool {
		st := status(t, h, "test")
		return st.State == host.StateRunning && st.Restarts >= 1 && st.PID != before.PID
	})
	after := status(t, h, "test")
	if after.LastError == "" {
		t.Errorf("Status after crash has no LastError: %+v", after)
	}
	if before.Socket == "" || after.Socket == before.Socket {
		t.Errorf("sockets before/after restart = %q/%q, want two different unix sockets", before.Socket, after.Socket)
	}
	if _, err := os.Stat(before.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale socket %s of the killed process: stat error = %v, want it removed", before.Socket, err)
	}
	u, err := id.CreateUser(t.Context(), sdk.CreateUserRequest{Username: "after-restart", Active: true})
	if err != nil {
		t.Fatalf("CreateUser after restart: %v", err)
	}
	if got, err := id.GetUser(t.Context(), u.ID); err != nil || got.Username != "after-restart" {
		t.Fatalf("GetUser after restart = %+v, %v", got, err)
	}
	if !strings.Contains(logs.String(), "plugin restart scheduled") {
		t.Errorf("host log does not record the restart")
	}
}

// TestHost_CrashByExit covers a plugin that dies on its own.
func TestHost_CrashByExit(t *testing.T) {
	h, _ := MustStart(t, host.Config{
		Capabilities: bindAll("test", nil, nil),
		Backoff:      host.Backoff{Initial: 10 * time.Millisecond, Max: time.Second},
		Breaker:      host.BreakerConfig{Failures: 1000},
	})
	id := identity(t, h)
	if _, err := id.GetUser(t.Context(), "fault:exit"); !sdk.IsUnavailable(err) {
		t.Fatalf("call that kills the plugin: error = %v, want UNAVAILABLE", err)
	}
	waitFor(t, "automatic restart", func() bool {
		st := status(t, h, "test")
		return st.State == host.StateRunning && st.Restarts >= 1
	})
	if _, err := id.EnsureGroup(t.Context(), sdk.EnsureGroupRequest{Name: "after-exit"}); err != nil {
		t.Fatalf("call after restart: %v", err)
	}
}

func TestHost_Breaker(t *testing.T) {
	h, _ := MustStart(t, host.Config{
		Capabilities: bindAll("test", nil, nil),
		Breaker:      host.BreakerConfig{Failures: 3, CoolDown: 50 * time.Millisecond},
	})
	ctx := t.Context()
	id := identity(t, h)

	// Business errors never trip the breaker.
	for range 10 {
		if _, err := id.GetUser(ctx, "missing"); !sdk.IsNotFound(err) {
			t.Fatalf("GetUser(missing) = %v, want NOT_FOUND", err)
		}
	}
	if st := status(t, h, "test"); st.Breaker != host.BreakerClosed {
		t.Fatalf("breaker after NOT_FOUND errors = %s, want closed", st.Breaker)
	}

	for i := range 3 {
		if _, err := id.GetUser(ctx, "fault:unavailable"); !sdk.IsUnavailable(err) {
			t.Fatalf("failure %d: error = %v, want UNAVAILABLE", i, err)
		}
	}
	if st := status(t, h, "test"); st.Breaker != host.BreakerOpen || st.ConsecutiveFailures != 3 {
		// The cool-down may already have passed on a slow machine.
		if st.Breaker != host.BreakerHalfOpen {
			t.Fatalf("breaker after 3 failures = %s (%d failures), want open", st.Breaker, st.ConsecutiveFailures)
		}
	}
	_, err := id.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: "while-open"})
	if err != nil && (!sdk.IsUnavailable(err) || !strings.Contains(err.Error(), "circuit breaker open")) {
		t.Fatalf("call while open: error = %v, want UNAVAILABLE circuit breaker open", err)
	}

	waitFor(t, "half-open breaker", func() bool { return status(t, h, "test").Breaker == host.BreakerHalfOpen })
	// A failing probe re-opens the breaker.
	if _, err := id.GetUser(ctx, "fault:unavailable"); !sdk.IsUnavailable(err) {
		t.Fatalf("failing probe: error = %v, want UNAVAILABLE", err)
	}
	waitFor(t, "half-open breaker again", func() bool { return status(t, h, "test").Breaker == host.BreakerHalfOpen })
	// A successful probe closes it.
	if _, err := id.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: "probe"}); err != nil {
		t.Fatalf("probe call: %v", err)
	}
	if st := status(t, h, "test"); st.Breaker != host.BreakerClosed || st.ConsecutiveFailures != 0 {
		t.Fatalf("breaker after successful probe = %s (%d failures), want closed", st.Breaker, st.ConsecutiveFailures)
	}
}

func TestHost_SecretsNeverLogged(t *testing.T) {
	const secret = "tok-9f8e7d6c5b4a-very-secret"
	secrets := host.Secrets{"token": secret}
	cfg := host.Config{
		Capabilities: bindAll("test", map[string]string{"leak_secret_to_log": "1", "region": "eu"}, secrets),
		Breaker:      host.BreakerConfig{Failures: 100},
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, cfg); strings.Contains(s, secret) {
			t.Fatalf("fmt %s of the config leaks the secret: %s", f, s)
		}
	}
	h, logs := MustStart(t, cfg)
	id := identity(t, h)

	// The provider echoes the secret in an error: the caller, the status
	// and the log must not see it.
	_, err := id.GetUser(t.Context(), "fault:secret")
	if !sdk.IsInvalid(err) {
		t.Fatalf("fault:secret error = %v, want INVALID", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error returned to the caller leaks the secret: %v", err)
	}
	if _, err := id.GetUser(t.Context(), "fault:unavailable"); !sdk.IsUnavailable(err) {
		t.Fatalf("fault:unavailable error = %v", err)
	}
	for _, st := range h.Health(t.Context()) {
		if s := fmt.Sprintf("%+v", st); strings.Contains(s, secret) {
			t.Fatalf("status leaks the secret: %s", s)
		}
	}
	_ = h.Close()

	out := logs.String()
	if !strings.Contains(out, `"msg":"configured"`) || !strings.Contains(out, "token") {
		t.Fatalf("expected the plugin's configure log line (with the secret's name) in the host log:\n%s", out)
	}
	if !strings.Contains(out, "leaking on purpose") {
		t.Fatalf("expected the plugin's deliberate leak line in the host log:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("host log contains the secret value:\n%s", out)
	}
}

// TestHost_ProtocolV1 loads a plugin built against protocol 1.
func TestHost_ProtocolV1(t *testing.T) {
	h, _ := MustStart(t, host.Config{Capabilities: map[sdk.Capability]host.Binding{
		sdk.CapabilityIdentity: {Plugin: "legacy", Settings: map[string]string{"url": "http://legacy.test"}, Secrets: host.Secrets{"token": "t"}},
	}})
	ctx := t.Context()
	st := status(t, h, "legacy")
	if st.State != host.StateRunning || st.Description.ProtocolVersion != 1 || st.Description.Name != "legacy" {
		t.Fatalf("Status = %+v, want a running protocol 1 plugin named legacy", st)
	}
	id := identity(t, h)
	g, err := id.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: "staff"})
	if err != nil || g.ID == "" {
		t.Fatalf("EnsureGroup = %+v, %v", g, err)
	}
	u, err := id.CreateUser(ctx, sdk.CreateUserRequest{Username: "bob", Email: "bob@example.test", Active: true})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if again, err := id.CreateUser(ctx, sdk.CreateUserRequest{Username: "bob", Active: true}); err != nil || again.ID != u.ID {
		t.Fatalf("CreateUser again = %+v, %v, want ID %s", again, err, u.ID)
	}
	if got, err := id.GetUser(ctx, u.ID); err != nil || got.Email != "bob@example.test" {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	if err := id.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := id.GetUser(ctx, u.ID); !sdk.IsNotFound(err) {
		t.Fatalf("GetUser after delete = %v, want NOT_FOUND", err)
	}
	if _, err := id.CreateUser(ctx, sdk.CreateUserRequest{}); !sdk.IsInvalid(err) {
		t.Fatalf("CreateUser without username = %v, want INVALID", err)
	}
	// Operations protocol 1 lacks are reported, not guessed.
	if err := id.SetPassword(ctx, sdk.SetPasswordRequest{UserID: u.ID, Password: "x-Password-1"}); !sdk.IsUnsupported(err) {
		t.Fatalf("SetPassword on protocol 1 = %v, want UNSUPPORTED", err)
	}
	health := h.Health(ctx)
	if health[0].Health == nil || !health[0].Health.Healthy {
		t.Fatalf("Health = %+v, want healthy", health[0].Health)
	}
}

func TestHost_ProtocolV1_MissingCapability(t *testing.T) {
	h, err := host.New(host.Config{Dir: binDir, Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityMail: {Plugin: "legacy"}},
		Backoff: host.Backoff{Initial: time.Hour}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "does not serve capability mail") {
		t.Fatalf("Start error = %v, want a capability mismatch", err)
	}
	if st := status(t, h, "legacy"); st.State != host.StateRestarting || st.LastError == "" {
		t.Fatalf("Status = %+v, want restarting with the start error", st)
	}
	m, _ := h.Mail()
	if err := m.DeleteDomain(t.Context(), "x.test"); !sdk.IsUnavailable(err) {
		t.Fatalf("call to a plugin that is not running = %v, want UNAVAILABLE", err)
	}
}
