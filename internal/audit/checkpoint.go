package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditcheckpoint"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// Reasons a checkpoint is written.
const (
	ReasonStartup   = "startup"
	ReasonInterval  = "interval"
	ReasonThreshold = "threshold"
	ReasonManual    = "manual"
)

// Defaults of a Checkpointer.
const (
	DefaultCheckpointInterval  = 5 * time.Minute
	DefaultCheckpointThreshold = 100
)

// Checkpoint is a signed statement of the chain head.
type Checkpoint struct {
	HeadSeq   int64     `json:"headSeq"`
	HeadHash  string    `json:"headHash"`
	At        time.Time `json:"-"`
	KeyID     string    `json:"keyId"`
	Algorithm string    `json:"algorithm"`
	// Signature is the standard base64 of the signature bytes.
	Signature string `json:"signature"`
	Reason    string `json:"reason"`
	// Note is the same head as a C2SP signed checkpoint note (tree size
	// HeadSeq, Merkle root), or "" for a checkpoint made before the tree.
	Note string `json:"note,omitempty"`
}

// CheckpointMessage returns the bytes a checkpoint signs: the ASCII text
//
//	dezky-audit-checkpoint-v1\n<headSeq>\n<headHash>\n<at>\n
//
// with headSeq in decimal and at in TimeLayout.
func CheckpointMessage(headSeq int64, headHash string, at time.Time) []byte {
	b := []byte("dezky-audit-checkpoint-v1\n")
	b = strconv.AppendInt(b, headSeq, 10)
	b = append(b, '\n')
	b = append(b, headHash...)
	b = append(b, '\n')
	b = append(b, at.UTC().Format(TimeLayout)...)
	return append(b, '\n')
}

// Sign returns a checkpoint of (headSeq, headHash, at) signed by k; at is
// truncated to microseconds.
func (k *SigningKey) Sign(headSeq int64, headHash string, at time.Time, reason string) Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	return Checkpoint{HeadSeq: headSeq, HeadHash: headHash, At: at, KeyID: k.ID, Algorithm: Algorithm,
		Signature: k.SignMessage(CheckpointMessage(headSeq, headHash, at)), Reason: reason}
}

// SignMessage returns the standard base64 of k's ed25519 signature of msg.
func (k *SigningKey) SignMessage(msg []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(k.Private, msg))
}

