package archive

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dezky/platform/internal/audit"
)

// ManifestVersion is the version of the manifest format.
const ManifestVersion = 1

// Manifest describes one archived batch: the seq range of its events, the
// key and digests of its gzip JSONL object and the hashes at both ends of
// the range, signed with the audit signing key.
type Manifest struct {
	Version  int    `json:"version"`
	StartSeq int64  `json:"startSeq"`
	EndSeq   int64  `json:"endSeq"`
	Count    int64  `json:"count"`
	JSONLKey string `json:"jsonlKey"`
	// JSONLSha256 is the hex sha256 of the uncompressed JSONL: one
	// audit.MarshalLine per event, each followed by "\n".
	JSONLSha256 string `json:"jsonlSha256"`
	// GzipSha256 and GzipBytes describe the stored gzip object.
	GzipSha256 string `json:"gzipSha256"`
	GzipBytes  int64  `json:"gzipBytes"`
	// FirstPrevHash is the prevHash of the first event: the hash of the
	// last event of the previous batch ("" for seq 1).
	FirstPrevHash string    `json:"firstPrevHash"`
	FirstHash     string    `json:"firstHash"`
	LastHash      string    `json:"lastHash"`
	CreatedAt     time.Time `json:"-"`
	KeyID         string    `json:"keyId"`
	Algorithm     string    `json:"algorithm"`
	// Signature is the standard base64 of the ed25519 signature of
	// Message().
	Signature string `json:"signature"`
}

// Message returns the bytes a manifest's signature covers: the ASCII text
//
//	dezky-audit-archive-manifest-v1\n
//	<startSeq>\n<endSeq>\n<count>\n<jsonlKey>\n<jsonlSha256>\n
//	<gzipSha256>\n<gzipBytes>\n<firstPrevHash>\n<firstHash>\n<lastHash>\n
//	<createdAt>\n<keyId>\n<algorithm>\n
//
// with integers in decimal and createdAt in audit.TimeLayout. No member may
// contain a newline (ParseManifest enforces it), so the encoding is
// unambiguous.
func (m Manifest) Message() []byte {
	b := []byte("dezky-audit-archive-manifest-v1\n")
	for _, n := range []int64{m.StartSeq, m.EndSeq, m.Count} {
		b = strconv.AppendInt(b, n, 10)
		b = append(b, '\n')
	}
	for _, s := range []string{m.JSONLKey, m.JSONLSha256, m.GzipSha256} {
		b = append(b, s...)
		b = append(b, '\n')
	}
	b = strconv.AppendInt(b, m.GzipBytes, 10)
	b = append(b, '\n')
	for _, s := range []string{m.FirstPrevHash, m.FirstHash, m.LastHash, m.CreatedAt.UTC().Format(audit.TimeLayout), m.KeyID, m.Algorithm} {
		b = append(b, s...)
		b = append(b, '\n')
	}
	return b
}

// SignManifest fills in m's key id, algorithm and signature with key; m's
// CreatedAt is truncated to microseconds first.
func SignManifest(m *Manifest, key *audit.SigningKey) {
	m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Microsecond)
	m.KeyID, m.Algorithm = key.ID, audit.Algorithm
	m.Signature = key.SignMessage(m.Message())
}

// VerifySignature reports whether m is signed by one of keys: the key whose
// audit.KeyID is m.KeyID, with algorithm ed25519.
func (m Manifest) VerifySignature(keys []ed25519.PublicKey) bool {
	return audit.VerifyMessage(keys, m.KeyID, m.Algorithm, m.Signature, m.Message())
}

type manifestJSON struct {
	Version       *int    `json:"version"`
	StartSeq      *int64  `json:"startSeq"`
	EndSeq        *int64  `json:"endSeq"`
	Count         *int64  `json:"count"`
	JSONLKey      *string `json:"jsonlKey"`
	JSONLSha256   *string `json:"jsonlSha256"`
	GzipSha256    *string `json:"gzipSha256"`
	GzipBytes     *int64  `json:"gzipBytes"`
	FirstPrevHash *string `json:"firstPrevHash"`
	FirstHash     *string `json:"firstHash"`
	LastHash      *string `json:"lastHash"`
	CreatedAt     *string `json:"createdAt"`
	KeyID         *string `json:"keyId"`
	Algorithm     *string `json:"algorithm"`
	Signature     *string `json:"signature"`
}

// MarshalManifest returns the JSON object of m (members as in
// manifestJSON, createdAt in audit.TimeLayout) followed by a newline.
func MarshalManifest(m Manifest) ([]byte, error) {
	at := m.CreatedAt.UTC().Format(audit.TimeLayout)
	b, err := json.Marshal(manifestJSON{
		Version: &m.Version, StartSeq: &m.StartSeq, EndSeq: &m.EndSeq, Count: &m.Count,
		JSONLKey: &m.JSONLKey, JSONLSha256: &m.JSONLSha256, GzipSha256: &m.GzipSha256, GzipBytes: &m.GzipBytes,
		FirstPrevHash: &m.FirstPrevHash, FirstHash: &m.FirstHash, LastHash: &m.LastHash,
		CreatedAt: &at, KeyID: &m.KeyID, Algorithm: &m.Algorithm, Signature: &m.Signature,
	})
	if err != nil {
		return nil, fmt.Errorf("archive: encode manifest %d-%d: %w", m.StartSeq, m.EndSeq, err)
	}
	return append(b, '\n'), nil
}

