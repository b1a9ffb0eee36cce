package ocissim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/providers/internal/simfault"
)

// Options configures a simulator.
type Options struct {
	// Token is the accepted bearer token (required).
	Token string
	// AdminID is the id of the built-in admin user the token belongs to
	// (default: a fixed UUID).
	AdminID string
	// PublicURL is used in webUrl/webDavUrl (default "https://cloud.example.test").
	PublicURL string
	// StorageID prefixes drive ids (default "storage-users-1").
	StorageID string
	// DefaultQuota applies when a space is created without quota (0 = unlimited).
	DefaultQuota int64
	// FreeBytes is the free disk space reported for unlimited quotas (default 1 TiB).
	FreeBytes int64
	// AuditLogPath, when set, receives JSON audit lines like the audit service's
	// file writer.
	AuditLogPath string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives debug lines (default: discard).
	Logger *slog.Logger
}

// Sim is a simulated oCIS instance.
type Sim struct {
	mu      sync.Mutex
	opts    Options
	mux     *http.ServeMux
	faults  simfault.Faults
	handler http.Handler // request handling behind fault injection

	drives map[string]*drive
	users  map[string]*user
	audit  *os.File
}

type drive struct {
	id, spaceID  string
	name         string
	driveType    string
	alias        string
	description  string
	owner        string // user id for personal drives
	quotaTotal   int64
	used         int64
	disabled     bool
	lastModified time.Time
}

type user struct {
	id, username, displayName, mail, password, userType string
	enabled                                             *bool
}

// New returns a simulator with one admin user (username "admin") and its personal space.
func New(opts Options) (*Sim, error) {
	if opts.Token == "" {
		return nil, fmt.Errorf("ocissim: empty token")
	}
	if opts.AdminID == "" {
		opts.AdminID = "some-admin-user-id-0000-000000000000"
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "https://cloud.example.test"
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.StorageID == "" {
		opts.StorageID = "storage-users-1"
	}
	if opts.FreeBytes == 0 {
		opts.FreeBytes = 1 << 40
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{opts: opts, drives: map[string]*drive{}, users: map[string]*user{}}
	if opts.AuditLogPath != "" {
		f, err := os.OpenFile(opts.AuditLogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("ocissim: open audit log: %w", err)
		}
		s.audit = f
	}
	t := true
	admin := &user{id: opts.AdminID, username: "admin", displayName: "Admin", mail: "admin@example.test", userType: "Member", enabled: &t}
	s.users[admin.id] = admin
	s.newDrive("personal", admin.displayName, admin.id, 0)
	s.routes()
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), func(w http.ResponseWriter, st int) {
		odata(w, st, "generalException", "injected failure")
	})
	return s, nil
}

// Close closes the audit log file.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.audit == nil {
		return nil
	}
	err := s.audit.Close()
	s.audit = nil
	return err
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Sim) newDrive(typ, name, owner string, quota int64) *drive {
	sid := newUUID()
	if typ == "personal" {
		sid = owner
	}
	d := &drive{id: s.opts.StorageID + "$" + sid, spaceID: sid, name: name, driveType: typ, owner: owner,
		quotaTotal: quota, lastModified: s.opts.Now()}
	s.drives[d.id] = d
	return d
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.opts.Logger.Debug("ocissim request", "method", r.Method, "path", r.URL.Path)
	s.handler.ServeHTTP(w, r)
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimRight(p, "/")
		r2.URL.RawPath = ""
		r = r2
	}
	if strings.HasPrefix(r.URL.Path, "/graph/") {
		if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
			odata(w, http.StatusUnauthorized, "unauthenticated", "unauthenticated")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func odata(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innererror": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": newUUID()}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sim) routes() {
	m := http.NewServeMux()
	const p = "/graph/v1.0"
	m.HandleFunc("GET "+p+"/drives", s.listDrives(false))
	m.HandleFunc("GET "+p+"/me/drives", s.listDrives(true))
	m.HandleFunc("POST "+p+"/drives", s.createDrive)
	m.HandleFunc("GET "+p+"/drives/{id}", s.withDrive(s.getDrive))
	m.HandleFunc("PATCH "+p+"/drives/{id}", s.withDrive(s.patchDrive))
	m.HandleFunc("DELETE "+p+"/drives/{id}", s.withDrive(s.deleteDrive))
	m.HandleFunc("GET "+p+"/users", s.listUsers)
	m.HandleFunc("POST "+p+"/users", s.createUser)
	m.HandleFunc("GET "+p+"/users/{id}", s.withUser(s.getUser))
	m.HandleFunc("PATCH "+p+"/users/{id}", s.withUser(s.patchUser))
	m.HandleFunc("DELETE "+p+"/users/{id}", s.withUser(s.deleteUser))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		odata(w, http.StatusNotFound, "itemNotFound", "not found")
	})
	s.mux = m
}

