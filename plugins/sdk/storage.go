package sdk

import "context"

// Storage drives a file storage service: one project space per tenant with
// a quota, storage users, and the audit log.
//
// Contract, checked by conformance.RunStorage:
//   - EnsureSpace is idempotent on TenantKey: a repeat returns the same
//     space ID (and applies Name and QuotaBytes when they differ).
//   - GetUsage, SetQuota, DisableSpace and DeleteSpace fail with NOT_FOUND
//     for an unknown space; after DeleteSpace, GetUsage fails with
//     NOT_FOUND. DeleteSpace disables the space first when the upstream
//     requires it.
//   - CreateStorageUser is idempotent on Username; DeleteStorageUser fails
//     with NOT_FOUND for an unknown user.
//   - Negative quotas and empty keys fail with INVALID.
type Storage interface {
	EnsureSpace(ctx context.Context, req EnsureSpaceRequest) (Space, error)
	GetUsage(ctx context.Context, spaceID string) (Usage, error)
	SetQuota(ctx context.Context, spaceID string, quotaBytes int64) error
	DisableSpace(ctx context.Context, spaceID string) error
	DeleteSpace(ctx context.Context, spaceID string) error
	CreateStorageUser(ctx context.Context, req CreateStorageUserRequest) (StorageUser, error)
	DeleteStorageUser(ctx context.Context, userID string) error
	// ReadAuditLog returns up to Max lines after Cursor (empty: from the
	// start). NextCursor resumes after the last line; a provider tailing a
	// file makes the cursor survive rotation and truncation.
	ReadAuditLog(ctx context.Context, req ReadAuditLogRequest) (AuditLogPage, error)
}

// EnsureSpaceRequest ensures a project space; TenantKey is the idempotency
// key. QuotaBytes 0 means unlimited.
type EnsureSpaceRequest struct {
	TenantKey  string
	Name       string
	QuotaBytes int64
}

// Space is a project space.
type Space struct {
	ID         string
	TenantKey  string
	Name       string
	QuotaBytes int64
	Disabled   bool
}

// Usage reports a space's quota usage in bytes. State is the upstream's
// quota state (for example "normal", "nearing", "critical", "exceeded").
type Usage struct {
	Total     int64
	Used      int64
	Remaining int64
	State     string
}

// CreateStorageUserRequest creates a storage user; Username is the
// idempotency key.
type CreateStorageUserRequest struct {
	Username string
	Name     string
	Email    string
}

// StorageUser is a storage account.
type StorageUser struct {
	ID       string
	Username string
	Name     string
	Email    string
}

// ReadAuditLogRequest reads audit log lines from a cursor.
type ReadAuditLogRequest struct {
	Cursor string
	Max    int
}

// AuditLogPage is a batch of raw audit log lines.
type AuditLogPage struct {
	Lines      []string
	NextCursor string
	// LineIDs, when set, has one stable identifier per line (parallel to
	// Lines) that stays the same whenever the line is read again, for
	// example "<inode>:<offset>". The host deduplicates on it; without it
	// two identical lines cannot be told apart.
	LineIDs []string
}
