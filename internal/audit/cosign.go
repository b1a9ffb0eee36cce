package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditcosignature"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
)

// Witness cosignatures (https://c2sp.org/tlog-cosignature): a witness signs
//
//	cosignature/v1\ntime <unix seconds>\n<checkpoint note text>
//
// with ed25519 and returns a note signature line whose base64 holds its key
// hash (4 bytes), the timestamp (8 bytes, big endian) and the signature.
// The key hash is the first 4 bytes of sha256(name || "\n" || 0x04 || key).

const cosigAlg = 0x04

// CosignatureKeyHash returns the key hash of a witness key.
func CosignatureKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', cosigAlg})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// CosignatureVerifierKey returns the vkey form (name+hash+base64(0x04 ||
// key)) of a witness key.
func CosignatureVerifierKey(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, CosignatureKeyHash(name, pub),
		base64.StdEncoding.EncodeToString(append([]byte{cosigAlg}, pub...)))
}

func cosignedMessage(t uint64, text string) []byte {
	return []byte("cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n" + text)
}

// CosignatureVerifier is a note.Verifier of a witness's cosignatures.
type CosignatureVerifier struct {
	name string
	pub  ed25519.PublicKey
}

// NewCosignatureVerifier returns the verifier of witness name's key pub.
func NewCosignatureVerifier(name string, pub ed25519.PublicKey) CosignatureVerifier {
	return CosignatureVerifier{name: name, pub: pub}
}

// Name implements note.Verifier.
func (v CosignatureVerifier) Name() string { return v.name }

// KeyHash implements note.Verifier.
func (v CosignatureVerifier) KeyHash() uint32 { return CosignatureKeyHash(v.name, v.pub) }

// Verify implements note.Verifier: sig is the timestamp and the signature.
func (v CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(binary.BigEndian.Uint64(sig[:8]), string(msg)), sig[8:])
}