// --- drives ---

func quotaState(used, total, remaining int64) string {
	den := total
	if den == 0 {
		den = remaining
	}
	if den <= 0 {
		return "normal"
	}
	pct := float64(used) / float64(den) * 100
	switch {
	case pct <= 75:
		return "normal"
	case pct <= 90:
		return "nearing"
	case pct <= 99:
		return "critical"
	}
	return "exceeded"
}

func (s *Sim) render(d *drive) map[string]any {
	var quota map[string]any
	if d.disabled {
		quota = map[string]any{"total": d.quotaTotal}
	} else {
		remaining := s.opts.FreeBytes - d.used
		if d.quotaTotal > 0 {
			remaining = d.quotaTotal - d.used
		}
		remaining = max(remaining, 0)
		quota = map[string]any{"total": d.quotaTotal, "used": d.used, "remaining": remaining,
			"state": quotaState(d.used, d.quotaTotal, remaining)}
	}
	root := map[string]any{"id": d.id, "eTag": fmt.Sprintf("\"%x\"", d.lastModified.UnixNano()),
		"webDavUrl": s.opts.PublicURL + "/dav/spaces/" + strings.ReplaceAll(d.id, "$", "%24"),
		"permissions": []any{map[string]any{"grantedToIdentities": []any{map[string]any{"user": map[string]any{
			"id": s.opts.AdminID, "displayName": "Admin"}}}, "roles": []string{"manager"}}}}
	if d.disabled {
		root["deleted"] = map[string]any{"state": "trashed"}
	}
	owner := d.spaceID
	if d.owner != "" {
		owner = d.owner
	}
	out := map[string]any{"id": d.id, "name": d.name, "driveType": d.driveType,
		"lastModifiedDateTime": d.lastModified.Format(time.RFC3339Nano),
		"owner":                map[string]any{"user": map[string]any{"id": owner, "displayName": ""}},
		"quota":                quota, "root": root, "webUrl": s.opts.PublicURL + "/f/" + d.id}
	if d.alias != "" {
		out["driveAlias"] = d.alias
	}
	if d.description != "" {
		out["description"] = d.description
	}
	return out
}

var filterRE = regexp.MustCompile(`^\s*(\w+)\s+(\w+)\s+'([^']*)'\s*$`)

func (s *Sim) listDrives(mine bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		field, value := "", ""
		if f := q.Get("$filter"); f != "" {
			m := filterRE.FindStringSubmatch(f)
			if m == nil {
				parts := strings.Fields(f)
				op := "?"
				if len(parts) > 1 {
					op = parts[1]
				}
				odata(w, http.StatusNotImplemented, "notSupported", "unsupported filter operand: "+op)
				return
			}
			if m[2] != "eq" {
				odata(w, http.StatusNotImplemented, "notSupported", "unsupported filter operand: "+m[2])
				return
			}
			if m[1] != "driveType" && m[1] != "id" {
				odata(w, http.StatusNotImplemented, "notSupported", "unsupported filter: "+m[1])
				return
			}
			field, value = m[1], m[3]
		}
		orderField, desc := "name", false
		if o := q.Get("$orderby"); o != "" {
			parts := strings.Fields(o)
			if len(parts) == 0 || len(parts) > 2 || parts[0] != "name" && parts[0] != "lastModifiedDateTime" ||
				len(parts) == 2 && parts[1] != "asc" && parts[1] != "desc" {
				odata(w, http.StatusBadRequest, "invalidRequest", "we do not support <"+o+"> as a order parameter")
				return
			}
			orderField, desc = parts[0], len(parts) == 2 && parts[1] == "desc"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		list := make([]*drive, 0, len(s.drives))
		for _, d := range s.drives {
			if mine && d.driveType == "personal" && d.owner != s.opts.AdminID {
				continue
			}
			if field == "driveType" && d.driveType != value || field == "id" && d.id != value {
				continue
			}
			list = append(list, d)
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if desc {
				a, b = b, a
			}
			if orderField == "lastModifiedDateTime" && !a.lastModified.Equal(b.lastModified) {
				return a.lastModified.Before(b.lastModified)
			}
			if a.name != b.name {
				return a.name < b.name
			}
			return a.id < b.id
		})
		out := make([]map[string]any, 0, len(list))
		for _, d := range list {
			out = append(out, s.render(d))
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
	}
}