// VerifyMessage reports whether signature (standard base64) signs msg with
// algorithm ed25519 under the one of keys whose KeyID is keyID.
func VerifyMessage(keys []ed25519.PublicKey, keyID, algorithm, signature string, msg []byte) bool {
	if algorithm != Algorithm {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && KeyID(k) == keyID && ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// VerifySignature reports whether cp is signed by one of keys: the key
// whose KeyID is cp.KeyID, with cp.Algorithm ed25519.
func (cp Checkpoint) VerifySignature(keys []ed25519.PublicKey) bool {
	return VerifyMessage(keys, cp.KeyID, cp.Algorithm, cp.Signature, CheckpointMessage(cp.HeadSeq, cp.HeadHash, cp.At))
}

type checkpointLine struct {
	Algorithm *string `json:"algorithm"`
	At        *string `json:"at"`
	HeadHash  *string `json:"headHash"`
	HeadSeq   *int64  `json:"headSeq"`
	KeyID     *string `json:"keyId"`
	Reason    string  `json:"reason"`
	Signature *string `json:"signature"`
	Note      string  `json:"note,omitempty"`
}

// MarshalCheckpointLine returns cp as one export line (without the
// newline): a JSON object with the members algorithm, at (TimeLayout),
// headHash, headSeq, keyId, reason, signature, and note when it has one.
func MarshalCheckpointLine(cp Checkpoint) ([]byte, error) {
	at := cp.At.UTC().Format(TimeLayout)
	b, err := json.Marshal(checkpointLine{Algorithm: &cp.Algorithm, At: &at, HeadHash: &cp.HeadHash,
		HeadSeq: &cp.HeadSeq, KeyID: &cp.KeyID, Reason: cp.Reason, Signature: &cp.Signature, Note: cp.Note})
	if err != nil {
		return nil, fmt.Errorf("audit: encode checkpoint %d: %w", cp.HeadSeq, err)
	}
	return b, nil
}

// ParseCheckpointLine parses one checkpoint export line. Every member but
// reason and note is required; unknown members are rejected. The signature is not
// checked: that is Verify's job.
func ParseCheckpointLine(data []byte) (Checkpoint, error) {
	var l checkpointLine
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: parse checkpoint line: %w", err)
	}
	if dec.More() {
		return Checkpoint{}, errors.New("audit: parse checkpoint line: trailing data")
	}
	if l.Algorithm == nil || l.At == nil || l.HeadHash == nil || l.HeadSeq == nil || l.KeyID == nil || l.Signature == nil {
		return Checkpoint{}, errors.New("audit: parse checkpoint line: algorithm, at, headHash, headSeq, keyId and signature are required")
	}
	at, err := time.Parse(TimeLayout, *l.At)
	if err != nil || at.Format(TimeLayout) != *l.At {
		return Checkpoint{}, fmt.Errorf("audit: parse checkpoint line: at %q is not in the form %s", *l.At, TimeLayout)
	}
	return Checkpoint{HeadSeq: *l.HeadSeq, HeadHash: *l.HeadHash, At: at, KeyID: *l.KeyID,
		Algorithm: *l.Algorithm, Signature: *l.Signature, Reason: l.Reason, Note: l.Note}, nil
}

// CheckpointerOptions configure a Checkpointer; zero values take the
// defaults.
type CheckpointerOptions struct {
	Interval time.Duration
	// IntervalElsewhere leaves interval checkpoints to the caller (the
	// server runs CheckpointInterval as a periodic job, once per interval
	// across replicas); Run then writes startup and threshold checkpoints
	// only.
	IntervalElsewhere bool
	Threshold         int64
	Logger            *slog.Logger
	// OnCheckpoint, when set, is called with every checkpoint written (for
	// example Witnesses.OnCheckpoint).
	OnCheckpoint func(ctx context.Context, cp Checkpoint)
}

// Checkpointer writes signed checkpoints of the chain head: on startup,
// every Interval, whenever the head is Threshold or more events past the
// latest checkpoint, and on demand. It never writes two checkpoints of one
// head (the unique index on head_seq settles races between replicas).
type Checkpointer struct {
	db     *db.DB
	key    *SigningKey
	opts   CheckpointerOptions
	notify chan int64
}

// NewCheckpointer returns a Checkpointer signing with key.
func NewCheckpointer(d *db.DB, key *SigningKey, opts CheckpointerOptions) *Checkpointer {
	if opts.Interval <= 0 {
		opts.Interval = DefaultCheckpointInterval
	}
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultCheckpointThreshold
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Checkpointer{db: d, key: key, opts: opts, notify: make(chan int64, 1)}
}

// Observe tells a running Run loop that the chain head moved to head (wire
// it as ChainerOptions.OnChain). It never blocks.
func (c *Checkpointer) Observe(head int64) {
	select {
	case c.notify <- head:
	default:
		select {
		case <-c.notify:
		default:
		}
		select {
		case c.notify <- head:
		default:
		}
	}
}

// Run writes a startup checkpoint, then interval and threshold checkpoints
// until ctx ends; it returns nil then. The startup checkpoint covers the
// head as the chain first stands: when nothing is chained yet at start
// (events written just before, such as demo seeding, are linked a moment
// later), it is written at the first head Observe reports. Failures are
// logged and retried on the next occasion. The threshold is checked
// against the head Observe reports and the latest checkpoint this loop has
// seen, so a notification costs no database read until a checkpoint is
// due.
func (c *Checkpointer) Run(ctx context.Context) error {
	last := c.try(ctx, ReasonStartup, 0)
	startupDue := last == 0 // nothing checkpointed: the chain was empty (or the write failed)
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	tick := t.C
	if c.opts.IntervalElsewhere {
		tick = nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			last = c.try(ctx, ReasonInterval, last)
			startupDue = startupDue && last == 0
		case head := <-c.notify:
			switch {
			case startupDue:
				last = c.try(ctx, ReasonStartup, last)
				startupDue = last == 0
			case head-last >= c.opts.Threshold:
				last = c.try(ctx, ReasonThreshold, last)
			}
		}
	}
}

