package stalwartsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"time"
)

type domain struct {
	id             string
	name           string
	description    string
	isEnabled      bool
	aliases        map[string]bool
	catchAll       string
	subAddressing  bool
	allowRelaying  bool
	dkimManagement map[string]any
	dnsManagement  map[string]any
	createdAt      time.Time
}

type alias struct {
	Name        string `json:"name"`
	DomainID    string `json:"domainId"`
	Enabled     bool   `json:"enabled"`
	Description string `json:"description,omitempty"`
}

type account struct {
	id          string
	typ         string
	name        string
	domainID    string
	description string
	secrets     []string
	roles       map[string]any
	permissions map[string]any
	quotas      map[string]any
	aliases     []alias
	locale      string
	timeZone    string
	encryption  map[string]any
	memberOf    map[string]bool
	createdAt   time.Time
}

type dkimSig struct {
	id        string
	typ       string
	domainID  string
	selector  string
	publicTXT string // p= value
	stage     string
	createdAt time.Time
}

type webhook struct {
	id           string
	url          string
	enable       bool
	events       map[string]bool
	signatureKey string
	headers      map[string]string
	queue        []map[string]any
}

func sortIDs(ids []string) []string {
	sort.Slice(ids, func(i, j int) bool {
		if len(ids[i]) != len(ids[j]) {
			return len(ids[i]) < len(ids[j])
		}
		return ids[i] < ids[j]
	})
	return ids
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortIDs(out)
}

func boolMap(m map[string]bool) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v {
			out[k] = true
		}
	}
	return out
}

func invalidProp(p string) *setError {
	return &setError{Type: "invalidProperties", Description: "Invalid property " + p, Properties: []string{p}}
}

func validation(p, msg string) *setError {
	return &setError{Type: "validationFailed", Description: msg,
		ValidationErrors: []any{map[string]any{"property": p, "message": msg}}}
}

func getStr(obj map[string]json.RawMessage, p string, dst *string) *setError {
	if raw, ok := obj[p]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, dst) != nil {
			return invalidProp(p)
		}
	}
	return nil
}

func getBool(obj map[string]json.RawMessage, p string, dst *bool) *setError {
	if raw, ok := obj[p]; ok {
		if json.Unmarshal(raw, dst) != nil {
			return invalidProp(p)
		}
	}
	return nil
}

func getObj(obj map[string]json.RawMessage, p string, dst *map[string]any) *setError {
	if raw, ok := obj[p]; ok {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return invalidProp(p)
		}
		*dst = m
	}
	return nil
}

func getBoolMap(obj map[string]json.RawMessage, p string, dst *map[string]bool) *setError {
	if raw, ok := obj[p]; ok {
		var m map[string]bool
		if json.Unmarshal(raw, &m) != nil {
			return invalidProp(p)
		}
		if m == nil {
			m = map[string]bool{}
		}
		*dst = m
	}
	return nil
}

func checkProps(obj map[string]json.RawMessage, allowed ...string) *setError {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, p := range keys(obj) {
		if !ok[p] {
			return invalidProp(p)
		}
	}
	return nil
}