type quotaBody struct {
	Total     *int64  `json:"total"`
	Used      *int64  `json:"used"`
	Remaining *int64  `json:"remaining"`
	Deleted   *int64  `json:"deleted"`
	State     *string `json:"state"`
}

type driveBody struct {
	Name        *string    `json:"name"`
	DriveType   *string    `json:"driveType"`
	DriveAlias  *string    `json:"driveAlias"`
	Description *string    `json:"description"`
	Quota       *quotaBody `json:"quota"`
}

func strictDecode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func validSpaceName(name string) string {
	switch {
	case name == "":
		return "invalid spacename: spacename must not be empty"
	case len(name) > 255:
		return "invalid spacename: spacename must be smaller than 255"
	case strings.ContainsAny(name, `/\.:?*"><|`):
		return `invalid spacename: spacenames must not contain [/ \ . : ? * " > < |]`
	}
	return ""
}

func (s *Sim) createDrive(w http.ResponseWriter, r *http.Request) {
	var b driveBody
	if err := strictDecode(r, &b); err != nil {
		odata(w, http.StatusBadRequest, "invalidRequest", "invalid body schema definition")
		return
	}
	name := ""
	if b.Name != nil {
		name = strings.TrimSpace(*b.Name)
	}
	if msg := validSpaceName(name); msg != "" {
		odata(w, http.StatusBadRequest, "invalidRequest", msg)
		return
	}
	if b.DriveType != nil && *b.DriveType != "" && *b.DriveType != "project" {
		odata(w, http.StatusBadRequest, "invalidRequest", "drives of this type cannot be created via this api")
		return
	}
	quota := s.opts.DefaultQuota
	if b.Quota != nil && b.Quota.Total != nil {
		if *b.Quota.Total < 0 {
			odata(w, http.StatusBadRequest, "invalidRequest", "invalid quota")
			return
		}
		quota = *b.Quota.Total
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.newDrive("project", name, "", quota)
	if b.Description != nil {
		d.description = *b.Description
	}
	if b.DriveAlias != nil {
		d.alias = *b.DriveAlias
	} else {
		d.alias = "project/" + strings.ToLower(strings.ReplaceAll(name, " ", "-"))
	}
	s.writeAuditLocked(map[string]any{"Action": "space_created", "SpaceID": d.id, "Owner": "",
		"RootItem": d.id + "!" + d.spaceID, "Name": d.name, "Type": "project",
		"Message": fmt.Sprintf("user '%s' created a space '%s' with name '%s' (type 'project')", s.opts.AdminID, d.id, d.name)})
	writeJSON(w, http.StatusCreated, s.render(d))
}

func (s *Sim) withDrive(h func(http.ResponseWriter, *http.Request, *drive)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		d := s.drives[r.PathValue("id")]
		if d == nil {
			odata(w, http.StatusNotFound, "itemNotFound", "drive not found")
			return
		}
		h(w, r, d)
	}
}

func (s *Sim) getDrive(w http.ResponseWriter, r *http.Request, d *drive) {
	writeJSON(w, http.StatusOK, s.render(d))
}

func truthy(v string) bool {
	switch v {
	case "1", "t", "T", "true", "TRUE", "True":
		return true
	}
	return false
}

