package stalwartapi

import (
	"context"
	"sort"
	"strconv"
	"strings"
)

// MailboxSpec describes a mailbox (x:Account of @type User) to create.
type MailboxSpec struct {
	Address     string // local@domain; the domain must exist
	Password    string
	DisplayName string
	QuotaBytes  int64 // 0 = server default
	Locale      string
	Aliases     []string // extra addresses (local@domain); their domains must exist
}

// Mailbox is a user account.
type Mailbox struct {
	ID          string
	Address     string
	Name        string // local part
	DomainID    string
	DisplayName string
	QuotaBytes  int64 // 0 = server default
	Aliases     []string
	Frozen      bool
}

type wireAccount struct {
	ID          string         `json:"id"`
	Type        string         `json:"@type"`
	Name        string         `json:"name"`
	DomainID    string         `json:"domainId"`
	Description string         `json:"description"`
	Permissions map[string]any `json:"permissions"`
	Quotas      map[string]any `json:"quotas"`
	Aliases     map[string]struct {
		Name     string `json:"name"`
		DomainID string `json:"domainId"`
	} `json:"aliases"`
}

func (w wireAccount) frozen() bool {
	if w.Permissions == nil || w.Permissions["@type"] != "Merge" {
		return false
	}
	dis, _ := w.Permissions["disabledPermissions"].(map[string]any)
	v, _ := dis["authenticate"].(bool)
	return v
}

// SplitAddress splits "local@domain" and normalizes both parts to lower case.
func SplitAddress(addr string) (local, domain string, ok bool) {
	local, domain, ok = strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !ok || local == "" || strings.ContainsAny(local, " \t@") || !validDomain(domain) {
		return "", "", false
	}
	return local, domain, true
}

// CreateMailbox creates a user account on an existing domain. A taken address is
// KindConflict; an unknown domain is KindNotFound.
func (c *Client) CreateMailbox(ctx context.Context, spec MailboxSpec) (Mailbox, error) {
	local, domain, ok := SplitAddress(spec.Address)
	if !ok {
		return Mailbox{}, &Error{Op: "create mailbox", Kind: KindInvalid, Description: "invalid address"}
	}
	if spec.Password == "" {
		return Mailbox{}, &Error{Op: "create mailbox", Kind: KindInvalid, Description: "password is required"}
	}
	did, err := c.domainID(ctx, "create mailbox", domain)
	if err != nil {
		return Mailbox{}, err
	}
	obj := map[string]any{
		"@type":            "User",
		"name":             local,
		"domainId":         did,
		"credentials":      map[string]any{"0": map[string]any{"@type": "Password", "secret": spec.Password}},
		"roles":            map[string]any{"@type": "User"},
		"permissions":      map[string]any{"@type": "Inherit"},
		"encryptionAtRest": map[string]any{"@type": "Disabled"},
		"locale":           orDefault(spec.Locale, "en_US"),
	}
	if spec.DisplayName != "" {
		obj["description"] = spec.DisplayName
	}
	if spec.QuotaBytes > 0 {
		obj["quotas"] = map[string]any{"maxDiskQuota": spec.QuotaBytes}
	}
	if len(spec.Aliases) > 0 {
		aliases := map[string]any{}
		for i, addr := range spec.Aliases {
			al, ad, ok := SplitAddress(addr)
			if !ok {
				return Mailbox{}, &Error{Op: "create mailbox", Kind: KindInvalid, Description: "invalid alias address"}
			}
			aid, err := c.domainID(ctx, "create mailbox", ad)
			if err != nil {
				return Mailbox{}, err
			}
			aliases[strconv.Itoa(i)] = map[string]any{"name": al, "domainId": aid, "enabled": true}
		}
		obj["aliases"] = aliases
	}
	res, err := c.call(ctx, "create mailbox", call{"x:Account/set", map[string]any{"create": map[string]any{"a": obj}}})
	if err != nil {
		return Mailbox{}, err
	}
	sr, err := decode[setResponse]("create mailbox", res[0])
	if err != nil {
		return Mailbox{}, err
	}
	if se, ok := sr.NotCreated["a"]; ok {
		return Mailbox{}, setErr("create mailbox", se)
	}
	if _, ok := sr.Created["a"]; !ok {
		return Mailbox{}, &Error{Op: "create mailbox", Kind: KindUnavailable, Description: "account neither created nor rejected"}
	}
	return c.FindMailbox(ctx, local+"@"+domain)
}

