package ocisapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Quota is a drive quota in bytes. On disabled drives only Total is set.
type Quota struct {
	Total     int64  `json:"total"`
	Used      int64  `json:"used"`
	Remaining int64  `json:"remaining"`
	Deleted   int64  `json:"deleted"`
	State     string `json:"state"` // normal, nearing, critical, exceeded
}

// Drive is a libregraph drive (space).
type Drive struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	DriveType            string    `json:"driveType"`
	DriveAlias           string    `json:"driveAlias"`
	Description          string    `json:"description"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	Quota                *Quota    `json:"quota"`
	Root                 struct {
		ID        string `json:"id"`
		WebDavURL string `json:"webDavUrl"`
		Deleted   *struct {
			State string `json:"state"`
		} `json:"deleted"`
	} `json:"root"`
	WebURL string `json:"webUrl"`
}

// Disabled reports whether the drive is disabled (soft-deleted).
func (d Drive) Disabled() bool { return d.Root.Deleted != nil && d.Root.Deleted.State == "trashed" }

// SpaceSpec describes a project space.
type SpaceSpec struct {
	Name        string
	QuotaBytes  int64 // 0 = unlimited / server default
	Description string
	Alias       string // driveAlias, e.g. "project/acme"
}

const forbiddenSpaceChars = `/\.:?*"><|`

// ValidSpaceName reports whether oCIS accepts name for a space.
func ValidSpaceName(name string) bool {
	name = strings.TrimSpace(name)
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, forbiddenSpaceChars)
}

func drivePath(id string) string { return "/drives/" + url.PathEscape(id) }

// ListDrives lists drives, optionally filtered by an OData $filter expression
// (oCIS supports a single "eq" on driveType or id). A null body is an empty list.
func (c *Client) ListDrives(ctx context.Context, filter string) ([]Drive, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("$filter", filter)
	}
	var out struct {
		Value []Drive `json:"value"`
	}
	var raw json.RawMessage
	if err := c.do(ctx, "list drives", http.MethodGet, "/drives", q, nil, nil, &raw); err != nil {
		return nil, err
	}
	if string(raw) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &Error{Op: "list drives", Kind: KindUnavailable, Err: err}
	}
	return out.Value, nil
}

// ListProjectSpaces lists all project spaces (needs the list-all-spaces permission).
func (c *Client) ListProjectSpaces(ctx context.Context) ([]Drive, error) {
	all, err := c.ListDrives(ctx, "driveType eq 'project'")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, d := range all {
		if d.DriveType == "project" {
			out = append(out, d)
		}
	}
	return out, nil
}

// FindProjectSpace returns the project space named name (exact match). None is
// KindNotFound; several spaces with that name is KindConflict.
func (c *Client) FindProjectSpace(ctx context.Context, name string) (Drive, error) {
	spaces, err := c.ListProjectSpaces(ctx)
	if err != nil {
		return Drive{}, err
	}
	var found []Drive
	for _, d := range spaces {
		if d.Name == strings.TrimSpace(name) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return Drive{}, &Error{Op: "find project space", Kind: KindNotFound, Message: "no project space named " + name}
	case 1:
		return found[0], nil
	}
	return Drive{}, &Error{Op: "find project space", Kind: KindConflict, Message: "several project spaces named " + name}
}