func (s *Sim) patchDrive(w http.ResponseWriter, r *http.Request, d *drive) {
	var b driveBody
	if err := strictDecode(r, &b); err != nil {
		odata(w, http.StatusBadRequest, "invalidRequest", "invalid body schema definition")
		return
	}
	if truthy(r.Header.Get("Restore")) {
		if d.disabled {
			d.disabled = false
			d.lastModified = s.opts.Now()
			s.writeAuditLocked(map[string]any{"Action": "space_enabled", "SpaceID": d.id,
				"Message": fmt.Sprintf("user '%s' enabled the space '%s'", s.opts.AdminID, d.id)})
		}
		writeJSON(w, http.StatusOK, s.render(d))
		return
	}
	if b.DriveType != nil {
		odata(w, http.StatusBadRequest, "invalidRequest", "drive type cannot be changed")
		return
	}
	if b.Name != nil {
		name := strings.TrimSpace(*b.Name)
		if msg := validSpaceName(name); msg != "" {
			odata(w, http.StatusBadRequest, "invalidRequest", msg)
			return
		}
		if name != d.name {
			s.writeAuditLocked(map[string]any{"Action": "space_renamed", "SpaceID": d.id, "NewName": name,
				"Message": fmt.Sprintf("user '%s' renamed space '%s' to '%s'", s.opts.AdminID, d.id, name)})
		}
		d.name = name
	}
	if b.Description != nil {
		d.description = *b.Description
	}
	if b.DriveAlias != nil {
		d.alias = *b.DriveAlias
	}
	if b.Quota != nil && b.Quota.Total != nil {
		if *b.Quota.Total < 0 {
			odata(w, http.StatusBadRequest, "invalidRequest", "invalid quota")
			return
		}
		d.quotaTotal = *b.Quota.Total
		s.writeAuditLocked(map[string]any{"Action": "space_updated", "SpaceID": d.id, "Name": d.name,
			"QuotaMaxBytes": d.quotaTotal, "Opaque": map[string]any{},
			"Message": fmt.Sprintf("user '%s' updated space '%s'", s.opts.AdminID, d.id)})
	}
	d.lastModified = s.opts.Now()
	writeJSON(w, http.StatusOK, s.render(d))
}

