package testprovider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/dezky/platform/plugins/sdk"
)

// Version is the provider version reported by Describe.
const Version = "1.0.0"

// SignatureHeader carries the webhook signature.
const SignatureHeader = "X-Dezky-Signature"

// Provider is the in-memory provider. The zero value is not usable; call
// New.
type Provider struct {
	mu       sync.Mutex
	settings map[string]string
	secrets  map[string]string
	seq      int

	groups    map[string]*sdk.Group // by ID
	members   map[string]map[string]bool
	users     map[string]*sdk.User // by ID
	passwords map[string]string
	sessions  map[string]int
	apps      map[string]*sdk.OIDCApp // by ID
	flow      *sdk.RecoveryFlow
	events    []sdk.IdentityEvent

	domains   map[string]*sdk.Domain // by name
	mailboxes map[string]*sdk.Mailbox

	spaces     map[string]*sdk.Space // by ID
	storeUsers map[string]*sdk.StorageUser
	auditLines []string

	records map[string][]sdk.DNSRecord // by name|type

	customers     map[string]*sdk.Customer // by ID
	prices        map[string]*sdk.Price
	subscriptions map[string]*sdk.Subscription
	invoices      map[string][]sdk.Invoice // by customer ID
}

// New returns an empty provider.
func New() *Provider {
	return &Provider{
		settings: map[string]string{}, secrets: map[string]string{},
		groups: map[string]*sdk.Group{}, members: map[string]map[string]bool{}, users: map[string]*sdk.User{},
		passwords: map[string]string{}, sessions: map[string]int{}, apps: map[string]*sdk.OIDCApp{},
		domains: map[string]*sdk.Domain{}, mailboxes: map[string]*sdk.Mailbox{},
		spaces: map[string]*sdk.Space{}, storeUsers: map[string]*sdk.StorageUser{},
		records:   map[string][]sdk.DNSRecord{},
		customers: map[string]*sdk.Customer{}, prices: map[string]*sdk.Price{},
		subscriptions: map[string]*sdk.Subscription{}, invoices: map[string][]sdk.Invoice{},
	}
}

var (
	_ sdk.Provider = (*Provider)(nil)
	_ sdk.Identity = (*Provider)(nil)
	_ sdk.Mail     = (*Provider)(nil)
	_ sdk.Storage  = (*Provider)(nil)
	_ sdk.DNS      = (*Provider)(nil)
	_ sdk.Billing  = (*Provider)(nil)
)

func (p *Provider) nextID(prefix string) string {
	p.seq++
	return prefix + "-" + strconv.Itoa(p.seq)
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Describe implements sdk.Provider.
func (p *Provider) Describe(context.Context) (sdk.Description, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := "test"
	if n := p.settings["name"]; n != "" {
		name = n
	}
	return sdk.Description{Name: name, Version: Version}, nil
}

// Configure implements sdk.Provider.
func (p *Provider) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settings = maps.Clone(req.Settings)
	p.secrets = maps.Clone(req.Secrets)
	if p.settings == nil {
		p.settings = map[string]string{}
	}
	if p.secrets == nil {
		p.secrets = map[string]string{}
	}
	sdk.Logger().Info("configured", "settings", sortedKeys(req.Settings), "secrets", sortedKeys(req.Secrets))
	if _, ok := p.settings["leak_secret_to_log"]; ok {
		sdk.Logger().Warn("leaking on purpose", "token", p.secrets["token"])
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Health implements sdk.Provider.
func (p *Provider) Health(context.Context) (sdk.HealthStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, bad := p.settings["unhealthy"]; bad {
		return sdk.HealthStatus{Healthy: false, Message: "upstream marked unhealthy by configuration"}, nil
	}
	return sdk.HealthStatus{Healthy: true, Message: "in-memory store ready"}, nil
}

// fault runs the fault-injection hooks; it reports whether id was a fault.
func (p *Provider) fault(ctx context.Context, id string) (bool, error) {
	switch id {
	case "fault:panic":
		panic("injected panic")
	case "fault:block":
		sdk.Logger().Info("blocking call started")
		<-ctx.Done()
		return true, fmt.Errorf("blocked call ended: %w", ctx.Err())
	case "fault:exit":
		os.Exit(3)
	case "fault:unavailable":
		return true, sdk.Unavailable("injected upstream outage")
	case "fault:internal":
		return true, errors.New("injected untyped failure")
	case "fault:secret":
		p.mu.Lock()
		tok := p.secrets["token"]
		p.mu.Unlock()
		return true, sdk.Invalid("upstream rejected token %s", tok)
	}
	return false, nil
}

func (p *Provider) verify(hook sdk.Webhook) error {
	p.mu.Lock()
	key := p.secrets["webhook_secret"]
	p.mu.Unlock()
	if key == "" {
		return sdk.Unauthenticated("webhook secret not configured")
	}
	got, err := hex.DecodeString(hook.Header.Get(SignatureHeader))
	if err != nil || len(got) == 0 {
		return sdk.Unauthenticated("missing or malformed %s header", SignatureHeader)
	}
	if !hmac.Equal(got, Sign([]byte(key), hook.Body)) {
		return sdk.Unauthenticated("webhook signature does not verify")
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body under key, as carried (hex) in
// SignatureHeader.
func Sign(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

type webhookEvent struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Time     time.Time         `json:"time"`
	Subject  string            `json:"subject"`
	Domain   string            `json:"domain"`
	Customer string            `json:"customer"`
	Data     map[string]string `json:"data"`
}

func decodeEvents(body []byte) ([]webhookEvent, error) {
	var evs []webhookEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		return nil, sdk.Invalid("webhook body: %v", err)
	}
	return evs, nil
}
