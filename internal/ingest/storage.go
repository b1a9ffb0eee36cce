package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/plugins/sdk"
)

// OCISLine is one line of the OCIS audit service's JSON log. The service
// marshals its Go structs without JSON tags, so the members are PascalCase;
// the base members are on every line, the others depend on the action's
// family (files, sharing, spaces, users, groups). Fields holds every
// member as decoded, for the event's metadata.
type OCISLine struct {
	Action     string
	User       string
	RemoteAddr string
	Time       time.Time // zero when the line has none (e.g. space_shared)
	Message    string

	Path, OldPath, Owner, FileID string
	ShareID, ShareWith           string
	SpaceID, Name, NewName       string
	UserID, GroupID              string
	// Success is false only when the line says so (sharing events).
	Success bool

	Fields map[string]any
}

// ErrNoAction is returned by ParseOCISLine for a JSON object without an
// Action.
var ErrNoAction = errors.New("ocis audit line has no Action")

// messageActor finds the executant in a Message such as
// "user 'admin-id' created the user 'u1'": space, user and group events
// name the actor only there.
var messageActor = regexp.MustCompile(`^user '([^']*)'`)

// ParseOCISLine parses one OCIS JSON audit line. Unknown members are kept
// in Fields; members of an unexpected type are ignored, except Action,
// which must be a non-empty string. The actor is User, else the user named
// at the start of Message.
func ParseOCISLine(line []byte) (OCISLine, error) {
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return OCISLine{}, fmt.Errorf("ocis audit line: %w", err)
	}
	if fields == nil {
		return OCISLine{}, errors.New("ocis audit line: not a JSON object")
	}
	if dec.More() {
		return OCISLine{}, errors.New("ocis audit line: trailing data after the JSON object")
	}
	str := func(k string) string {
		s, _ := fields[k].(string)
		return s
	}
	l := OCISLine{
		Action: strings.TrimSpace(str("Action")), User: str("User"), RemoteAddr: str("RemoteAddr"), Message: str("Message"),
		Path: str("Path"), OldPath: str("OldPath"), Owner: str("Owner"), FileID: str("FileID"),
		ShareID: str("ShareID"), ShareWith: str("ShareWith"),
		SpaceID: str("SpaceID"), Name: str("Name"), NewName: str("NewName"),
		UserID: str("UserID"), GroupID: str("GroupID"),
		Success: true, Fields: fields,
	}
	if l.Action == "" {
		return OCISLine{}, ErrNoAction
	}
	if b, ok := fields["Success"].(bool); ok {
		l.Success = b
	}
	if ts := str("Time"); ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			l.Time = t.UTC()
		}
	}
	if l.User == "" {
		if m := messageActor.FindStringSubmatch(l.Message); m != nil {
			l.User = m[1]
		}
	}
	return l, nil
}

// spaceOf returns the space a line is about: SpaceID, else the space part
// ("<storage>$<space>") of FileID or RootItem ("…!<item>").
func (l OCISLine) spaceOf() string {
	if l.SpaceID != "" {
		return l.SpaceID
	}
	root, _ := l.Fields["RootItem"].(string)
	for _, id := range []string{l.FileID, root} {
		if sp, _, ok := strings.Cut(id, "!"); ok && sp != "" {
			return sp
		}
	}
	return ""
}

// resource returns the type, id and name of what a line is about.
func (l OCISLine) resource() (string, string, string) {
	switch {
	case l.ShareID != "":
		return "share", l.ShareID, l.Path
	case l.FileID != "" || l.Path != "":
		return "file", l.FileID, l.Path
	case l.SpaceID != "":
		name := l.Name
		if l.NewName != "" {
			name = l.NewName
		}
		return "space", l.SpaceID, name
	case l.GroupID != "":
		return "group", l.GroupID, l.GroupID
	case l.UserID != "":
		return "user", l.UserID, l.UserID
	}
	return "", "", ""
}

// IngestStorage runs one storage tick: it reads up to Config.MaxPages
// pages of audit log lines from the stored cursor through the storage
// plugin and writes the new mutations.
func (in *Ingestor) IngestStorage(ctx context.Context) (Result, error) {
	if in.cfg.Providers == nil {
		return Result{}, sdk.Unsupported("no storage provider configured")
	}
	st, err := in.cfg.Providers.Storage()
	if err != nil {
		return Result{}, fmt.Errorf("ingest: storage plugin: %w", err)
	}
	return in.pull(ctx, &in.storage, SourceStorage, func(ctx context.Context, cursor string, r *resolver) (int, string, []audit.ExternalEvent, error) {
		p, err := st.ReadAuditLog(ctx, sdk.ReadAuditLogRequest{Cursor: cursor, Max: in.cfg.PageSize})
		if err != nil {
			return 0, "", nil, fmt.Errorf("ingest: read storage audit log: %w", err)
		}
		evs := make([]audit.ExternalEvent, 0, len(p.Lines))
		for i, raw := range p.Lines {
			id := lineID(raw)
			if len(p.LineIDs) == len(p.Lines) && p.LineIDs[i] != "" {
				id = "pos:" + p.LineIDs[i]
			}
			l, err := ParseOCISLine([]byte(raw))
			if err != nil {
				in.cfg.Log.WarnContext(ctx, "storage audit line skipped", "err", err)
				continue
			}
			ev, ok, err := storageEvent(ctx, r, id, l)
			if err != nil {
				return 0, "", nil, err
			}
			if ok {
				evs = append(evs, ev)
			}
		}
		return len(p.Lines), p.NextCursor, evs, nil
	})
}

// storageEvent converts one parsed line; false for read traffic.
func storageEvent(ctx context.Context, r *resolver, externalID string, l OCISLine) (audit.ExternalEvent, bool, error) {
	action, outcome, ok := StorageAction(l.Action)
	if !ok {
		return audit.ExternalEvent{}, false, nil
	}
	if !l.Success {
		outcome = auditevent.OutcomeFailure
	}
	a, err := r.user(ctx, l.User)
	if err != nil {
		return audit.ExternalEvent{}, false, err
	}
	name := l.Name
	if l.NewName != "" {
		name = l.NewName
	}
	t, err := r.bySpace(ctx, l.spaceOf(), name)
	if err != nil {
		return audit.ExternalEvent{}, false, err
	}
	if t == nil && a != nil {
		t = a.tenant
	}
	typ, id, rname := l.resource()
	return audit.ExternalEvent{
		Source:       SourceStorage,
		ExternalID:   externalID,
		At:           l.Time,
		Action:       action,
		Outcome:      outcome,
		ActorID:      l.User,
		ActorEmail:   emailOf(a, l.User),
		ActorIP:      l.RemoteAddr,
		ResourceType: typ,
		ResourceID:   id,
		ResourceName: rname,
		Tenant:       t,
		Metadata:     map[string]any{"rawAction": l.Action, "line": l.Fields},
	}, true, nil
}

// lineID identifies a line by its content when the provider gives no
// position: identical lines then count as one event.
func lineID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}