func (s *Sim) deleteDrive(w http.ResponseWriter, r *http.Request, d *drive) {
	if d.driveType != "project" {
		odata(w, http.StatusMethodNotAllowed, "notAllowed", "drive cannot be deleted")
		return
	}
	if truthy(r.Header.Get("Purge")) {
		if !d.disabled {
			odata(w, http.StatusBadRequest, "invalidRequest", "error: bad request: can't purge enabled space")
			return
		}
		delete(s.drives, d.id)
		s.writeAuditLocked(map[string]any{"Action": "space_deleted", "SpaceID": d.id,
			"Message": fmt.Sprintf("user '%s' deleted the space '%s'", s.opts.AdminID, d.id)})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !d.disabled {
		d.disabled = true
		d.lastModified = s.opts.Now()
		s.writeAuditLocked(map[string]any{"Action": "space_disabled", "SpaceID": d.id,
			"Message": fmt.Sprintf("user '%s' disabled the space '%s'", s.opts.AdminID, d.id)})
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- users ---

var usernameRE = regexp.MustCompile("^[a-zA-Z_][a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]*(@[a-zA-Z0-9-]+(\\.[a-zA-Z0-9-]+)*)*$")

var mailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func renderUser(u *user) map[string]any {
	out := map[string]any{"id": u.id, "displayName": u.displayName, "mail": u.mail,
		"onPremisesSamAccountName": u.username, "userType": u.userType,
		"identities": []any{map[string]any{"issuer": "sim", "issuerAssignedId": u.username}}}
	if u.enabled != nil {
		out["accountEnabled"] = *u.enabled
	}
	return out
}

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	term := strings.ToLower(strings.Trim(r.URL.Query().Get("$search"), `"`))
	list := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		if term != "" && !strings.Contains(strings.ToLower(u.username+" "+u.mail+" "+u.displayName), term) {
			continue
		}
		list = append(list, u)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].username < list[j].username })
	out := make([]map[string]any, 0, len(list))
	for _, u := range list {
		out = append(out, renderUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

type userBody struct {
	ID                       *string `json:"id"`
	DisplayName              *string `json:"displayName"`
	Mail                     *string `json:"mail"`
	OnPremisesSamAccountName *string `json:"onPremisesSamAccountName"`
	AccountEnabled           *bool   `json:"accountEnabled"`
	UserType                 *string `json:"userType"`
	GivenName                *string `json:"givenName"`
	Surname                  *string `json:"surname"`
	PasswordProfile          *struct {
		Password                      *string `json:"password"`
		ForceChangePasswordNextSignIn *bool   `json:"forceChangePasswordNextSignIn"`
	} `json:"passwordProfile"`
}

func (s *Sim) createUser(w http.ResponseWriter, r *http.Request) {
	var b userBody
	if err := strictDecode(r, &b); err != nil {
		odata(w, http.StatusBadRequest, "invalidRequest", "invalid request body: "+err.Error())
		return
	}
	switch {
	case b.ID != nil && *b.ID != "":
		odata(w, http.StatusBadRequest, "invalidRequest", "user id is a read-only attribute")
		return
	case b.DisplayName == nil || *b.DisplayName == "":
		odata(w, http.StatusBadRequest, "invalidRequest", "missing required Attribute: 'displayName'")
		return
	case b.OnPremisesSamAccountName == nil || *b.OnPremisesSamAccountName == "":
		odata(w, http.StatusBadRequest, "invalidRequest", "missing required Attribute: 'onPremisesSamAccountName'")
		return
	case !usernameRE.MatchString(*b.OnPremisesSamAccountName):
		odata(w, http.StatusBadRequest, "invalidRequest", fmt.Sprintf("username %s must be at least the local part of an email", *b.OnPremisesSamAccountName))
		return
	case b.Mail != nil && *b.Mail != "" && !mailRE.MatchString(*b.Mail):
		odata(w, http.StatusBadRequest, "invalidRequest", fmt.Sprintf("%s is not a valid email address", *b.Mail))
		return
	case b.UserType != nil && *b.UserType != "Member" && *b.UserType != "Guest":
		odata(w, http.StatusBadRequest, "invalidRequest", "Unsupported usertype")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.users {
		if strings.EqualFold(o.username, *b.OnPremisesSamAccountName) {
			odata(w, http.StatusConflict, "nameAlreadyExists", "a user with that name already exists")
			return
		}
	}
	u := &user{id: newUUID(), username: *b.OnPremisesSamAccountName, displayName: *b.DisplayName, userType: "Member",
		enabled: b.AccountEnabled}
	if b.Mail != nil {
		u.mail = *b.Mail
	}
	if b.UserType != nil {
		u.userType = *b.UserType
	}
	if b.PasswordProfile != nil && b.PasswordProfile.Password != nil {
		u.password = *b.PasswordProfile.Password
	}
	s.users[u.id] = u
	s.writeAuditLocked(map[string]any{"Action": "user_created", "UserID": u.id,
		"Message": fmt.Sprintf("user '%s' created the user '%s'", s.opts.AdminID, u.id)})
	writeJSON(w, http.StatusOK, renderUser(u))
}

func (s *Sim) withUser(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		key := r.PathValue("id")
		u := s.users[key]
		if u == nil {
			for _, o := range s.users {
				if o.username == key {
					u = o
				}
			}
		}
		if u == nil {
			odata(w, http.StatusNotFound, "itemNotFound", "not found")
			return
		}
		h(w, r, u)
	}
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, u *user) {
	writeJSON(w, http.StatusOK, renderUser(u))
}

func (s *Sim) patchUser(w http.ResponseWriter, r *http.Request, u *user) {
	var b userBody
	if err := strictDecode(r, &b); err != nil {
		odata(w, http.StatusBadRequest, "invalidRequest", "invalid request body: "+err.Error())
		return
	}
	if b.ID != nil && *b.ID != u.id {
		odata(w, http.StatusBadRequest, "invalidRequest", "user id is a read-only attribute")
		return
	}
	if b.Mail != nil && *b.Mail != "" && !mailRE.MatchString(*b.Mail) {
		odata(w, http.StatusBadRequest, "invalidRequest", fmt.Sprintf("%s is not a valid email address", *b.Mail))
		return
	}
	if b.DisplayName != nil {
		u.displayName = *b.DisplayName
	}
	if b.Mail != nil {
		u.mail = *b.Mail
	}
	if b.AccountEnabled != nil {
		v := *b.AccountEnabled
		u.enabled = &v
	}
	if b.PasswordProfile != nil && b.PasswordProfile.Password != nil {
		u.password = *b.PasswordProfile.Password
	}
	s.writeAuditLocked(map[string]any{"Action": "user_feature_changed", "UserID": u.id, "Features": []any{},
		"Message": fmt.Sprintf("user '%s' changed features of the user '%s'", s.opts.AdminID, u.id)})
	writeJSON(w, http.StatusOK, renderUser(u))
}

func (s *Sim) deleteUser(w http.ResponseWriter, r *http.Request, u *user) {
	if u.id == s.opts.AdminID {
		odata(w, http.StatusForbidden, "notAllowed", "self deletion forbidden")
		return
	}
	delete(s.users, u.id)
	for id, d := range s.drives {
		if d.driveType == "personal" && d.owner == u.id {
			delete(s.drives, id)
		}
	}
	s.writeAuditLocked(map[string]any{"Action": "user_deleted", "UserID": u.id,
		"Message": fmt.Sprintf("user '%s' deleted the user '%s'", s.opts.AdminID, u.id)})
	w.WriteHeader(http.StatusNoContent)
}

// --- audit ---

// writeAuditLocked appends one audit line with the base fields the audit service
// always emits. The caller holds s.mu.
func (s *Sim) writeAuditLocked(fields map[string]any) {
	if s.audit == nil {
		return
	}
	ev := map[string]any{"RemoteAddr": "", "User": "", "URL": "", "Method": "", "UserAgent": "",
		"Time": s.opts.Now().UTC().Format(time.RFC3339), "App": "admin_audit", "Message": "", "Action": "",
		"CLI": false, "Level": 1}
	for k, v := range fields {
		ev[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode appends the "\n" the file writer adds
	enc.SetEscapeHTML(true)
	if err := enc.Encode(ev); err != nil {
		s.opts.Logger.Warn("ocissim audit encode failed", "error", err)
		return
	}
	if _, err := s.audit.Write(buf.Bytes()); err != nil {
		s.opts.Logger.Warn("ocissim audit write failed", "error", err)
	}
}

// WriteAudit appends an arbitrary audit event (e.g. {"Action":"file_create",
// "User":"<uid>","Path":…}); base fields missing from fields get the audit
// service's defaults. It is a no-op without Options.AuditLogPath.
func (s *Sim) WriteAudit(fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeAuditLocked(fields)
}

// SetUsage sets the used bytes of a drive, as if files had been uploaded.
func (s *Sim) SetUsage(driveID string, used int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[driveID]
	if d == nil {
		return fmt.Errorf("ocissim: unknown drive %q", driveID)
	}
	d.used = used
	return nil
}

// UserPassword returns the password last set for username.
func (s *Sim) UserPassword(username string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.username == username {
			return u.password, u.password != ""
		}
	}
	return "", false
}

// --- faults ---

// FailNext makes the next request with a matching method (empty = any) and path
// prefix fail with status and an OData error body. Each fault fires once.
func (s *Sim) FailNext(method, pathPrefix string, status int) {
	s.faults.FailNext(method, pathPrefix, status)
}

// SetDelay delays every request by d (0 disables).
func (s *Sim) SetDelay(d time.Duration) { s.faults.SetDelay(d) }

// SetOutage makes every request fail with status and a OData error body until
// it is called with 0 (or ClearFaults), simulating an upstream outage.
func (s *Sim) SetOutage(status int) { s.faults.SetOutage(status) }

// ClearFaults removes pending faults, the delay and any outage.
func (s *Sim) ClearFaults() { s.faults.ClearFaults() }