// CheckpointInterval writes an interval checkpoint of the current head
// (nothing when it has one already).
func (c *Checkpointer) CheckpointInterval(ctx context.Context) error {
	_, _, _, err := c.checkpoint(ctx, ReasonInterval)
	return err
}

// Interval is the period of interval checkpoints.
func (c *Checkpointer) Interval() time.Duration { return c.opts.Interval }

// try checkpoints the head for reason and returns the latest checkpointed
// head it learned of (last when it learned nothing).
func (c *Checkpointer) try(ctx context.Context, reason string, last int64) int64 {
	latest, _, _, err := c.checkpoint(ctx, reason)
	if err != nil {
		if ctx.Err() == nil {
			c.opts.Logger.WarnContext(ctx, "audit checkpoint failed", "reason", reason, "err", err)
		}
		return last
	}
	return max(last, latest)
}

// Checkpoint signs and stores the current head. It returns written=false,
// and no error, when the chain is empty or the head already has a
// checkpoint.
func (c *Checkpointer) Checkpoint(ctx context.Context, reason string) (cp Checkpoint, written bool, err error) {
	_, cp, written, err = c.checkpoint(ctx, reason)
	return cp, written, err
}

// checkpoint is Checkpoint that also returns the latest checkpointed head
// afterwards (as far as it knows; 0 on error).
func (c *Checkpointer) checkpoint(ctx context.Context, reason string) (latest int64, cp Checkpoint, written bool, err error) {
	head, hash, err := Head(ctx, c.db)
	if err != nil {
		return 0, Checkpoint{}, false, err
	}
	last, err := c.latestHead(ctx)
	if err != nil {
		return 0, Checkpoint{}, false, err
	}
	if head == 0 || last >= head {
		return last, Checkpoint{}, false, nil
	}
	cp = c.key.Sign(head, hash, time.Now(), reason)
	if cp.Note, err = signedNote(ctx, c.db, c.key, head); err != nil {
		return 0, Checkpoint{}, false, err
	}
	sys := viewer.SystemContext(ctx)
	err = c.db.Client.AuditCheckpoint.Create().
		SetHeadSeq(cp.HeadSeq).SetHeadHash(cp.HeadHash).SetAt(cp.At).
		SetKeyID(cp.KeyID).SetAlgorithm(cp.Algorithm).SetSignature(cp.Signature).
		SetReason(auditcheckpoint.Reason(reason)).SetNote(cp.Note).Exec(sys)
	if ent.IsConstraintError(err) {
		// Another replica checkpointed this head first.
		return head, Checkpoint{}, false, nil
	}
	if err != nil {
		return 0, Checkpoint{}, false, fmt.Errorf("audit: store checkpoint of seq %d: %w", head, err)
	}
	c.opts.Logger.InfoContext(ctx, "audit checkpoint", "head_seq", head, "reason", reason, "key_id", cp.KeyID)
	if c.opts.OnCheckpoint != nil {
		c.opts.OnCheckpoint(ctx, cp)
	}
	return head, cp, true, nil
}

func (c *Checkpointer) latestHead(ctx context.Context) (int64, error) {
	cps, err := c.db.Client.AuditCheckpoint.Query().
		Order(ent.Desc(auditcheckpoint.FieldHeadSeq)).Limit(1).All(viewer.SystemContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("audit: read latest checkpoint: %w", err)
	}
	if len(cps) == 0 {
		return 0, nil
	}
	return cps[0].HeadSeq, nil
}