func validDomainName(name string) bool {
	if len(name) == 0 || len(name) > 253 || !strings.Contains(name, ".") {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// --- x:Domain ---

var domainProps = []string{"name", "aliases", "isEnabled", "description", "catchAllAddress", "subAddressing",
	"allowRelaying", "dkimManagement", "dnsManagement", "certificateManagement", "directoryId", "memberTenantId"}

func (s *Sim) domainKind() *objectKind {
	return &objectKind{
		ids:    func() []string { return keys(s.domains) },
		exists: func(id string) bool { return s.domains[id] != nil },
		render: func(id string) map[string]any {
			d := s.domains[id]
			return map[string]any{"id": d.id, "name": d.name, "description": d.description, "isEnabled": d.isEnabled,
				"aliases": boolMap(d.aliases), "catchAllAddress": nilStr(d.catchAll), "subAddressing": d.subAddressing,
				"allowRelaying": d.allowRelaying, "dkimManagement": d.dkimManagement, "dnsManagement": d.dnsManagement,
				"certificateManagement": map[string]any{"@type": "Manual"}, "directoryId": nil, "memberTenantId": nil,
				"createdAt": d.createdAt.Format(time.RFC3339), "dnsZoneFile": s.zoneFile(d)}
		},
		match: func(id string, f map[string]any) (bool, *methodError) {
			d := s.domains[id]
			for k, v := range f {
				switch k {
				case "name":
					n, _ := v.(string)
					if !strings.EqualFold(strings.TrimSuffix(n, "."), d.name) {
						return false, nil
					}
				case "text":
					t, _ := v.(string)
					if !strings.Contains(d.name, strings.ToLower(t)) {
						return false, nil
					}
				default:
					return false, &methodError{Type: "unsupportedFilter", Description: "Unsupported filter " + k}
				}
			}
			return true, nil
		},
		create: func(obj map[string]json.RawMessage) (string, map[string]any, *setError) {
			if se := checkProps(obj, domainProps...); se != nil {
				return "", nil, se
			}
			d := &domain{isEnabled: true, aliases: map[string]bool{},
				dkimManagement: map[string]any{"@type": "Automatic", "algorithms": map[string]any{}, "selectorTemplate": "{algorithm}-{date-%Y%m}",
					"rotateAfter": "90d", "retireAfter": "7d", "deleteAfter": "30d"},
				dnsManagement: map[string]any{"@type": "Manual"}}
			if se := s.applyDomain(d, obj, true); se != nil {
				return "", nil, se
			}
			d.id = s.newID()
			d.createdAt = s.opts.Now().UTC().Truncate(time.Second)
			s.domains[d.id] = d
			if d.dkimManagement["@type"] == "Automatic" {
				s.pending = append(s.pending, d.id)
			}
			return d.id, map[string]any{"createdAt": d.createdAt.Format(time.RFC3339)}, nil
		},
		update: func(id string, patch map[string]json.RawMessage) *setError {
			if se := checkProps(patch, domainProps...); se != nil {
				return se
			}
			c := *s.domains[id]
			if se := s.applyDomain(&c, patch, false); se != nil {
				return se
			}
			*s.domains[id] = c
			return nil
		},
		destroy: func(id string) *setError {
			for _, aid := range keys(s.accounts) {
				a := s.accounts[aid]
				if a.domainID == id {
					return &setError{Type: "objectIsLinked", Description: fmt.Sprintf("Domain is linked to account %q", a.name)}
				}
				for _, al := range a.aliases {
					if al.DomainID == id {
						return &setError{Type: "objectIsLinked", Description: fmt.Sprintf("Domain is linked to an alias of account %q", a.name)}
					}
				}
			}
			delete(s.domains, id)
			for k, sig := range s.dkims {
				if sig.domainID == id {
					delete(s.dkims, k)
				}
			}
			return nil
		},
	}
}

func (s *Sim) applyDomain(d *domain, obj map[string]json.RawMessage, creating bool) *setError {
	if se := getStr(obj, "name", &d.name); se != nil {
		return se
	}
	d.name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d.name)), ".")
	if creating && d.name == "" {
		return validation("name", "Property name is required.")
	}
	if !validDomainName(d.name) {
		return validation("name", "Invalid domain name.")
	}
	for _, o := range s.domains {
		if o.id != d.id && o.name == d.name {
			return &setError{Type: "primaryKeyViolation", Description: "A domain with this name already exists.", Properties: []string{"name"}}
		}
	}
	for _, se := range []*setError{getStr(obj, "description", &d.description), getBool(obj, "isEnabled", &d.isEnabled),
		getStr(obj, "catchAllAddress", &d.catchAll), getBool(obj, "subAddressing", &d.subAddressing),
		getBool(obj, "allowRelaying", &d.allowRelaying), getBoolMap(obj, "aliases", &d.aliases),
		getObj(obj, "dkimManagement", &d.dkimManagement), getObj(obj, "dnsManagement", &d.dnsManagement)} {
		if se != nil {
			return se
		}
	}
	if t := d.dkimManagement["@type"]; t != "Automatic" && t != "Manual" {
		return validation("dkimManagement", "Unknown @type for dkimManagement.")
	}
	return nil
}

func nilStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// --- x:Account ---

var accountProps = []string{"@type", "name", "domainId", "description", "credentials", "roles", "permissions", "quotas",
	"aliases", "locale", "timeZone", "encryptionAtRest", "memberGroupIds", "memberTenantId"}

func (s *Sim) address(a *account) string {
	if d := s.domains[a.domainID]; d != nil {
		return a.name + "@" + d.name
	}
	return a.name
}

func (s *Sim) accountKind() *objectKind {
	return &objectKind{
		ids:    func() []string { return keys(s.accounts) },
		exists: func(id string) bool { return s.accounts[id] != nil },
		render: func(id string) map[string]any {
			a := s.accounts[id]
			creds := map[string]any{}
			for i := range a.secrets {
				creds[fmt.Sprint(i)] = map[string]any{"@type": "Password"}
			}
			aliases := map[string]any{}
			for i, al := range a.aliases {
				aliases[fmt.Sprint(i)] = al
			}
			return map[string]any{"id": a.id, "@type": a.typ, "name": a.name, "domainId": a.domainID,
				"description": a.description, "credentials": creds, "roles": a.roles, "permissions": a.permissions,
				"quotas": a.quotas, "aliases": aliases, "locale": a.locale, "timeZone": nilStr(a.timeZone),
				"encryptionAtRest": a.encryption, "memberGroupIds": boolMap(a.memberOf), "memberTenantId": nil,
				"createdAt": a.createdAt.Format(time.RFC3339)}
		},
		match: func(id string, f map[string]any) (bool, *methodError) {
			a := s.accounts[id]
			for k, v := range f {
				str, _ := v.(string)
				switch k {
				case "name":
					if !strings.EqualFold(str, a.name) {
						return false, nil
					}
				case "domainId":
					if str != a.domainID {
						return false, nil
					}
				case "@type", "type":
					if str != a.typ {
						return false, nil
					}
				case "text":
					if !strings.Contains(strings.ToLower(s.address(a)+" "+a.description), strings.ToLower(str)) {
						return false, nil
					}
				default:
					return false, &methodError{Type: "unsupportedFilter", Description: "Unsupported filter " + k}
				}
			}
			return true, nil
		},
		create: func(obj map[string]json.RawMessage) (string, map[string]any, *setError) {
			if se := checkProps(obj, accountProps...); se != nil {
				return "", nil, se
			}
			a := &account{typ: "User", roles: map[string]any{"@type": "User"}, permissions: map[string]any{"@type": "Inherit"},
				quotas: map[string]any{}, locale: "en_US", encryption: map[string]any{"@type": "Disabled"}, memberOf: map[string]bool{}}
			if se := s.applyAccount(a, obj, true); se != nil {
				return "", nil, se
			}
			a.id = s.newID()
			a.createdAt = s.opts.Now().UTC().Truncate(time.Second)
			s.accounts[a.id] = a
			return a.id, map[string]any{"createdAt": a.createdAt.Format(time.RFC3339)}, nil
		},
		update: func(id string, patch map[string]json.RawMessage) *setError {
			if se := checkProps(patch, accountProps...); se != nil {
				return se
			}
			c := *s.accounts[id]
			if se := s.applyAccount(&c, patch, false); se != nil {
				return se
			}
			*s.accounts[id] = c
			return nil
		},
		destroy: func(id string) *setError {
			delete(s.accounts, id)
			return nil
		},
	}
}

func (s *Sim) addressTaken(selfID, local, domainID string) bool {
	for _, o := range s.accounts {
		if o.id == selfID {
			continue
		}
		if strings.EqualFold(o.name, local) && o.domainID == domainID {
			return true
		}
		for _, al := range o.aliases {
			if strings.EqualFold(al.Name, local) && al.DomainID == domainID {
				return true
			}
		}
	}
	return false
}

