// Package server is the HTTP face of the platform: the GraphQL endpoint
// (POST/GET/WebSocket at /query), the playground at /, liveness (/healthz)
// and readiness (/readyz), and, in embedded mode, the development OIDC
// issuer.
//
// Contract of the GraphQL endpoint:
//   - Authentication: an OIDC bearer token (Authorization header, or the
//     authToken connection parameter on WebSockets) verified against the
//     configured issuers and audiences. No token: only introspection works;
//     any other field answers UNAUTHENTICATED. A bad token: HTTP 401.
//   - Every mutation operation runs in one database transaction with its
//     audit events; any error rolls the whole operation back.
//   - Idempotency-Key: a mutation replayed with the same key by the same
//     subject within 24 h returns the first response and writes nothing; the
//     same key with a different request is a CONFLICT.
//   - Errors carry extensions.code from package apperr; internal errors are
//     logged and answered with a generic message.
//   - Hostile queries are rejected before execution: depth, complexity and
//     page-size limits.
package server