// FindProjectSpaceByAlias returns the project space whose driveAlias is alias.
// None is KindNotFound; several is KindConflict.
func (c *Client) FindProjectSpaceByAlias(ctx context.Context, alias string) (Drive, error) {
	spaces, err := c.ListProjectSpaces(ctx)
	if err != nil {
		return Drive{}, err
	}
	var found []Drive
	for _, d := range spaces {
		if d.DriveAlias == alias {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return Drive{}, &Error{Op: "find project space", Kind: KindNotFound, Message: "no project space with alias " + alias}
	case 1:
		return found[0], nil
	}
	return Drive{}, &Error{Op: "find project space", Kind: KindConflict, Message: "several project spaces with alias " + alias}
}

// SpaceUpdate changes a space; nil fields are left unchanged.
type SpaceUpdate struct {
	Name        *string
	Description *string
	QuotaBytes  *int64
}

// UpdateSpace applies a partial update to a space.
func (c *Client) UpdateSpace(ctx context.Context, id string, upd SpaceUpdate) (Drive, error) {
	body := map[string]any{}
	if upd.Name != nil {
		if !ValidSpaceName(*upd.Name) {
			return Drive{}, &Error{Op: "update space", Kind: KindInvalid, Message: "invalid space name"}
		}
		body["name"] = strings.TrimSpace(*upd.Name)
	}
	if upd.Description != nil {
		body["description"] = *upd.Description
	}
	if upd.QuotaBytes != nil {
		if *upd.QuotaBytes < 0 {
			return Drive{}, &Error{Op: "update space", Kind: KindInvalid, Message: "negative quota"}
		}
		body["quota"] = map[string]any{"total": *upd.QuotaBytes}
	}
	var d Drive
	err := c.do(ctx, "update space", http.MethodPatch, drivePath(id), nil, nil, body, &d)
	return d, err
}

// Ping checks reachability and the token by listing the caller's drives.
func (c *Client) Ping(ctx context.Context) error {
	var out json.RawMessage
	return c.do(ctx, "ping", http.MethodGet, "/me/drives", nil, nil, nil, &out)
}

// GetDrive fetches a drive by id.
func (c *Client) GetDrive(ctx context.Context, id string) (Drive, error) {
	var d Drive
	err := c.do(ctx, "get drive", http.MethodGet, drivePath(id), nil, nil, nil, &d)
	return d, err
}

// CreateProjectSpace creates a project space (201).
func (c *Client) CreateProjectSpace(ctx context.Context, spec SpaceSpec) (Drive, error) {
	if !ValidSpaceName(spec.Name) {
		return Drive{}, &Error{Op: "create space", Kind: KindInvalid, Message: "invalid space name"}
	}
	if spec.QuotaBytes < 0 {
		return Drive{}, &Error{Op: "create space", Kind: KindInvalid, Message: "negative quota"}
	}
	body := map[string]any{"name": strings.TrimSpace(spec.Name), "driveType": "project"}
	if spec.Description != "" {
		body["description"] = spec.Description
	}
	if spec.Alias != "" {
		body["driveAlias"] = spec.Alias
	}
	if spec.QuotaBytes > 0 {
		body["quota"] = map[string]any{"total": spec.QuotaBytes}
	}
	var d Drive
	err := c.do(ctx, "create space", http.MethodPost, "/drives", nil, nil, body, &d)
	return d, err
}

// EnsureProjectSpace returns the project space named spec.Name, creating it when
// missing, re-enabling it when disabled and adjusting its quota when it differs.
func (c *Client) EnsureProjectSpace(ctx context.Context, spec SpaceSpec) (d Drive, created bool, err error) {
	d, err = c.FindProjectSpace(ctx, spec.Name)
	if errors.Is(err, ErrNotFound) {
		d, err = c.CreateProjectSpace(ctx, spec)
		return d, err == nil, err
	}
	if err != nil {
		return Drive{}, false, err
	}
	if d.Disabled() {
		if d, err = c.RestoreSpace(ctx, d.ID); err != nil {
			return Drive{}, false, err
		}
	}
	if d.Quota == nil || d.Quota.Total != spec.QuotaBytes {
		if d, err = c.SetQuota(ctx, d.ID, spec.QuotaBytes); err != nil {
			return Drive{}, false, err
		}
	}
	return d, false, nil
}

// Usage returns the drive's quota and usage.
func (c *Client) Usage(ctx context.Context, id string) (Quota, error) {
	d, err := c.GetDrive(ctx, id)
	if err != nil {
		return Quota{}, err
	}
	if d.Quota == nil {
		return Quota{}, &Error{Op: "usage", Kind: KindInvalid, Message: "drive has no quota"}
	}
	return *d.Quota, nil
}

// SetQuota sets the drive's total quota in bytes (0 = unlimited).
func (c *Client) SetQuota(ctx context.Context, id string, total int64) (Drive, error) {
	if total < 0 {
		return Drive{}, &Error{Op: "set quota", Kind: KindInvalid, Message: "negative quota"}
	}
	var d Drive
	err := c.do(ctx, "set quota", http.MethodPatch, drivePath(id), nil, nil, map[string]any{"quota": map[string]any{"total": total}}, &d)
	return d, err
}

// DisableSpace disables (soft-deletes) a space (204).
func (c *Client) DisableSpace(ctx context.Context, id string) error {
	return c.do(ctx, "disable space", http.MethodDelete, drivePath(id), nil, nil, nil, nil)
}

// RestoreSpace re-enables a disabled space.
func (c *Client) RestoreSpace(ctx context.Context, id string) (Drive, error) {
	var d Drive
	err := c.do(ctx, "restore space", http.MethodPatch, drivePath(id), nil, http.Header{"Restore": {"T"}}, map[string]any{}, &d)
	return d, err
}

// DeleteSpace permanently deletes a space: it is disabled first when still enabled
// (oCIS refuses to purge an enabled space), then purged.
func (c *Client) DeleteSpace(ctx context.Context, id string) error {
	d, err := c.GetDrive(ctx, id)
	if err != nil {
		return err
	}
	if !d.Disabled() {
		if err := c.DisableSpace(ctx, id); err != nil {
			return err
		}
	}
	return c.do(ctx, "purge space", http.MethodDelete, drivePath(id), nil, http.Header{"Purge": {"T"}}, nil, nil)
}