func (s *Sim) applyAccount(a *account, obj map[string]json.RawMessage, creating bool) *setError {
	for _, se := range []*setError{getStr(obj, "@type", &a.typ), getStr(obj, "name", &a.name), getStr(obj, "domainId", &a.domainID),
		getStr(obj, "description", &a.description), getStr(obj, "locale", &a.locale), getStr(obj, "timeZone", &a.timeZone),
		getObj(obj, "roles", &a.roles), getObj(obj, "permissions", &a.permissions), getObj(obj, "quotas", &a.quotas),
		getObj(obj, "encryptionAtRest", &a.encryption), getBoolMap(obj, "memberGroupIds", &a.memberOf)} {
		if se != nil {
			return se
		}
	}
	if a.typ != "User" && a.typ != "Group" {
		return invalidProp("@type")
	}
	a.name = strings.ToLower(strings.TrimSpace(a.name))
	if a.name == "" {
		return validation("name", "Property name is required.")
	}
	if strings.ContainsAny(a.name, "@ \t") {
		return validation("name", "Account names must be the local part only.")
	}
	if a.domainID == "" || s.domains[a.domainID] == nil {
		return &setError{Type: "invalidForeignKey", Description: "Domain " + a.domainID + " does not exist.", Properties: []string{"domainId"}}
	}
	if s.addressTaken(a.id, a.name, a.domainID) {
		return &setError{Type: "primaryKeyViolation", Description: "Address " + a.name + "@" + s.domains[a.domainID].name + " is already in use.",
			Properties: []string{"name"}}
	}
	if pt := a.permissions["@type"]; pt != "Inherit" && pt != "Merge" && pt != "Replace" {
		return validation("permissions", "Unknown @type for permissions.")
	}
	if raw, ok := obj["credentials"]; ok {
		var creds map[string]map[string]any
		if json.Unmarshal(raw, &creds) != nil {
			return invalidProp("credentials")
		}
		var secrets []string
		for _, k := range keys(creds) {
			c := creds[k]
			sec, _ := c["secret"].(string)
			if c["@type"] != "Password" || sec == "" {
				return validation("credentials", "Credentials must be passwords with a secret.")
			}
			secrets = append(secrets, sec)
		}
		a.secrets = secrets
	}
	if raw, ok := obj["aliases"]; ok {
		var als map[string]alias
		if json.Unmarshal(raw, &als) != nil {
			return invalidProp("aliases")
		}
		a.aliases = nil
		for _, k := range keys(als) {
			al := als[k]
			al.Name = strings.ToLower(al.Name)
			if s.domains[al.DomainID] == nil {
				return &setError{Type: "invalidForeignKey", Description: "Domain " + al.DomainID + " does not exist.", Properties: []string{"aliases"}}
			}
			if s.addressTaken(a.id, al.Name, al.DomainID) || al.Name == a.name && al.DomainID == a.domainID {
				return &setError{Type: "primaryKeyViolation", Description: "Alias already in use.", Properties: []string{"aliases"}}
			}
			a.aliases = append(a.aliases, al)
		}
	}
	return nil
}

// --- x:DkimSignature ---

