// Package authentikapi is a small typed client for the Authentik admin API (v3).
//
// Contract (Authentik 2024.10 – 2026.2, base URL ".../api/v3", Bearer API token):
//
//   - Every path ends with "/". Creates answer 201, deletes, set_password and
//     add_user/remove_user answer 204 with an empty body.
//   - List endpoints use page-number pagination: the "pagination" object carries
//     integer next/previous page numbers where 0 means "none" (they are not URLs).
//   - PATCH of "attributes" replaces the whole dictionary, so every attribute
//     change is a read-modify-write merge done here (see [Client.UpdateUser]).
//   - PATCH {"is_active": false} makes Authentik delete every session of the user.
//   - POST core/users/{pk}/recovery/ answers 400 {"non_field_errors":"No recovery flow set."}
//     (a string, not a list) when the brand has no recovery flow; [Client.RecoveryLink]
//     turns that into a soft failure so callers can fall back to a password.
//   - Sessions can only be filtered by user__username; [Client.TerminateSessions]
//     additionally filters on the numeric user pk so other users' sessions can never be
//     ended by a username collision or an ignored filter.
//   - authenticators/admin/all/?user= returns an unpaginated JSON array.
//   - events/events/ has no created__gt filter (unknown filters are silently ignored),
//     so [Client.ListEventsSince] polls with ordering=-created and stops paging at the
//     cursor.
//   - OAuth2 providers take redirect_uris as a list of {matching_mode,url} (2024.12+).
//
// Errors are returned as *[Error], which carries the HTTP status, the upstream body and a
// [Kind] (not found, conflict, in use, unavailable, invalid, unauthorized). Use errors.Is
// with [ErrNotFound], [ErrConflict], [ErrInUse], [ErrUnavailable], [ErrInvalid] or
// [ErrUnauthorized]. Error strings never contain the API token or request bodies.
package authentikapi