// FindMailbox looks a mailbox up by address (KindNotFound when absent).
func (c *Client) FindMailbox(ctx context.Context, address string) (Mailbox, error) {
	local, domain, ok := SplitAddress(address)
	if !ok {
		return Mailbox{}, &Error{Op: "find mailbox", Kind: KindInvalid, Description: "invalid address"}
	}
	did, err := c.domainID(ctx, "find mailbox", domain)
	if err != nil {
		return Mailbox{}, err
	}
	res, err := c.call(ctx, "find mailbox",
		call{"x:Account/query", map[string]any{"filter": map[string]any{"name": local, "domainId": did}}},
		call{"x:Account/get", map[string]any{
			"#ids":       map[string]any{"resultOf": "c0", "name": "x:Account/query", "path": "/ids"},
			"properties": []string{"id", "@type", "name", "domainId", "description", "permissions", "quotas", "aliases"},
		}})
	if err != nil {
		return Mailbox{}, err
	}
	gr, err := decode[getResponse[wireAccount]]("find mailbox", res[1])
	if err != nil {
		return Mailbox{}, err
	}
	for _, w := range gr.List {
		if strings.EqualFold(w.Name, local) && w.DomainID == did {
			mb := Mailbox{ID: w.ID, Address: local + "@" + domain, Name: local, DomainID: did, DisplayName: w.Description, Frozen: w.frozen()}
			if q, ok := w.Quotas["maxDiskQuota"].(float64); ok {
				mb.QuotaBytes = int64(q)
			}
			if len(w.Aliases) > 0 {
				names, err := c.domainNames(ctx)
				if err != nil {
					return Mailbox{}, err
				}
				keys := make([]string, 0, len(w.Aliases))
				for k := range w.Aliases {
					keys = append(keys, k)
				}
				sort.Slice(keys, func(i, j int) bool {
					return len(keys[i]) < len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
				})
				for _, k := range keys {
					al := w.Aliases[k]
					if dn, ok := names[al.DomainID]; ok {
						mb.Aliases = append(mb.Aliases, al.Name+"@"+dn)
					}
				}
			}
			return mb, nil
		}
	}
	return Mailbox{}, &Error{Op: "find mailbox", Kind: KindNotFound, Type: "notFound", Description: "no mailbox " + local + "@" + domain}
}

func (c *Client) updateAccount(ctx context.Context, op, address string, patch map[string]any) error {
	mb, err := c.FindMailbox(ctx, address)
	if err != nil {
		return err
	}
	res, err := c.call(ctx, op, call{"x:Account/set", map[string]any{"update": map[string]any{mb.ID: patch}}})
	if err != nil {
		return err
	}
	sr, err := decode[setResponse](op, res[0])
	if err != nil {
		return err
	}
	if se, ok := sr.NotUpdated[mb.ID]; ok {
		return setErr(op, se)
	}
	return nil
}

// DeleteMailbox deletes the account (and its mail). Unknown is KindNotFound.
func (c *Client) DeleteMailbox(ctx context.Context, address string) error {
	mb, err := c.FindMailbox(ctx, address)
	if err != nil {
		return err
	}
	res, err := c.call(ctx, "delete mailbox", call{"x:Account/set", map[string]any{"destroy": []string{mb.ID}}})
	if err != nil {
		return err
	}
	sr, err := decode[setResponse]("delete mailbox", res[0])
	if err != nil {
		return err
	}
	if se, ok := sr.NotDestroyed[mb.ID]; ok {
		return setErr("delete mailbox", se)
	}
	return nil
}

// FreezeMailbox blocks logins by disabling the "authenticate" permission; the
// password is kept.
func (c *Client) FreezeMailbox(ctx context.Context, address string) error {
	return c.updateAccount(ctx, "freeze mailbox", address, map[string]any{"permissions": map[string]any{
		"@type": "Merge", "enabledPermissions": map[string]any{}, "disabledPermissions": map[string]any{"authenticate": true},
	}})
}

// UnfreezeMailbox restores inherited permissions.
func (c *Client) UnfreezeMailbox(ctx context.Context, address string) error {
	return c.updateAccount(ctx, "unfreeze mailbox", address, map[string]any{"permissions": map[string]any{"@type": "Inherit"}})
}

// SetMailboxPassword replaces the account's credentials with one password.
func (c *Client) SetMailboxPassword(ctx context.Context, address, password string) error {
	if password == "" {
		return &Error{Op: "set mailbox password", Kind: KindInvalid, Description: "empty password"}
	}
	return c.updateAccount(ctx, "set mailbox password", address, map[string]any{
		"credentials": map[string]any{"0": map[string]any{"@type": "Password", "secret": password}},
	})
}

// domainNames maps domain ids to names.
func (c *Client) domainNames(ctx context.Context) (map[string]string, error) {
	list, err := c.ListDomains(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(list))
	for _, d := range list {
		out[d.ID] = d.Name
	}
	return out, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
