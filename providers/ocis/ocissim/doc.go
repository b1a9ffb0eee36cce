// Package ocissim is a stateful, concurrency-safe simulator of the ownCloud Infinite
// Scale libregraph API subset Dezky uses (drives/spaces and users), plus the audit
// service's JSON-lines log. It is an http.Handler for tests and the embedded demo.
//
// Behaviour follows the upstream contract:
//
//   - Routes under /graph/v1.0 (trailing slashes tolerated): GET/POST /drives,
//     GET /me/drives, GET/PATCH/DELETE /drives/{id}, GET/POST /users,
//     GET/PATCH/DELETE /users/{id-or-username}. "Authorization: Bearer <token>" is
//     required; failures answer 401 with an OData error.
//   - Errors are OData bodies {"error":{"code","message","innererror":{"date",
//     "request-id"}}}.
//   - $filter supports a single "eq" on driveType or id; any other operator answers
//     501 notSupported "unsupported filter operand: …". $orderby accepts name or
//     lastModifiedDateTime with asc/desc, else 400.
//   - POST /drives decodes strictly (unknown field → 400 "invalid body schema
//     definition"), validates the name (no / \ . : ? * " > < |, ≤255 chars) and
//     driveType, and answers 201. Drive ids are "<storageid>$<spaceid>".
//   - PATCH /drives/{id} sets name/description/driveAlias/quota.total (200); with
//     header "Restore: T" it re-enables a disabled space.
//   - DELETE /drives/{id} disables (204; root.deleted.state becomes "trashed" and the
//     quota only reports total); with "Purge: T" it purges a disabled space (204) and
//     answers 400 "error: bad request: can't purge enabled space" for an enabled one.
//     Personal spaces answer 405 "drive cannot be deleted".
//   - Quota state: used/total ≤75% normal, ≤90% nearing, ≤99% critical, else
//     exceeded; total 0 means unlimited with remaining = free disk space.
//   - POST /users answers 200 (not 201, as upstream), 409 nameAlreadyExists on a
//     duplicate username and the upstream 400 messages for missing displayName /
//     onPremisesSamAccountName, bad usernames, bad mail, client-supplied id.
//     Deleting a user removes their personal space; deleting yourself is 403.
//
// With Options.AuditLogPath set, mutations append audit lines exactly as the audit
// service's JSON file writer does (PascalCase fields, User "" for space and user
// events, the actor only in Message). Tests and the demo can also append arbitrary
// audit events ([Sim.WriteAudit]), set space usage ([Sim.SetUsage]) and inject
// faults ([Sim.FailNext], [Sim.SetDelay], [Sim.SetOutage]).
package ocissim