// Cosign returns witness name's cosignature line ("— <name> <base64>\n")
// of the checkpoint note text at time t.
func Cosign(name string, priv ed25519.PrivateKey, text string, t time.Time) string {
	ts := uint64(t.Unix())
	sig := make([]byte, 0, 4+8+ed25519.SignatureSize)
	sig = binary.BigEndian.AppendUint32(sig, CosignatureKeyHash(name, priv.Public().(ed25519.PublicKey)))
	sig = binary.BigEndian.AppendUint64(sig, ts)
	sig = append(sig, ed25519.Sign(priv, cosignedMessage(ts, text))...)
	return "— " + name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// VerifyCosigned opens a checkpoint note that must be signed by the log key
// and cosigned by at least quorum of witnesses, and returns its tree head.
// A view of the log that fewer witnesses accepted (a split view, which a
// witness that saw the other branch refuses to cosign) fails.
func VerifyCosigned(msg []byte, logKey ed25519.PublicKey, witnesses []CosignatureVerifier, quorum int) (TreeHead, error) {
	logV, err := NoteVerifier(logKey)
	if err != nil {
		return TreeHead{}, err
	}
	vs := []note.Verifier{logV}
	for _, w := range witnesses {
		vs = append(vs, w)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return TreeHead{}, fmt.Errorf("audit: cosigned checkpoint: %w", err)
	}
	th, err := ParseTreeHead(n.Text)
	if err != nil {
		return TreeHead{}, err
	}
	logSigned, cosigned := false, 0
	for _, s := range n.Sigs {
		if s.Name == logV.Name() && s.Hash == logV.KeyHash() {
			logSigned = true
			continue
		}
		cosigned++
	}
	if !logSigned || th.Origin != logV.Name() {
		return TreeHead{}, errors.New("audit: cosigned checkpoint: not signed by the log key")
	}
	if cosigned < quorum {
		return TreeHead{}, fmt.Errorf("audit: cosigned checkpoint: %d of the required %d witness cosignatures", cosigned, quorum)
	}
	return th, nil
}

// FormatAddCheckpoint returns a C2SP tlog-witness add-checkpoint request
// body: "old <size>", the consistency proof lines, a blank line and the
// signed checkpoint note.
func FormatAddCheckpoint(oldSize int64, proof tlog.TreeProof, signedNote string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", oldSize)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(signedNote)
	return b.Bytes()
}

// ParseAddCheckpoint parses an add-checkpoint request body.
func ParseAddCheckpoint(body []byte) (oldSize int64, proof tlog.TreeProof, signedNote []byte, err error) {
	head, rest, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, errors.New("missing blank line before the checkpoint")
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	if !sc.Scan() {
		return 0, nil, nil, errors.New("missing old line")
	}
	n, found := strings.CutPrefix(sc.Text(), "old ")
	if !found {
		return 0, nil, nil, errors.New("first line is not old <size>")
	}
	oldSize, err = strconv.ParseInt(n, 10, 64)
	if err != nil || oldSize < 0 || strconv.FormatInt(oldSize, 10) != n {
		return 0, nil, nil, fmt.Errorf("bad old size %q", n)
	}
	for sc.Scan() {
		raw, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(raw) != tlog.HashSize {
			return 0, nil, nil, errors.New("bad consistency proof line")
		}
		proof = append(proof, tlog.Hash(raw))
	}
	if len(proof) > 63 {
		return 0, nil, nil, errors.New("consistency proof too long")
	}
	return oldSize, proof, rest, nil
}

// ErrWitnessRefused reports that a witness refused a checkpoint: the
// proof did not show it consistent with the tree the witness holds (a
// rewritten or forked log), or its signature was not the log's.
var ErrWitnessRefused = errors.New("audit: witness refused the checkpoint")

// Witnesses submit new checkpoints to C2SP tlog-witness add-checkpoint
// endpoints and store the cosignatures they return.
type Witnesses struct {
	db     *db.DB
	urls   []string
	client *http.Client
	log    *slog.Logger
}

// NewWitnesses returns a submitter to the add-checkpoint URLs (for
// example https://witness.example/add-checkpoint).
func NewWitnesses(d *db.DB, urls []string, client *http.Client, log *slog.Logger) *Witnesses {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Witnesses{db: d, urls: urls, client: client, log: log}
}

// OnCheckpoint submits cp to every witness, logging failures (wire it as
// CheckpointerOptions.OnCheckpoint).
func (w *Witnesses) OnCheckpoint(ctx context.Context, cp Checkpoint) {
	for _, u := range w.urls {
		if err := w.Submit(ctx, u, cp); err != nil {
			w.log.WarnContext(ctx, "audit witness did not cosign", "witness", u, "head_seq", cp.HeadSeq, "err", err)
		}
	}
}

// Submit sends cp with a consistency proof from the newest tree this
// witness cosigned (learning the witness's size from a 409 answer), and
// stores the returned cosignatures.
func (w *Witnesses) Submit(ctx context.Context, url string, cp Checkpoint) error {
	if cp.Note == "" {
		return errors.New("audit: witness: checkpoint has no note")
	}
	old, err := w.lastCosigned(ctx, url)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		var proof tlog.TreeProof
		if old > 0 && old < cp.HeadSeq {
			if proof, err = ProveConsistency(ctx, w.db, old, cp.HeadSeq); err != nil {
				return err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(FormatAddCheckpoint(old, proof, cp.Note)))
		if err != nil {
			return fmt.Errorf("audit: witness: %w", err)
		}
		rsp, err := w.client.Do(req)
		if err != nil {
			return fmt.Errorf("audit: witness: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(rsp.Body, 1<<16))
		rsp.Body.Close()
		if err != nil {
			return fmt.Errorf("audit: witness: read answer: %w", err)
		}
		switch {
		case rsp.StatusCode == http.StatusOK:
			return w.store(ctx, url, cp.HeadSeq, body)
		case rsp.StatusCode == http.StatusConflict && attempt == 0:
			n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			if err != nil || n < 0 || n > cp.HeadSeq {
				return fmt.Errorf("%w: it holds size %q, beyond this log's %d", ErrWitnessRefused, strings.TrimSpace(string(body)), cp.HeadSeq)
			}
			old = n
		case rsp.StatusCode == http.StatusConflict, rsp.StatusCode == http.StatusUnprocessableEntity,
			rsp.StatusCode == http.StatusForbidden, rsp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: HTTP %d: %s", ErrWitnessRefused, rsp.StatusCode, strings.TrimSpace(string(body)))
		default:
			return fmt.Errorf("audit: witness: HTTP %d", rsp.StatusCode)
		}
	}
}

func (w *Witnesses) lastCosigned(ctx context.Context, url string) (int64, error) {
	cs, err := w.db.Client.AuditCosignature.Query().Where(auditcosignature.Witness(url)).
		Order(ent.Desc(auditcosignature.FieldHeadSeq)).Limit(1).All(rule.Bypass(ctx))
	if err != nil {
		return 0, fmt.Errorf("audit: witness: read cosignatures: %w", err)
	}
	if len(cs) == 0 {
		return 0, nil
	}
	return cs[0].HeadSeq, nil
}

// store keeps every well-formed signature line of a witness answer.
func (w *Witnesses) store(ctx context.Context, url string, headSeq int64, body []byte) error {
	n := 0
	for l := range strings.Lines(string(body)) {
		rest, ok := strings.CutPrefix(l, "— ")
		name, sig, ok2 := strings.Cut(strings.TrimSuffix(rest, "\n"), " ")
		if !ok || !ok2 || name == "" || sig == "" {
			continue
		}
		err := w.db.Client.AuditCosignature.Create().SetHeadSeq(headSeq).SetWitness(url).SetName(name).
			SetLine(strings.TrimSuffix(l, "\n") + "\n").Exec(rule.Bypass(ctx))
		if err != nil && !ent.IsConstraintError(err) {
			return fmt.Errorf("audit: witness: store cosignature: %w", err)
		}
		n++
	}
	if n == 0 {
		return errors.New("audit: witness: answer holds no cosignature")
	}
	return nil
}

// Cosignatures returns the stored cosignature lines of the checkpoint of
// headSeq.
func Cosignatures(ctx context.Context, d *db.DB, headSeq int64) ([]*ent.AuditCosignature, error) {
	cs, err := d.Client.AuditCosignature.Query().Where(auditcosignature.HeadSeq(headSeq)).
		Order(ent.Asc(auditcosignature.FieldWitness)).All(rule.Bypass(ctx))
	if err != nil {
		return nil, fmt.Errorf("audit: read cosignatures: %w", err)
	}
	return cs, nil
}
