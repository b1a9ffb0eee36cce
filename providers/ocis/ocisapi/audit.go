package ocisapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AuditEvent is one oCIS audit-log entry (JSON format).
type AuditEvent struct {
	Action  string
	Time    time.Time // zero when the line had no (valid) time
	User    string    // empty for space, user and group events
	Message string
	App     string
	Level   int
	// Actor is the executing user: User when set, else the id quoted in Message
	// ("user '<id>' …").
	Actor string
	// Common subject fields (empty when absent).
	SpaceID, UserID, GroupID, FileID, ShareID, Path, Owner, Name, NewName, Type string
	// Raw holds every field of the line.
	Raw map[string]json.RawMessage
}

var actorRE = regexp.MustCompile(`^user '([^']*)'`)

// maxAuditLine bounds a single audit line.
const maxAuditLine = 1 << 20

// ParseAuditLine parses one JSON audit line. Action is required; other fields
// are optional and non-string values of string fields are ignored.
func ParseAuditLine(line []byte) (AuditEvent, error) {
	line = bytes.TrimSpace(line)
	if len(line) > maxAuditLine {
		return AuditEvent{}, errors.New("ocis audit: line too long")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return AuditEvent{}, fmt.Errorf("ocis audit: decode line: %w", err)
	}
	if raw == nil {
		return AuditEvent{}, errors.New("ocis audit: not an object")
	}
	str := func(k string) string {
		var s string
		if v, ok := raw[k]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	ev := AuditEvent{Action: strings.TrimSpace(str("Action")), User: str("User"), Message: str("Message"), App: str("App"),
		SpaceID: str("SpaceID"), UserID: str("UserID"), GroupID: str("GroupID"), FileID: str("FileID"),
		ShareID: str("ShareID"), Path: str("Path"), Owner: str("Owner"), Name: str("Name"), NewName: str("NewName"),
		Type: str("Type"), Raw: raw}
	if ev.Action == "" {
		return AuditEvent{}, errors.New("ocis audit: missing Action")
	}
	if t := str("Time"); t != "" {
		if pt, err := time.Parse(time.RFC3339Nano, t); err == nil {
			ev.Time = pt.UTC()
		}
	}
	if v, ok := raw["Level"]; ok {
		var f float64
		if json.Unmarshal(v, &f) == nil && f >= -1<<31 && f < 1<<31 {
			ev.Level = int(f)
		}
	}
	ev.Actor = ev.User
	if ev.Actor == "" {
		if m := actorRE.FindStringSubmatch(ev.Message); m != nil {
			ev.Actor = m[1]
		}
	}
	return ev, nil
}

// AuditCursor is a position in the audit log: the file's inode and a byte offset.
type AuditCursor struct {
	Inode  uint64
	Offset int64
}

// String renders the cursor as "<inode>:<offset>".
func (c AuditCursor) String() string {
	return strconv.FormatUint(c.Inode, 10) + ":" + strconv.FormatInt(c.Offset, 10)
}

// ParseAuditCursor parses "<inode>:<offset>"; the empty string is the zero cursor.
func ParseAuditCursor(s string) (AuditCursor, error) {
	if s == "" {
		return AuditCursor{}, nil
	}
	a, b, ok := strings.Cut(s, ":")
	ino, err1 := strconv.ParseUint(a, 10, 64)
	off, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || off < 0 {
		return AuditCursor{}, fmt.Errorf("ocis audit: invalid cursor %q", s)
	}
	return AuditCursor{Inode: ino, Offset: off}, nil
}

// AuditRecord is one line read from the log.
type AuditRecord struct {
	// ExternalID identifies the line across restarts: "<inode>:<offset of line start>".
	ExternalID string
	// Raw is the line without its trailing newline.
	Raw   string
	Event AuditEvent
	// Err is set when the line could not be parsed; the reader moves past it.
	Err error
}

// ReadAuditLog reads up to maxLines complete lines (0 = no limit) from path,
// starting at cur. When the file's inode differs from cur.Inode (rotation) or the
// file is shorter than cur.Offset (truncation), reading restarts at offset 0. A
// trailing line without newline is left for the next call. A missing file returns
// no records and the unchanged cursor.
func ReadAuditLog(path string, cur AuditCursor, maxLines int) ([]AuditRecord, AuditCursor, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, cur, nil
	}
	if err != nil {
		return nil, cur, fmt.Errorf("ocis audit: open log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, cur, fmt.Errorf("ocis audit: stat log: %w", err)
	}
	ino := fileInode(fi)
	off := cur.Offset
	if cur.Inode != 0 && ino != 0 && ino != cur.Inode || fi.Size() < off {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, cur, fmt.Errorf("ocis audit: seek: %w", err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var out []AuditRecord
	for maxLines <= 0 || len(out) < maxLines {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) {
			break // incomplete or no line: wait for more data
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return out, AuditCursor{Inode: ino, Offset: off}, fmt.Errorf("ocis audit: read: %w", err)
		}
		rec := AuditRecord{ExternalID: AuditCursor{Inode: ino, Offset: off}.String()}
		off += int64(len(line))
		switch {
		case err != nil:
			rec.Err = err
		case len(bytes.TrimSpace(line)) == 0:
			continue
		default:
			rec.Raw = strings.TrimRight(string(line), "\r\n")
			rec.Event, rec.Err = ParseAuditLine(line)
		}
		out = append(out, rec)
	}
	return out, AuditCursor{Inode: ino, Offset: off}, nil
}

var errLineTooLong = errors.New("ocis audit: line too long")

// readLine returns one complete line including its "\n". io.EOF means no complete
// line is available. Over-long lines are consumed and reported as errLineTooLong
// (the returned slice then has the consumed length, content zeroed).
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxAuditLine+1 {
			n := len(buf) + len(chunk)
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = r.ReadSlice('\n')
				n += len(chunk)
			}
			if err != nil {
				return nil, io.EOF
			}
			return make([]byte, n), errLineTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}
