package ingest

import (
	"strings"
	"unicode"

	"github.com/dezky/platform/ent/auditevent"
)

// mapped is a known upstream action: its dotted verb and outcome.
type mapped struct {
	action  string
	outcome auditevent.Outcome
}

// identityActions maps authentik's event actions.
var identityActions = map[string]mapped{
	"login":                 {"authentik.login", auditevent.OutcomeSuccess},
	"login_failed":          {"authentik.login_failed", auditevent.OutcomeFailure},
	"logout":                {"authentik.logout", auditevent.OutcomeSuccess},
	"user_write":            {"authentik.user_updated", auditevent.OutcomeSuccess},
	"password_set":          {"authentik.password_changed", auditevent.OutcomeSuccess},
	"suspicious_request":    {"authentik.suspicious_request", auditevent.OutcomeDenied},
	"impersonation_started": {"authentik.impersonation_started", auditevent.OutcomeSuccess},
	"impersonation_ended":   {"authentik.impersonation_ended", auditevent.OutcomeSuccess},
	"invitation_used":       {"authentik.invitation_used", auditevent.OutcomeSuccess},
	"authorize_application": {"authentik.app_authorized", auditevent.OutcomeSuccess},
	"source_linked":         {"authentik.source_linked", auditevent.OutcomeSuccess},
	"secret_view":           {"authentik.secret_viewed", auditevent.OutcomeSuccess},
	"secret_rotate":         {"authentik.secret_rotated", auditevent.OutcomeSuccess},
	"model_created":         {"authentik.model_created", auditevent.OutcomeSuccess},
	"model_updated":         {"authentik.model_updated", auditevent.OutcomeSuccess},
	"model_deleted":         {"authentik.model_deleted", auditevent.OutcomeSuccess},
}

// mailActions maps the mail server's webhook event types, normalized by
// normalize (so "auth.failed", "auth-failed" and "AuthFailed" are one).
var mailActions = map[string]mapped{
	"auth_success":                {"stalwart.auth_success", auditevent.OutcomeSuccess},
	"auth_failed":                 {"stalwart.auth_failed", auditevent.OutcomeFailure},
	"auth_error":                  {"stalwart.auth_failed", auditevent.OutcomeFailure},
	"auth_banned":                 {"stalwart.auth_banned", auditevent.OutcomeDenied},
	"security_authentication_ban": {"stalwart.auth_banned", auditevent.OutcomeDenied},
	"account_created":             {"stalwart.account_created", auditevent.OutcomeSuccess},
	"principal_created":           {"stalwart.account_created", auditevent.OutcomeSuccess},
	"account_deleted":             {"stalwart.account_deleted", auditevent.OutcomeSuccess},
	"principal_deleted":           {"stalwart.account_deleted", auditevent.OutcomeSuccess},
	"password_changed":            {"stalwart.password_changed", auditevent.OutcomeSuccess},
	"mail_received":               {"stalwart.mail_received", auditevent.OutcomeSuccess},
	"message_ingest_ham":          {"stalwart.mail_received", auditevent.OutcomeSuccess},
	"mail_delivered":              {"stalwart.mail_delivered", auditevent.OutcomeSuccess},
	"delivery_delivered":          {"stalwart.mail_delivered", auditevent.OutcomeSuccess},
	"mail_failed":                 {"stalwart.mail_failed", auditevent.OutcomeFailure},
	"delivery_failed":             {"stalwart.mail_failed", auditevent.OutcomeFailure},
	"delivery_permanent_failure":  {"stalwart.mail_failed", auditevent.OutcomeFailure},
	"mail_rejected":               {"stalwart.mail_rejected", auditevent.OutcomeDenied},
	"policy_rejection":            {"stalwart.policy_rejection", auditevent.OutcomeDenied},
	"dkim_failure":                {"stalwart.dkim_failure", auditevent.OutcomeFailure},
	"dkim_fail":                   {"stalwart.dkim_failure", auditevent.OutcomeFailure},
	"dmarc_failure":               {"stalwart.dmarc_failure", auditevent.OutcomeFailure},
	"dmarc_fail":                  {"stalwart.dmarc_failure", auditevent.OutcomeFailure},
	"spam_detected":               {"stalwart.spam_detected", auditevent.OutcomeSuccess},
	"message_ingest_spam":         {"stalwart.spam_detected", auditevent.OutcomeSuccess},
}