func (s *Sim) dkimKind() *objectKind {
	return &objectKind{
		ids:    func() []string { return keys(s.dkims) },
		exists: func(id string) bool { return s.dkims[id] != nil },
		render: func(id string) map[string]any {
			d := s.dkims[id]
			return map[string]any{"id": d.id, "@type": d.typ, "domainId": d.domainID, "selector": d.selector,
				"stage": d.stage, "createdAt": d.createdAt.Format(time.RFC3339), "nextTransitionAt": nil}
		},
		match: func(id string, f map[string]any) (bool, *methodError) {
			d := s.dkims[id]
			for k, v := range f {
				str, _ := v.(string)
				switch k {
				case "domainId":
					if str != d.domainID {
						return false, nil
					}
				default:
					return false, &methodError{Type: "unsupportedFilter", Description: "Unsupported filter " + k}
				}
			}
			return true, nil
		},
		create: func(obj map[string]json.RawMessage) (string, map[string]any, *setError) {
			if se := checkProps(obj, "@type", "domainId", "selector", "privateKey", "stage"); se != nil {
				return "", nil, se
			}
			var typ, domainID, selector, keyPEM string
			for _, se := range []*setError{getStr(obj, "@type", &typ), getStr(obj, "domainId", &domainID),
				getStr(obj, "selector", &selector), getStr(obj, "privateKey", &keyPEM)} {
				if se != nil {
					return "", nil, se
				}
			}
			if s.domains[domainID] == nil {
				return "", nil, &setError{Type: "invalidForeignKey", Properties: []string{"domainId"}}
			}
			if selector == "" {
				return "", nil, validation("selector", "Property selector is required.")
			}
			blk, _ := pem.Decode([]byte(keyPEM))
			if blk == nil {
				return "", nil, validation("privateKey", "Failed to parse private key.")
			}
			key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				if rk, err2 := x509.ParsePKCS1PrivateKey(blk.Bytes); err2 == nil {
					key = rk
				} else {
					return "", nil, validation("privateKey", "Failed to parse private key.")
				}
			}
			sig, se := s.newSignature(domainID, selector, key)
			if se != nil {
				return "", nil, se
			}
			if typ != "" && typ != sig.typ {
				return "", nil, validation("@type", "Key type does not match @type.")
			}
			return sig.id, map[string]any{"createdAt": sig.createdAt.Format(time.RFC3339)}, nil
		},
		update: func(id string, patch map[string]json.RawMessage) *setError {
			if se := checkProps(patch, "stage"); se != nil {
				return se
			}
			return getStr(patch, "stage", &s.dkims[id].stage)
		},
		destroy: func(id string) *setError {
			delete(s.dkims, id)
			return nil
		},
	}
}

func (s *Sim) newSignature(domainID, selector string, key any) (*dkimSig, *setError) {
	sig := &dkimSig{id: s.newID(), domainID: domainID, selector: selector, stage: "active",
		createdAt: s.opts.Now().UTC().Truncate(time.Second)}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig.typ = "Dkim1Ed25519Sha256"
		sig.publicTXT = "v=DKIM1; k=ed25519; h=sha256; p=" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
	case *rsa.PrivateKey:
		pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, validation("privateKey", "Unsupported key type.")
		}
		sig.typ = "Dkim1RsaSha256"
		sig.publicTXT = "v=DKIM1; k=rsa; h=sha256; p=" + base64.StdEncoding.EncodeToString(pub)
	default:
		return nil, validation("privateKey", "Unsupported key type.")
	}
	s.dkims[sig.id] = sig
	return sig, nil
}

// runTasksLocked generates DKIM keys scheduled by earlier requests.
func (s *Sim) runTasksLocked() {
	pending := s.pending
	s.pending = nil
	for _, id := range pending {
		d := s.domains[id]
		if d == nil {
			continue
		}
		month := s.opts.Now().UTC().Format("200601")
		for _, alg := range s.opts.DKIMAlgorithms {
			switch alg {
			case "Ed25519":
				_, priv, err := ed25519.GenerateKey(rand.Reader)
				if err == nil {
					_, _ = s.newSignature(id, month+"e", priv)
				}
			case "Rsa":
				priv, err := rsa.GenerateKey(rand.Reader, 2048)
				if err == nil {
					_, _ = s.newSignature(id, month+"r", priv)
				}
			}
		}
	}
}

// RunTasks runs pending background tasks (DKIM key generation) now.
func (s *Sim) RunTasks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runTasksLocked()
}

// --- x:WebHook ---

var webhookProps = []string{"url", "enable", "events", "eventsPolicy", "signatureKey", "throttle", "timeout",
	"discardAfter", "allowInvalidCerts", "httpAuth", "httpHeaders", "level", "lossy"}

