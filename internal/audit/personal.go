package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Personal data
//
// Personal data is never hashed directly in events chained in the sealed
// format (every event whose seq is at least the recorded SealedFromSeq):
// the chain hash and the Merkle leaf cover, in place of each personal
// value, the string "hmac-sha256:" + hex(HMAC-SHA256(salt, path || 0x00 ||
// value)), where salt is 32 random bytes drawn for that one field when the
// event is chained and path names the field (see below). The salt and the
// commitment live beside the data, in the row's personal column (and in
// the "personal" member of export and archive lines). Erasing a field
// replaces its value with ErasedValue and deletes its salt and subject,
// keeping only the commitment: the event still hashes to the same bytes,
// so the chain, the tree, every proof, checkpoint and cosignature stay
// valid, while the value can no longer be recovered or confirmed (a
// commitment under a destroyed 256-bit salt reveals nothing about the
// value).
//
// The personal fields are exactly these (PersonalFields documents the same
// list for readers of the API):
//
//   - actorEmail, when not empty; its subject is the address itself;
//   - actorIp, when not empty; its subject is the actor's e-mail;
//   - actorId, when it is an e-mail address (subject: the address) or the
//     event was ingested from an upstream (source not "platform"), whose
//     actor ids are user names (subject: the actor's e-mail); the
//     platform's own actor ids are OIDC subjects, kept for attribution;
//   - every non-empty string in metadata that is or contains an e-mail
//     address (IsEmailAddress; e.g. an upstream's raw JSON text naming a
//     user), whatever its key; its subject is the (first) address;
//   - every other non-empty string in metadata under (at any depth) a key
//     listed in PersonalMetadataKeys, compared case-insensitively (names,
//     user names, IP addresses); its subject is the first e-mail address,
//     in key order, among the strings of the innermost enclosing object
//     that has one, else the actor's e-mail.
//
// A field's path is "actorEmail", "actorIp", "actorId", or "metadata"
// followed by the RFC 6901 JSON pointer of the string within the metadata
// (e.g. "metadata/diff/email/to"). A subject is an e-mail address, lowercased
// and trimmed; SubjectDigest names it in the personal column so erasure
// finds its fields, and is deleted with the salt. A personal field without a
// subject (an IP address of an anonymous actor) cannot be erased by e-mail.
//
// Events chained before SealedFromSeq keep the legacy format (their
// personal column is NULL, their canonical JSON hashes the values); they
// cannot be erased without breaking verification, and EraseSubject counts
// the ones whose actor e-mail is the subject as LegacyEvents instead.

// ErasedValue replaces the value of an erased personal field in hot rows,
// GraphQL, CSV and JSONL exports and archive objects.
const ErasedValue = "[erased]"

// CommitmentPrefix starts the string that stands for a personal value in
// the canonical JSON of a sealed event.
const CommitmentPrefix = "hmac-sha256:"

// SealedFormat is the value of the "format" member of sealed export lines.
const SealedFormat = 2

// Paths of the personal actor fields.
const (
	PathActorEmail = "actorEmail"
	PathActorIP    = "actorIp"
	PathActorID    = "actorId"
	pathMetadata   = "metadata"
)

// PersonalMetadataKeys are the metadata keys (compared case-insensitively)
// under which every string is personal data. E-mail addresses are personal
// under any key.
var PersonalMetadataKeys = []string{
	"email", "e-mail", "mail", "emailaddress", "email_address", "address", "recipient", "recipients", "sender",
	"username", "user_name", "user", "login",
	"displayname", "display_name", "fullname", "full_name", "firstname", "first_name", "lastname", "last_name",
	"givenname", "given_name", "familyname", "family_name", "nickname",
	"ip", "ip_address", "ipaddress", "client_ip", "clientip", "remote_addr", "remoteaddr",
}

// PersonalFields describes, for documentation and the API, which fields of
// an event are personal data.
const PersonalFields = "actorEmail; actorIp; actorId when it is an e-mail address or the event was ingested; " +
	"every string in metadata that is or contains an e-mail address; every string in metadata under a key in PersonalMetadataKeys"

