package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditcheckpoint"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// InclusionProof is an RFC 6962 inclusion proof of one event in the tree
// of TreeSize leaves. Hashes are standard base64.
type InclusionProof struct {
	Seq      int64    `json:"seq"`
	TreeSize int64    `json:"treeSize"`
	LeafHash string   `json:"leafHash"`
	RootHash string   `json:"rootHash"`
	Hashes   []string `json:"hashes"`
	// Checkpoint is the signed checkpoint note of the tree of TreeSize
	// leaves (nil when the tree of that size was never checkpointed).
	Checkpoint *string `json:"checkpoint,omitempty"`
}

// ConsistencyProof is an RFC 6962 consistency proof that the tree of
// FromSize leaves is a prefix of the tree of ToSize leaves. Hashes are
// standard base64.
type ConsistencyProof struct {
	FromSize int64    `json:"fromSize"`
	ToSize   int64    `json:"toSize"`
	FromRoot string   `json:"fromRoot"`
	ToRoot   string   `json:"toRoot"`
	Hashes   []string `json:"hashes"`
}

func b64(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// visibleEvent returns the chained event with seq when the viewer of ctx
// may see it (the audit event privacy rules), else NOT_FOUND.
func (s *Service) visibleEvent(ctx context.Context, seq int64) (Entry, error) {
	if viewer.FromContext(ctx) == nil {
		return Entry{}, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	if seq < 1 {
		return Entry{}, apperr.Invalid("seq", "seq must be positive")
	}
	ok, err := s.db.Client.AuditEvent.Query().Where(auditevent.Seq(seq)).Exist(ctx)
	if err != nil {
		return Entry{}, apperr.About(err, "audit event")
	}
	if !ok {
		return Entry{}, apperr.NotFoundf("audit event %d not found", seq)
	}
	es, err := ChainedEvents(ctx, s.db, seq-1, 1)
	if err != nil {
		return Entry{}, err
	}
	if len(es) != 1 || es[0].Seq != seq {
		return Entry{}, apperr.NotFoundf("audit event %d not found", seq)
	}
	return es[0], nil
}

// checkpointNote returns the newest stored checkpoint note of a tree of at
// least minSize leaves (exactly size when size > 0), or "" when none.
func (s *Service) checkpointNote(ctx context.Context, minSize, size int64) (int64, string, error) {
	q := s.db.Client.AuditCheckpoint.Query().Where(auditcheckpoint.NoteNEQ(""), auditcheckpoint.NoteNotNil())
	if size > 0 {
		q = q.Where(auditcheckpoint.HeadSeq(size))
	} else {
		q = q.Where(auditcheckpoint.HeadSeqGTE(minSize))
	}
	cps, err := q.Order(ent.Desc(auditcheckpoint.FieldHeadSeq)).Limit(1).All(rule.Bypass(ctx))
	if err != nil {
		return 0, "", fmt.Errorf("audit: read checkpoint notes: %w", err)
	}
	if len(cps) == 0 {
		return 0, "", nil
	}
	return cps[0].HeadSeq, cps[0].Note, nil
}

// InclusionProof returns the inclusion proof of the event with seq, for
// any viewer who may see that event (others get NOT_FOUND, as for the
// event itself). treeSize nil means the newest checkpointed tree that
// contains the event, else the current tree; the proof carries the signed
// checkpoint note of its tree size when there is one.
func (s *Service) InclusionProof(ctx context.Context, seq int64, treeSize *int64) (*InclusionProof, error) {
	e, err := s.visibleEvent(ctx, seq)
	if err != nil {
		return nil, err
	}
	current, err := TreeSize(ctx, s.db)
	if err != nil {
		return nil, err
	}
	var size int64
	var cpNote string
	if treeSize != nil {
		size = *treeSize
		if size < seq || size > current {
			return nil, apperr.Invalid("treeSize", "treeSize must be between seq (%d) and the tree size (%d)", seq, current)
		}
		if _, cpNote, err = s.checkpointNote(ctx, 0, size); err != nil {
			return nil, err
		}
	} else {
		if size, cpNote, err = s.checkpointNote(ctx, seq, 0); err != nil {
			return nil, err
		}
		if cpNote == "" {
			size = current
		}
	}
	if size < seq {
		return nil, apperr.NotFoundf("audit event %d is not in the Merkle tree yet", seq)
	}
	p, err := ProveInclusion(ctx, s.db, seq, size)
	if err != nil {
		return nil, err
	}
	root, err := TreeRoot(ctx, s.db, size)
	if err != nil {
		return nil, err
	}
	leaf, err := LeafHash(e)
	if err != nil {
		return nil, err
	}
	out := &InclusionProof{Seq: seq, TreeSize: size, LeafHash: base64.StdEncoding.EncodeToString(leaf[:]),
		RootHash: base64.StdEncoding.EncodeToString(root[:]), Hashes: b64(p)}
	if cpNote != "" {
		out.Checkpoint = &cpNote
	}
	return out, nil
}

// ConsistencyProof returns the consistency proof between the trees of
// fromSize and toSize leaves (any signed-in viewer: it holds hashes only).
func (s *Service) ConsistencyProof(ctx context.Context, fromSize, toSize int64) (*ConsistencyProof, error) {
	if viewer.FromContext(ctx) == nil {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	current, err := TreeSize(ctx, s.db)
	if err != nil {
		return nil, err
	}
	if fromSize < 1 || fromSize > toSize {
		return nil, apperr.Invalid("fromSize", "fromSize must be between 1 and toSize")
	}
	if toSize > current {
		return nil, apperr.Invalid("toSize", "toSize must be at most the tree size (%d)", current)
	}
	p, err := ProveConsistency(ctx, s.db, fromSize, toSize)
	if err != nil {
		return nil, err
	}
	from, err := TreeRoot(ctx, s.db, fromSize)
	if err != nil {
		return nil, err
	}
	to, err := TreeRoot(ctx, s.db, toSize)
	if err != nil {
		return nil, err
	}
	return &ConsistencyProof{FromSize: fromSize, ToSize: toSize, FromRoot: base64.StdEncoding.EncodeToString(from[:]),
		ToRoot: base64.StdEncoding.EncodeToString(to[:]), Hashes: b64(p)}, nil
}

// Bundle is a self-contained proof that one event is in the log: the event
// as an export line, its inclusion proof and the signed checkpoint note of
// the proof's tree size. VerifyBundle checks it with only the log's public
// key.
type Bundle struct {
	Event      json.RawMessage `json:"event"`
	TreeSize   int64           `json:"treeSize"`
	Proof      []string        `json:"proof"`
	Checkpoint string          `json:"checkpoint"`
}

// ProofBundle returns the bundle of the event with seq (visibility as
// InclusionProof). Its checkpoint is the newest stored checkpoint note
// containing the event, or, when the event is newer than every
// checkpoint, a note of the current tree signed now.
func (s *Service) ProofBundle(ctx context.Context, seq int64) (*Bundle, error) {
	p, err := s.InclusionProof(ctx, seq, nil)
	if err != nil {
		return nil, err
	}
	if p.Checkpoint == nil {
		n, err := signedNote(ctx, s.db, s.key, p.TreeSize)
		if err != nil {
			return nil, err
		}
		p.Checkpoint = &n
	}
	e, err := s.visibleEvent(ctx, seq)
	if err != nil {
		return nil, err
	}
	line, err := MarshalLine(e)
	if err != nil {
		return nil, err
	}
	return &Bundle{Event: line, TreeSize: p.TreeSize, Proof: p.Hashes, Checkpoint: *p.Checkpoint}, nil
}

// VerifyBundle checks a proof bundle offline against the log's public
// keys: the event line is well formed and its hash is its content's, the
// checkpoint note is signed by one of keys for a tree of TreeSize leaves,
// and the proof shows the event's leaf at index seq-1 in that tree. It
// returns the event and the checked tree head.
func VerifyBundle(data []byte, keys []ed25519.PublicKey) (Entry, TreeHead, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: %w", err)
	}
	e, err := ParseLine(b.Event)
	if err != nil {
		return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: %w", err)
	}
	h, err := HashEntry(e)
	if err != nil {
		return Entry{}, TreeHead{}, err
	}
	if h != e.Hash {
		return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: event seq %d: hash %s is not its content's %s", e.Seq, e.Hash, h)
	}
	th, _, err := OpenTreeHead([]byte(b.Checkpoint), keys)
	if err != nil {
		return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: %w", err)
	}
	if th.Size != b.TreeSize {
		return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: checkpoint of size %d, proof for size %d", th.Size, b.TreeSize)
	}
	proof := make(tlog.RecordProof, len(b.Proof))
	for i, s := range b.Proof {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: proof hash %d is not a base64 hash", i)
		}
		proof[i] = tlog.Hash(raw)
	}
	leaf, err := LeafHash(e)
	if err != nil {
		return Entry{}, TreeHead{}, err
	}
	if err := tlog.CheckRecord(proof, th.Size, th.Root, e.Seq-1, leaf); err != nil {
		return Entry{}, TreeHead{}, fmt.Errorf("audit: proof bundle: event seq %d is not in the signed tree of size %d: %w", e.Seq, th.Size, err)
	}
	return e, th, nil
}

// ProofHandler serves GET /audit/events/{seq}/proof: the event's Bundle as
// JSON, under the viewer rules of InclusionProof (mount it behind the
// authentication middleware).
func ProofHandler(s *Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
		if err != nil {
			apperr.WriteJSON(w, apperr.Invalid("seq", "seq must be an integer"))
			return
		}
		b, err := s.ProofBundle(r.Context(), seq)
		if err != nil {
			apperr.WriteJSON(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(b)
	})
}