func (s *Sim) webhookKind() *objectKind {
	return &objectKind{
		ids:    func() []string { return keys(s.webhooks) },
		exists: func(id string) bool { return s.webhooks[id] != nil },
		render: func(id string) map[string]any {
			h := s.webhooks[id]
			return map[string]any{"id": h.id, "url": h.url, "enable": h.enable, "events": boolMap(h.events),
				"httpHeaders": h.headers, "throttle": "1s", "timeout": "30s", "discardAfter": "5m", "lossy": false}
		},
		match: func(id string, f map[string]any) (bool, *methodError) { return true, nil },
		create: func(obj map[string]json.RawMessage) (string, map[string]any, *setError) {
			if se := checkProps(obj, webhookProps...); se != nil {
				return "", nil, se
			}
			h := &webhook{enable: true, events: map[string]bool{}}
			if se := applyWebhook(h, obj); se != nil {
				return "", nil, se
			}
			if h.url == "" {
				return "", nil, validation("url", "Property url is required.")
			}
			h.id = s.newID()
			s.webhooks[h.id] = h
			return h.id, map[string]any{}, nil
		},
		update: func(id string, patch map[string]json.RawMessage) *setError {
			if se := checkProps(patch, webhookProps...); se != nil {
				return se
			}
			c := *s.webhooks[id]
			if se := applyWebhook(&c, patch); se != nil {
				return se
			}
			*s.webhooks[id] = c
			return nil
		},
		destroy: func(id string) *setError {
			delete(s.webhooks, id)
			return nil
		},
	}
}

func applyWebhook(h *webhook, obj map[string]json.RawMessage) *setError {
	for _, se := range []*setError{getStr(obj, "url", &h.url), getBool(obj, "enable", &h.enable),
		getBoolMap(obj, "events", &h.events), getStr(obj, "signatureKey", &h.signatureKey)} {
		if se != nil {
			return se
		}
	}
	if raw, ok := obj["httpHeaders"]; ok {
		var m map[string]string
		if json.Unmarshal(raw, &m) != nil {
			return invalidProp("httpHeaders")
		}
		h.headers = m
	}
	if h.url != "" && !strings.HasPrefix(h.url, "http://") && !strings.HasPrefix(h.url, "https://") {
		return validation("url", "Invalid URL.")
	}
	return nil
}

// --- zone file ---

func (s *Sim) zoneFile(d *domain) string {
	host := s.opts.Hostname + "."
	pm := "postmaster@" + d.name
	var b strings.Builder
	fmt.Fprintf(&b, "; Zone records for %s generated by Stalwart\n$ORIGIN %s.\n$TTL 3600\n", d.name, d.name)
	line := func(name, typ, data string) { fmt.Fprintf(&b, "%-28s IN %-5s %s\n", name, typ, data) }
	line("@", "MX", "10 "+host)
	line("@", "TXT", `"v=spf1 mx ra=postmaster -all"`)
	for _, id := range keys(s.dkims) {
		sig := s.dkims[id]
		if sig.domainID != d.id || sig.stage == "retired" {
			continue
		}
		line(sig.selector+"._domainkey", "TXT", "( "+quoteChunks(sig.publicTXT)+" )")
	}
	line("_dmarc", "TXT", fmt.Sprintf(`"v=DMARC1; p=reject; rua=mailto:%s; ruf=mailto:%s"`, pm, pm))
	line("_smtp._tls", "TXT", fmt.Sprintf(`"v=TLSRPTv1; rua=mailto:%s"`, pm))
	line("_mta-sts", "TXT", fmt.Sprintf(`"v=STSv1; id=%d"`, d.createdAt.Unix()))
	line("mta-sts", "CNAME", host)
	line("autoconfig", "CNAME", host)
	line("autodiscover", "CNAME", host)
	line("_submissions._tcp", "SRV", "0 1 465 "+host)
	line("_submission._tcp", "SRV", "0 1 587 "+host)
	line("_imaps._tcp", "SRV", "0 1 993 "+host)
	line("_imap._tcp", "SRV", "0 1 143 "+host)
	line("_pop3s._tcp", "SRV", "0 1 995 "+host)
	line("_jmap._tcp", "SRV", "0 1 443 "+host)
	line("_caldavs._tcp", "SRV", "0 1 443 "+host)
	line("_carddavs._tcp", "SRV", "0 1 443 "+host)
	line("@", "CAA", `0 issue "letsencrypt.org"`)
	return b.String()
}

// quoteChunks splits s into quoted strings of at most 255 bytes.
func quoteChunks(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	parts = append(parts, `"`+s+`"`)
	return strings.Join(parts, " ")
}