var personalKeys = func() map[string]bool {
	m := make(map[string]bool, len(PersonalMetadataKeys))
	for _, k := range PersonalMetadataKeys {
		m[k] = true
	}
	return m
}()

// Seal is the commitment to one personal field of a sealed event.
type Seal struct {
	// Commitment is the lowercase hex HMAC-SHA256 of path || 0x00 ||
	// value under Salt.
	Commitment string
	// Salt is the field's 32 random bytes; nil once erased.
	Salt []byte
	// Subject is SubjectDigest of the field's subject; empty when it has
	// none or once erased.
	Subject string
	// Erased reports that the value and its salt were deleted.
	Erased bool
}

// SaltSize is the size of a personal field's salt.
const SaltSize = 32

// SubjectDigest returns the hex sha256 naming the subject email in the
// personal column: of "dezky-audit-subject-v1", a zero byte and the address
// lowercased and trimmed. It exists only while the subject's data does.
func SubjectDigest(email string) string {
	h := sha256.New()
	h.Write([]byte("dezky-audit-subject-v1\x00"))
	h.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(h.Sum(nil))
}

// IsEmailAddress reports whether s has the form of an e-mail address: at
// most 254 bytes, no white space, exactly one '@' with a non-empty local
// part before it and a domain containing a dot (not at either end) after it.
func IsEmailAddress(s string) bool {
	if len(s) < 5 || len(s) > 254 || strings.ContainsAny(s, " \t\r\n\"<>,;") {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	dom := s[at+1:]
	dot := strings.IndexByte(dom, '.')
	return dot > 0 && !strings.HasSuffix(dom, ".")
}

// firstEmail returns the first e-mail address inside s ("" for none): a
// run of local-part characters, '@' and a run of domain characters that
// together satisfy IsEmailAddress.
func firstEmail(s string) string {
	local := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
	}
	domain := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		lo, hi := i, i+1
		for lo > 0 && local(s[lo-1]) {
			lo--
		}
		for hi < len(s) && domain(s[hi]) {
			hi++
		}
		cand := strings.TrimRight(s[lo:hi], ".-")
		if IsEmailAddress(cand) {
			return cand
		}
	}
	return ""
}

// commitment returns the hex HMAC-SHA256 of path || 0x00 || value under salt.
func commitment(salt []byte, path, value string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(path))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// personalField is one personal value of an event.
type personalField struct {
	path, value, subject string
}