// ParseManifest parses a manifest object. Every member is required and
// unknown members are rejected; it checks the forms (version 1, 1 ≤
// startSeq ≤ endSeq, count = endSeq-startSeq+1, gzipBytes ≥ 0, digests and
// hashes 64 lowercase hex digits with firstPrevHash empty only for seq 1,
// createdAt in audit.TimeLayout, a safe object key, no newline anywhere) but
// not the signature: that is VerifySignature's job.
func ParseManifest(data []byte) (Manifest, error) {
	var j manifestJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Manifest{}, fmt.Errorf("archive: parse manifest: %w", err)
	}
	if dec.More() {
		return Manifest{}, errors.New("archive: parse manifest: trailing data")
	}
	if j.Version == nil || j.StartSeq == nil || j.EndSeq == nil || j.Count == nil || j.JSONLKey == nil ||
		j.JSONLSha256 == nil || j.GzipSha256 == nil || j.GzipBytes == nil || j.FirstPrevHash == nil ||
		j.FirstHash == nil || j.LastHash == nil || j.CreatedAt == nil || j.KeyID == nil ||
		j.Algorithm == nil || j.Signature == nil {
		return Manifest{}, errors.New("archive: parse manifest: a required member is missing")
	}
	m := Manifest{Version: *j.Version, StartSeq: *j.StartSeq, EndSeq: *j.EndSeq, Count: *j.Count,
		JSONLKey: *j.JSONLKey, JSONLSha256: *j.JSONLSha256, GzipSha256: *j.GzipSha256, GzipBytes: *j.GzipBytes,
		FirstPrevHash: *j.FirstPrevHash, FirstHash: *j.FirstHash, LastHash: *j.LastHash,
		KeyID: *j.KeyID, Algorithm: *j.Algorithm, Signature: *j.Signature}
	if m.Version != ManifestVersion {
		return Manifest{}, fmt.Errorf("archive: parse manifest: version %d is not %d", m.Version, ManifestVersion)
	}
	if m.StartSeq < 1 || m.EndSeq < m.StartSeq {
		return Manifest{}, fmt.Errorf("archive: parse manifest: seq range %d-%d is invalid", m.StartSeq, m.EndSeq)
	}
	if m.EndSeq-m.StartSeq+1 != m.Count {
		return Manifest{}, fmt.Errorf("archive: parse manifest: count %d does not match range %d-%d", m.Count, m.StartSeq, m.EndSeq)
	}
	if m.GzipBytes < 0 {
		return Manifest{}, fmt.Errorf("archive: parse manifest: gzipBytes %d is negative", m.GzipBytes)
	}
	for name, h := range map[string]string{"jsonlSha256": m.JSONLSha256, "gzipSha256": m.GzipSha256, "firstHash": m.FirstHash, "lastHash": m.LastHash} {
		if !isHex64(h) {
			return Manifest{}, fmt.Errorf("archive: parse manifest: %s %q is not 64 lowercase hex digits", name, h)
		}
	}
	if (m.StartSeq == 1) != (m.FirstPrevHash == "") || (m.FirstPrevHash != "" && !isHex64(m.FirstPrevHash)) {
		return Manifest{}, fmt.Errorf("archive: parse manifest: firstPrevHash %q does not fit start seq %d", m.FirstPrevHash, m.StartSeq)
	}
	if !validKey(m.JSONLKey) {
		return Manifest{}, fmt.Errorf("archive: parse manifest: jsonlKey %q is not a safe object key", m.JSONLKey)
	}
	for name, s := range map[string]string{"keyId": m.KeyID, "algorithm": m.Algorithm, "signature": m.Signature} {
		if s == "" || bytes.ContainsAny([]byte(s), "\n\r") {
			return Manifest{}, fmt.Errorf("archive: parse manifest: %s is empty or has a line break", name)
		}
	}
	at, err := time.Parse(audit.TimeLayout, *j.CreatedAt)
	if err != nil || at.Format(audit.TimeLayout) != *j.CreatedAt {
		return Manifest{}, fmt.Errorf("archive: parse manifest: createdAt %q is not in the form %s", *j.CreatedAt, audit.TimeLayout)
	}
	m.CreatedAt = at
	return m, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validKey reports whether k is a non-empty object key of at most 1024
// bytes made of ASCII letters, digits and -_./ without a ".." segment or a
// leading slash.
func validKey(k string) bool {
	if k == "" || len(k) > 1024 || k[0] == '/' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/'
		if !ok {
			return false
		}
	}
	return !bytes.Contains([]byte("/"+k+"/"), []byte("/../"))
}
