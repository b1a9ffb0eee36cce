package testprovider

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/dezky/platform/plugins/sdk"
)

func (p *Provider) auditLocked(format string, args ...any) {
	p.auditLines = append(p.auditLines, fmt.Sprintf(format, args...))
}

func (p *Provider) spaceLocked(id string) (*sdk.Space, error) {
	s, ok := p.spaces[id]
	if !ok {
		return nil, sdk.NotFound("space %q not found", id)
	}
	return s, nil
}

// EnsureSpace implements sdk.Storage.
func (p *Provider) EnsureSpace(_ context.Context, req sdk.EnsureSpaceRequest) (sdk.Space, error) {
	if req.TenantKey == "" {
		return sdk.Space{}, sdk.Invalid("tenant key is required")
	}
	if req.QuotaBytes < 0 {
		return sdk.Space{}, sdk.Invalid("negative quota")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.spaces {
		if s.TenantKey == req.TenantKey {
			if req.Name != "" {
				s.Name = req.Name
			}
			s.QuotaBytes = req.QuotaBytes
			return *s, nil
		}
	}
	s := &sdk.Space{ID: p.nextID("space"), TenantKey: req.TenantKey, Name: req.Name, QuotaBytes: req.QuotaBytes}
	p.spaces[s.ID] = s
	p.auditLocked("space_created id=%s tenant=%s", s.ID, s.TenantKey)
	return *s, nil
}

// GetUsage implements sdk.Storage.
func (p *Provider) GetUsage(_ context.Context, spaceID string) (sdk.Usage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.spaceLocked(spaceID)
	if err != nil {
		return sdk.Usage{}, err
	}
	state := "normal"
	if s.Disabled {
		state = "disabled"
	}
	return sdk.Usage{Total: s.QuotaBytes, Used: 0, Remaining: s.QuotaBytes, State: state}, nil
}

// SetQuota implements sdk.Storage.
func (p *Provider) SetQuota(_ context.Context, spaceID string, quotaBytes int64) error {
	if quotaBytes < 0 {
		return sdk.Invalid("negative quota")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.spaceLocked(spaceID)
	if err != nil {
		return err
	}
	s.QuotaBytes = quotaBytes
	p.auditLocked("quota_set id=%s bytes=%d", s.ID, quotaBytes)
	return nil
}

// DisableSpace implements sdk.Storage.
func (p *Provider) DisableSpace(_ context.Context, spaceID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.spaceLocked(spaceID)
	if err != nil {
		return err
	}
	s.Disabled = true
	p.auditLocked("space_disabled id=%s", s.ID)
	return nil
}

// DeleteSpace implements sdk.Storage.
func (p *Provider) DeleteSpace(_ context.Context, spaceID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.spaceLocked(spaceID); err != nil {
		return err
	}
	delete(p.spaces, spaceID)
	p.auditLocked("space_deleted id=%s", spaceID)
	return nil
}

// CreateStorageUser implements sdk.Storage.
func (p *Provider) CreateStorageUser(_ context.Context, req sdk.CreateStorageUserRequest) (sdk.StorageUser, error) {
	if req.Username == "" {
		return sdk.StorageUser{}, sdk.Invalid("username is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.storeUsers {
		if u.Username == req.Username {
			return *u, nil
		}
	}
	u := &sdk.StorageUser{ID: p.nextID("suser"), Username: req.Username, Name: req.Name, Email: req.Email}
	p.storeUsers[u.ID] = u
	p.auditLocked("user_created id=%s", u.ID)
	return *u, nil
}

// DeleteStorageUser implements sdk.Storage.
func (p *Provider) DeleteStorageUser(_ context.Context, userID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.storeUsers[userID]; !ok {
		return sdk.NotFound("storage user %q not found", userID)
	}
	delete(p.storeUsers, userID)
	p.auditLocked("user_deleted id=%s", userID)
	return nil
}

// ReadAuditLog implements sdk.Storage.
func (p *Provider) ReadAuditLog(_ context.Context, req sdk.ReadAuditLogRequest) (sdk.AuditLogPage, error) {
	start := 0
	if req.Cursor != "" {
		n, err := strconv.Atoi(req.Cursor)
		if err != nil || n < 0 {
			return sdk.AuditLogPage{}, sdk.Invalid("bad cursor %q", req.Cursor)
		}
		start = n
	}
	limit := req.Max
	if limit <= 0 {
		limit = 100
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start = min(start, len(p.auditLines))
	end := min(start+limit, len(p.auditLines))
	ids := make([]string, 0, end-start)
	for i := start; i < end; i++ {
		ids = append(ids, "line:"+strconv.Itoa(i))
	}
	return sdk.AuditLogPage{Lines: slices.Clone(p.auditLines[start:end]), NextCursor: strconv.Itoa(end), LineIDs: ids}, nil
}
