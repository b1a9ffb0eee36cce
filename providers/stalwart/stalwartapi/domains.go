package stalwartapi

import (
	"context"
	"strings"
	"time"
)

// Domain is a mail domain managed by Stalwart.
type Domain struct {
	ID          string
	Name        string
	Description string
	Enabled     bool
	CreatedAt   time.Time
	// Records are the DNS records Stalwart asks to publish (from dnsZoneFile);
	// only filled by GetDomain.
	Records []DNSRecord
	// DKIMPending is true when no DKIM key record is published yet (keys are
	// generated asynchronously after domain creation). Only set by GetDomain.
	DKIMPending bool
}

type wireDomain struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	IsEnabled   *bool     `json:"isEnabled"`
	CreatedAt   time.Time `json:"createdAt"`
	DNSZoneFile string    `json:"dnsZoneFile"`
}

func (w wireDomain) domain() Domain {
	return Domain{ID: w.ID, Name: w.Name, Description: w.Description, Enabled: w.IsEnabled == nil || *w.IsEnabled, CreatedAt: w.CreatedAt}
}

var domainListProps = []string{"id", "name", "description", "isEnabled", "createdAt"}

// NormalizeDomain lowercases and trims a domain name (and its trailing dot).
func NormalizeDomain(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// CreateDomain creates a domain with automatic DKIM management. An existing domain
// of that name is KindConflict.
func (c *Client) CreateDomain(ctx context.Context, name, description string) (Domain, error) {
	name = NormalizeDomain(name)
	if !validDomain(name) {
		return Domain{}, &Error{Op: "create domain", Kind: KindInvalid, Description: "invalid domain name"}
	}
	obj := map[string]any{"name": name, "isEnabled": true}
	if description != "" {
		obj["description"] = description
	}
	res, err := c.call(ctx, "create domain", call{"x:Domain/set", map[string]any{"create": map[string]any{"d": obj}}})
	if err != nil {
		return Domain{}, err
	}
	sr, err := decode[setResponse]("create domain", res[0])
	if err != nil {
		return Domain{}, err
	}
	if se, ok := sr.NotCreated["d"]; ok {
		return Domain{}, setErr("create domain", se)
	}
	created, ok := sr.Created["d"]
	if !ok {
		return Domain{}, &Error{Op: "create domain", Kind: KindUnavailable, Description: "domain neither created nor rejected"}
	}
	w, err := decode[wireDomain]("create domain", created)
	if err != nil {
		return Domain{}, err
	}
	d := Domain{ID: w.ID, Name: name, Description: description, Enabled: true, CreatedAt: w.CreatedAt}
	return d, nil
}

// ListDomains returns all domains (without DNS records).
func (c *Client) ListDomains(ctx context.Context) ([]Domain, error) {
	res, err := c.call(ctx, "list domains",
		call{"x:Domain/query", map[string]any{}},
		call{"x:Domain/get", map[string]any{
			"#ids":       map[string]any{"resultOf": "c0", "name": "x:Domain/query", "path": "/ids"},
			"properties": domainListProps,
		}})
	if err != nil {
		return nil, err
	}
	gr, err := decode[getResponse[wireDomain]]("list domains", res[1])
	if err != nil {
		return nil, err
	}
	out := make([]Domain, 0, len(gr.List))
	for _, w := range gr.List {
		out = append(out, w.domain())
	}
	return out, nil
}

// domainID resolves a domain name to its id (KindNotFound when absent).
func (c *Client) domainID(ctx context.Context, op, name string) (string, error) {
	name = NormalizeDomain(name)
	res, err := c.call(ctx, op, call{"x:Domain/query", map[string]any{"filter": map[string]any{"name": name}}},
		call{"x:Domain/get", map[string]any{
			"#ids":       map[string]any{"resultOf": "c0", "name": "x:Domain/query", "path": "/ids"},
			"properties": []string{"id", "name"},
		}})
	if err != nil {
		return "", err
	}
	gr, err := decode[getResponse[wireDomain]](op, res[1])
	if err != nil {
		return "", err
	}
	for _, w := range gr.List {
		if NormalizeDomain(w.Name) == name {
			return w.ID, nil
		}
	}
	return "", &Error{Op: op, Kind: KindNotFound, Type: "notFound", Description: "no domain " + name}
}

// GetDomain returns a domain with the DNS records to publish.
func (c *Client) GetDomain(ctx context.Context, name string) (Domain, error) {
	id, err := c.domainID(ctx, "get domain", name)
	if err != nil {
		return Domain{}, err
	}
	res, err := c.call(ctx, "get domain", call{"x:Domain/get", map[string]any{
		"ids": []string{id}, "properties": append(append([]string{}, domainListProps...), "dnsZoneFile"),
	}})
	if err != nil {
		return Domain{}, err
	}
	gr, err := decode[getResponse[wireDomain]]("get domain", res[0])
	if err != nil {
		return Domain{}, err
	}
	if len(gr.List) == 0 {
		return Domain{}, &Error{Op: "get domain", Kind: KindNotFound, Type: "notFound", Description: "no domain " + name}
	}
	w := gr.List[0]
	d := w.domain()
	recs, err := ParseZoneFile(w.DNSZoneFile, d.Name)
	if err != nil {
		return Domain{}, &Error{Op: "get domain", Kind: KindUnavailable, Err: err}
	}
	d.Records = recs
	d.DKIMPending = true
	for _, r := range recs {
		if r.Type == "TXT" && strings.Contains(r.Name, "._domainkey.") && strings.HasPrefix(r.Value, "v=DKIM1") {
			d.DKIMPending = false
		}
	}
	return d, nil
}

// SetDomainDescription replaces the domain's description.
func (c *Client) SetDomainDescription(ctx context.Context, name, description string) error {
	id, err := c.domainID(ctx, "set domain description", name)
	if err != nil {
		return err
	}
	res, err := c.call(ctx, "set domain description", call{"x:Domain/set", map[string]any{
		"update": map[string]any{id: map[string]any{"description": description}}}})
	if err != nil {
		return err
	}
	sr, err := decode[setResponse]("set domain description", res[0])
	if err != nil {
		return err
	}
	if se, ok := sr.NotUpdated[id]; ok {
		return setErr("set domain description", se)
	}
	return nil
}

// DeleteDomain deletes a domain. Stalwart refuses while accounts, aliases or lists
// still use it (KindInUse); an unknown domain is KindNotFound.
func (c *Client) DeleteDomain(ctx context.Context, name string) error {
	id, err := c.domainID(ctx, "delete domain", name)
	if err != nil {
		return err
	}
	res, err := c.call(ctx, "delete domain", call{"x:Domain/set", map[string]any{"destroy": []string{id}}})
	if err != nil {
		return err
	}
	sr, err := decode[setResponse]("delete domain", res[0])
	if err != nil {
		return err
	}
	if se, ok := sr.NotDestroyed[id]; ok {
		return setErr("delete domain", se)
	}
	return nil
}

func validDomain(name string) bool {
	if len(name) == 0 || len(name) > 253 || !strings.Contains(name, ".") {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
