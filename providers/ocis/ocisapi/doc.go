// Package ocisapi is a small typed client for the ownCloud Infinite Scale (oCIS)
// libregraph API and a parser/reader for the oCIS audit log.
//
// Contract (libregraph v1.0 as served by oCIS):
//
//   - Base "<instance>/graph/v1.0", "Authorization: Bearer <access token>"; tokens
//     come from a [TokenSource]: a [StaticToken], or a [RefreshTokenSource] that
//     mints them with the OIDC refresh_token grant (oCIS has no
//     client-credentials grant) and reports rotated refresh tokens.
//   - Errors are OData bodies {"error":{"code","message","innererror":{…}}} and map to
//     a [Kind]: itemNotFound → not found, nameAlreadyExists → conflict, invalidRequest
//     → invalid, 401/403 → unauthorized, 5xx/429 → unavailable.
//   - Spaces are drives: GET /drives?$filter=driveType eq 'project' (only a single
//     "eq" is supported upstream; the body may be {"value":[…]} or literally null),
//     POST /drives → 201, PATCH {"quota":{"total":N}} → 200, DELETE → 204 disables
//     (soft delete), DELETE with "Purge: T" → 204 purges but 400 while the space is
//     still enabled, PATCH with "Restore: T" → 200 re-enables. A disabled space has
//     root.deleted.state "trashed" and its quota only carries "total".
//   - Space names are not unique upstream; [Client.EnsureProjectSpace] finds by exact
//     name and reports an ambiguous match as KindConflict rather than guessing.
//     Names must not contain / \ . : ? * " > < |.
//   - POST /users answers 200 (the spec says 201; both are accepted); a duplicate
//     username is 409 nameAlreadyExists.
//   - The audit service writes JSON lines with PascalCase field names (Action, Time,
//     User, Message, SpaceID, …). For space, user and group events User is empty and
//     the executing user only appears in Message ("user '<id>' created …");
//     [ParseAuditLine] extracts it as Actor. [ReadAuditLog] reads complete lines from
//     a cursor "<inode>:<offset>" and restarts at 0 when the file was rotated (inode
//     changed) or truncated.
//
// Error strings never contain tokens or passwords.
package ocisapi