// personalFields returns the personal fields of e (see "Personal data"), in
// path order.
func personalFields(e Entry) ([]personalField, error) {
	actor := ""
	if e.ActorEmail != "" {
		actor = SubjectDigest(e.ActorEmail)
	}
	var out []personalField
	if e.ActorEmail != "" {
		out = append(out, personalField{PathActorEmail, e.ActorEmail, actor})
	}
	if e.ActorID != "" {
		switch {
		case IsEmailAddress(e.ActorID):
			out = append(out, personalField{PathActorID, e.ActorID, SubjectDigest(e.ActorID)})
		case e.Source != "" && e.Source != "platform":
			out = append(out, personalField{PathActorID, e.ActorID, actor})
		}
	}
	if e.ActorIP != "" {
		out = append(out, personalField{PathActorIP, e.ActorIP, actor})
	}
	doc, ok, err := decodeMetadata(e.Metadata)
	if err != nil {
		return nil, fmt.Errorf("audit: personal fields of seq %d: %w", e.Seq, err)
	}
	if ok {
		walkPersonal(doc, pathMetadata, false, actor, func(f personalField) { out = append(out, f) })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// walkPersonal calls fn with every personal string of v, whose JSON pointer
// path is path; personal says v is under a personal key, subject is the
// subject of the innermost enclosing object.
func walkPersonal(v any, path string, personal bool, subject string, fn func(personalField)) {
	switch x := v.(type) {
	case string:
		switch {
		case x == "":
		case IsEmailAddress(x):
			fn(personalField{path, x, SubjectDigest(x)})
		case strings.IndexByte(x, '@') >= 0 && firstEmail(x) != "":
			fn(personalField{path, x, SubjectDigest(firstEmail(x))})
		case personal:
			fn(personalField{path, x, subject})
		}
	case []any:
		for i, el := range x {
			walkPersonal(el, path+"/"+strconv.Itoa(i), personal, subject, fn)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s, ok := x[k].(string); ok && IsEmailAddress(s) {
				subject = SubjectDigest(s)
				break
			}
		}
		for _, k := range keys {
			walkPersonal(x[k], path+"/"+escapePointer(k), personal || personalKeys[strings.ToLower(k)], subject, fn)
		}
	}
}

func escapePointer(k string) string {
	if !strings.ContainsAny(k, "~/") {
		return k
	}
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// splitPointer returns the unescaped tokens of a JSON pointer ("" → none).
func splitPointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("JSON pointer %q does not start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("JSON pointer %q has a bad escape", p)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// decodeMetadata decodes metadata JSON (numbers as json.Number); ok is
// false for none.
func decodeMetadata(raw []byte) (any, bool, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("decode metadata: %w", err)
	}
	if v == nil {
		return nil, false, nil
	}
	return v, true, nil
}

// ErrSeal reports a sealed event whose personal column does not fit its
// fields (a path that names no string of the event): the event was
// altered.
var ErrSeal = errors.New("audit: personal seal does not fit the event")

// pointerString returns the string at the JSON pointer tokens of doc.
func pointerAt(doc any, toks []string) (parent any, key string, idx int, err error) {
	if len(toks) == 0 {
		return nil, "", 0, fmt.Errorf("%w: empty metadata pointer", ErrSeal)
	}
	cur := doc
	for i, t := range toks {
		last := i == len(toks)-1
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil, "", 0, fmt.Errorf("%w: metadata has no member %q", ErrSeal, t)
			}
			if last {
				return c, t, 0, nil
			}
			cur = v
		case []any:
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 || n >= len(c) || strconv.Itoa(n) != t {
				return nil, "", 0, fmt.Errorf("%w: metadata has no element %q", ErrSeal, t)
			}
			if last {
				return c, "", n, nil
			}
			cur = c[n]
		default:
			return nil, "", 0, fmt.Errorf("%w: metadata path goes through a scalar", ErrSeal)
		}
	}
	return nil, "", 0, fmt.Errorf("%w: unreachable", ErrSeal)
}

// metaGet returns the string at toks, or ErrSeal.
func metaGet(doc any, toks []string) (string, error) {
	parent, key, idx, err := pointerAt(doc, toks)
	if err != nil {
		return "", err
	}
	var v any
	if m, ok := parent.(map[string]any); ok {
		v = m[key]
	} else {
		v = parent.([]any)[idx]
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: metadata value at a personal path is not a string", ErrSeal)
	}
	return s, nil
}

// metaSet replaces the string at toks with s.
func metaSet(doc any, toks []string, s string) error {
	if _, err := metaGet(doc, toks); err != nil {
		return err
	}
	parent, key, idx, _ := pointerAt(doc, toks)
	if m, ok := parent.(map[string]any); ok {
		m[key] = s
	} else {
		parent.([]any)[idx] = s
	}
	return nil
}

// sealEntry draws a salt for every personal field of e and sets e.Personal
// (an empty map when e has none: e is sealed all the same).
func sealEntry(e *Entry, random io.Reader) error {
	fields, err := personalFields(*e)
	if err != nil {
		return err
	}
	e.Personal = make(map[string]Seal, len(fields))
	if len(fields) == 0 {
		return nil
	}
	salts := make([]byte, SaltSize*len(fields))
	if _, err := io.ReadFull(random, salts); err != nil {
		return fmt.Errorf("audit: draw salts: %w", err)
	}
	for i, f := range fields {
		salt := salts[i*SaltSize : (i+1)*SaltSize : (i+1)*SaltSize]
		e.Personal[f.path] = Seal{Commitment: commitment(salt, f.path, f.value), Salt: salt, Subject: f.subject}
	}
	return nil
}

// SealEntry seals e as the chainer does, with salts from crypto/rand.
func SealEntry(e *Entry) error { return sealEntry(e, rand.Reader) }

// actorField returns a pointer to the actor field of path, or nil.
func actorField(e *Entry, path string) *string {
	switch path {
	case PathActorEmail:
		return &e.ActorEmail
	case PathActorIP:
		return &e.ActorIP
	case PathActorID:
		return &e.ActorID
	}
	return nil
}

// sealedView returns e with every sealed personal value replaced by
// CommitmentPrefix and its commitment: recomputed from the salt and the
// value for a field still present (so an altered value changes the hash),
// the stored commitment for an erased one.
func sealedView(e Entry) (Entry, error) {
	var doc any
	var docOK bool
	for _, path := range sortedPaths(e.Personal) {
		s := e.Personal[path]
		var c string
		if f := actorField(&e, path); f != nil {
			c = s.Commitment
			if !s.Erased {
				c = commitment(s.Salt, path, *f)
			}
			*f = CommitmentPrefix + c
			continue
		}
		if !strings.HasPrefix(path, pathMetadata+"/") {
			return Entry{}, fmt.Errorf("%w: unknown personal path %q", ErrSeal, path)
		}
		if !docOK {
			var err error
			if doc, docOK, err = decodeMetadata(e.Metadata); err != nil {
				return Entry{}, err
			}
			if !docOK {
				return Entry{}, fmt.Errorf("%w: personal path %q but no metadata", ErrSeal, path)
			}
		}
		toks, err := splitPointer(path[len(pathMetadata):])
		if err != nil {
			return Entry{}, fmt.Errorf("%w: %v", ErrSeal, err)
		}
		v, err := metaGet(doc, toks)
		if err != nil {
			return Entry{}, err
		}
		c = s.Commitment
		if !s.Erased {
			c = commitment(s.Salt, path, v)
		}
		_ = metaSet(doc, toks, CommitmentPrefix+c)
	}
	if docOK {
		b, err := appendValue(nil, doc)
		if err != nil {
			return Entry{}, err
		}
		e.Metadata = b
	}
	return e, nil
}

func sortedPaths(m map[string]Seal) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// EraseSubject erases from e every personal field whose subject is
// subject (a SubjectDigest): the value becomes ErasedValue, the salt and
// subject are deleted and the commitment is kept (recomputed from the salt
// and the value being erased, the one the chain hash covers). It returns
// the number of fields erased; 0 for a legacy event or one without fields
// of the subject. e's hash is unchanged by construction.
func EraseSubject(e *Entry, subject string) (int, error) {
	if e.Personal == nil || subject == "" {
		return 0, nil
	}
	var doc any
	var docOK bool
	n := 0
	seals := make(map[string]Seal, len(e.Personal))
	for p, s := range e.Personal {
		seals[p] = s
	}
	for _, path := range sortedPaths(seals) {
		s := seals[path]
		if s.Erased || s.Subject != subject {
			continue
		}
		if f := actorField(e, path); f != nil {
			seals[path] = Seal{Commitment: commitment(s.Salt, path, *f), Erased: true}
			*f = ErasedValue
			n++
			continue
		}
		if !docOK {
			var err error
			if doc, docOK, err = decodeMetadata(e.Metadata); err != nil {
				return 0, err
			}
			if !docOK {
				return 0, fmt.Errorf("%w: personal path %q but no metadata", ErrSeal, path)
			}
		}
		toks, err := splitPointer(strings.TrimPrefix(path, pathMetadata))
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrSeal, err)
		}
		v, err := metaGet(doc, toks)
		if err != nil {
			return 0, err
		}
		seals[path] = Seal{Commitment: commitment(s.Salt, path, v), Erased: true}
		_ = metaSet(doc, toks, ErasedValue)
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if docOK {
		b, err := appendValue(nil, doc)
		if err != nil {
			return 0, err
		}
		e.Metadata = b
	}
	e.Personal = seals
	return n, nil
}

