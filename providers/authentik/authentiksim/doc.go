// Package authentiksim is a stateful, concurrency-safe simulator of the subset of the
// Authentik admin API (/api/v3) that Dezky uses. It is an http.Handler for tests and
// for the embedded demo server.
//
// Behaviour follows the upstream contract (Authentik 2024.12 – 2026.2):
//
//   - Authorization: "Bearer <token>"; a missing, foreign-scheme or unknown token is
//     answered 403 {"detail": ...} (authentik's token authentication declares no
//     WWW-Authenticate header, so DRF answers 403, not 401).
//   - Paths end with "/". Creates answer 201, deletes, set_password, add_user and
//     remove_user answer 204 with an empty body. Unknown objects answer 404
//     {"detail":"Not found."}; out-of-range pages answer 404 {"detail":"Invalid page."}.
//   - Lists use page-number pagination: {"pagination":{next,previous,count,current,
//     total_pages,start_index,end_index},"results":[...],"autocomplete":{}} where
//     next/previous are page numbers and 0 means none. Unknown query parameters are
//     ignored (so events/events/?created__gt=… returns everything).
//   - Validation errors are 400 {"field":["message"]}; duplicates say "This field must
//     be unique." (users) or "… with this … already exists." (groups, flows, apps).
//   - PATCH replaces "attributes" and "groups" wholesale; PATCH is_active=false deletes
//     all the user's sessions.
//   - POST core/users/{pk}/recovery/ answers 400 {"non_field_errors":"No recovery flow
//     set."} while the default brand has no flow_recovery, 400 "Recovery flow not
//     applicable to user" when that flow requires an unauthenticated user, otherwise
//     200 {"link":"<public>/if/flow/<slug>/?flow_token=<key>"} (a new link replaces the
//     previous token).
//   - core/authenticated_sessions/ filters only by user__username; authenticators/admin/all/
//     returns a plain array; events/events/ filters action by substring, username, and
//     supports ordering=created|-created (default -created).
//   - OAuth2 providers require name, authorization_flow, invalidation_flow and
//     redirect_uris as a list of {matching_mode,url}; client_id/client_secret are
//     generated; setup_urls reports the per-provider issuer
//     "<public>/application/o/<app-slug>/" once an application uses the provider.
//
// The simulator starts with the objects a fresh authentik install has: the superuser
// "akadmin" (pk 1, owner of the admin token), the default authentication,
// authorization and invalidation flows, the default identification and
// password-change stages, and a default brand without a recovery flow.
//
// Mutations record authentik-style events (model_created, model_updated,
// model_deleted, password_set, login, login_failed, logout, …). Tests and the demo can
// add sessions, authenticators and logins, emit arbitrary events, and inject faults
// with [Sim.FailNext], [Sim.SetDelay] and [Sim.SetOutage].
package authentiksim