// storageActions is the storage allow-list: the OCIS audit actions that
// are mutations.
var storageActions = map[string]mapped{
	"file_shared":              {"ocis.share_created", auditevent.OutcomeSuccess},
	"share_permission_updated": {"ocis.share_updated", auditevent.OutcomeSuccess},
	"share_name_updated":       {"ocis.share_updated", auditevent.OutcomeSuccess},
	"share_password_updated":   {"ocis.share_updated", auditevent.OutcomeSuccess},
	"share_expiration_updated": {"ocis.share_updated", auditevent.OutcomeSuccess},
	"file_unshared":            {"ocis.share_deleted", auditevent.OutcomeSuccess},
	"share_accepted":           {"ocis.share_accepted", auditevent.OutcomeSuccess},
	"share_declined":           {"ocis.share_declined", auditevent.OutcomeSuccess},
	"container_create":         {"ocis.folder_created", auditevent.OutcomeSuccess},
	"file_create":              {"ocis.file_created", auditevent.OutcomeSuccess},
	"file_delete":              {"ocis.file_deleted", auditevent.OutcomeSuccess},
	"file_rename":              {"ocis.file_renamed", auditevent.OutcomeSuccess},
	"file_trash_delete":        {"ocis.file_purged", auditevent.OutcomeSuccess},
	"file_trash_restore":       {"ocis.file_restored", auditevent.OutcomeSuccess},
	"file_version_restore":     {"ocis.file_version_restored", auditevent.OutcomeSuccess},
	"space_created":            {"ocis.space_created", auditevent.OutcomeSuccess},
	"space_renamed":            {"ocis.space_renamed", auditevent.OutcomeSuccess},
	"space_disabled":           {"ocis.space_disabled", auditevent.OutcomeSuccess},
	"space_enabled":            {"ocis.space_enabled", auditevent.OutcomeSuccess},
	"space_deleted":            {"ocis.space_deleted", auditevent.OutcomeSuccess},
	"space_shared":             {"ocis.space_shared", auditevent.OutcomeSuccess},
	"space_unshared":           {"ocis.space_unshared", auditevent.OutcomeSuccess},
	"space_updated":            {"ocis.space_updated", auditevent.OutcomeSuccess},
	"user_created":             {"ocis.user_created", auditevent.OutcomeSuccess},
	"user_deleted":             {"ocis.user_deleted", auditevent.OutcomeSuccess},
	"user_feature_changed":     {"ocis.user_updated", auditevent.OutcomeSuccess},
	"group_created":            {"ocis.group_created", auditevent.OutcomeSuccess},
	"group_deleted":            {"ocis.group_deleted", auditevent.OutcomeSuccess},
	"group_member_added":       {"ocis.group_member_added", auditevent.OutcomeSuccess},
	"group_member_removed":     {"ocis.group_member_removed", auditevent.OutcomeSuccess},
}

// storageReads is the storage read traffic the allow-list deliberately
// leaves out.
var storageReads = map[string]bool{
	"file_read":            true,
	"public_link_accessed": true,
	"file_downloaded":      true,
	"user_signed_in":       true,
}

// IdentityAction returns the dotted verb and outcome of an identity event
// action; an unknown action is "authentik.<raw>" with outcome SUCCESS.
func IdentityAction(raw string) (string, auditevent.Outcome) {
	return lookup(identityActions, SourceIdentity, raw, strings.TrimSpace(raw))
}

// MailAction returns the dotted verb and outcome of a mail webhook event
// type; an unknown type is "stalwart.<raw>" with outcome SUCCESS.
func MailAction(raw string) (string, auditevent.Outcome) {
	return lookup(mailActions, SourceMail, raw, normalize(raw))
}

// StorageAction returns the dotted verb and outcome of an OCIS audit
// action, and false for the read traffic the allow-list leaves out; an
// unknown action is "ocis.<raw>" with outcome SUCCESS.
func StorageAction(raw string) (string, auditevent.Outcome, bool) {
	key := normalize(raw)
	if storageReads[key] {
		return "", "", false
	}
	a, o := lookup(storageActions, SourceStorage, raw, key)
	return a, o, true
}

func lookup(m map[string]mapped, source, raw, key string) (string, auditevent.Outcome) {
	if v, ok := m[key]; ok {
		return v.action, v.outcome
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = "unknown"
	}
	return source + "." + raw, auditevent.OutcomeSuccess
}

// normalize lowercases an event name and turns CamelCase humps, dots,
// dashes and spaces into single underscores: "auth.failed",
// "auth-failed" and "AuthFailed" all become "auth_failed".
func normalize(s string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '.' || r == '-' || r == ' ' || r == '_':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			prevLower = false
		case unicode.IsUpper(r):
			if prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			prevLower = false
		default:
			b.WriteRune(r)
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