// ErasedPaths returns the paths of e's erased personal fields, sorted.
func ErasedPaths(personal map[string]Seal) []string {
	var out []string
	for _, p := range sortedPaths(personal) {
		if personal[p].Erased {
			out = append(out, p)
		}
	}
	return out
}

// MarshalPersonal returns the JSON of the seals of a sealed event, as
// stored in the personal column and written in the "personal" member of
// export lines: an object, members in path order, each
// {"commitment":hex,"salt":base64,"subject":hex} (subject left out when
// empty) or {"commitment":hex,"erased":true}.
func MarshalPersonal(personal map[string]Seal) []byte {
	return appendPersonal(make([]byte, 0, 64+200*len(personal)), personal)
}

func appendPersonal(b []byte, personal map[string]Seal) []byte {
	b = append(b, '{')
	for i, p := range sortedPaths(personal) {
		s := personal[p]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p)
		b = append(b, `:{"commitment":`...)
		b = appendString(b, s.Commitment)
		if s.Erased {
			b = append(b, `,"erased":true}`...)
			continue
		}
		b = append(b, `,"salt":"`...)
		b = base64.StdEncoding.AppendEncode(b, s.Salt)
		b = append(b, '"')
		if s.Subject != "" {
			b = append(b, `,"subject":`...)
			b = appendString(b, s.Subject)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

type sealJSON struct {
	Commitment *string `json:"commitment"`
	Salt       *string `json:"salt"`
	Subject    *string `json:"subject"`
	Erased     *bool   `json:"erased"`
}

// ParsePersonal parses the JSON of MarshalPersonal. It rejects unknown
// members, a path that is not a personal path (actorEmail, actorIp,
// actorId, or "metadata" and a JSON pointer), a commitment or subject that
// is not 64 lowercase hex digits, a salt that is not the standard base64 of
// 32 bytes, an erased field that keeps its salt or subject, a present one
// without a salt, and "erased": false (left out instead).
func ParsePersonal(data []byte) (map[string]Seal, error) {
	var raw map[string]sealJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("audit: parse personal seals: %w", err)
	}
	if dec.More() {
		return nil, errors.New("audit: parse personal seals: trailing data")
	}
	if raw == nil {
		return nil, errors.New("audit: parse personal seals: not an object")
	}
	out := make(map[string]Seal, len(raw))
	for p, s := range raw {
		if err := checkPath(p); err != nil {
			return nil, fmt.Errorf("audit: parse personal seals: %w", err)
		}
		if s.Commitment == nil || !isHash(*s.Commitment) {
			return nil, fmt.Errorf("audit: parse personal seals: %s: commitment is not 64 lowercase hex digits", p)
		}
		seal := Seal{Commitment: *s.Commitment}
		if s.Erased != nil {
			if !*s.Erased || s.Salt != nil || s.Subject != nil {
				return nil, fmt.Errorf("audit: parse personal seals: %s: erased must be true and without salt and subject", p)
			}
			seal.Erased = true
			out[p] = seal
			continue
		}
		if s.Salt == nil {
			return nil, fmt.Errorf("audit: parse personal seals: %s: salt is missing", p)
		}
		salt, err := base64.StdEncoding.Strict().DecodeString(*s.Salt)
		if err != nil || len(salt) != SaltSize {
			return nil, fmt.Errorf("audit: parse personal seals: %s: salt is not base64 of %d bytes", p, SaltSize)
		}
		seal.Salt = salt
		if s.Subject != nil {
			if !isHash(*s.Subject) {
				return nil, fmt.Errorf("audit: parse personal seals: %s: subject is not 64 lowercase hex digits", p)
			}
			seal.Subject = *s.Subject
		}
		out[p] = seal
	}
	return out, nil
}

// checkPath checks the form of a personal path.
func checkPath(p string) error {
	switch p {
	case PathActorEmail, PathActorIP, PathActorID:
		return nil
	}
	rest, ok := strings.CutPrefix(p, pathMetadata)
	if !ok || rest == "" {
		return fmt.Errorf("path %q is not a personal path", p)
	}
	_, err := splitPointer(rest)
	return err
}

// ErasedFields returns the erased paths recorded in an event's personal
// column (nil: a legacy or unchained event), never nil.
func ErasedFields(personal *string) ([]string, error) {
	if personal == nil {
		return []string{}, nil
	}
	p, err := ParsePersonal([]byte(*personal))
	if err != nil {
		return nil, err
	}
	out := ErasedPaths(p)
	if out == nil {
		out = []string{}
	}
	return out, nil
}
