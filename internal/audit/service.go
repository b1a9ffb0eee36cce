package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditcheckpoint"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/viewer"
)

// Service is the audit trail as the API offers it: the published signing
// key, on-demand checkpoints and chain verification. Checkpoints and
// verification are for operators.
type Service struct {
	db          *db.DB
	chainer     *Chainer
	checkpoints *Checkpointer
	key         *SigningKey
	verify      VerifyFunc
	// eraseArchive erases a subject from the archive (nil: no archive).
	eraseArchive ArchiveEraserFunc
}

// VerifyFunc verifies the whole chain with keys (for example archive
// followed by hot rows).
type VerifyFunc func(ctx context.Context, keys []ed25519.PublicKey) (Report, error)

// SetVerifier replaces the default verification (the hot rows from seq 1),
// for deployments that archive old events.
func (s *Service) SetVerifier(f VerifyFunc) { s.verify = f }

// NewService returns the API service over a running chain.
func NewService(d *db.DB, ch *Chainer, cp *Checkpointer, key *SigningKey) *Service {
	return &Service{db: d, chainer: ch, checkpoints: cp, key: key}
}

// KeyInfo describes the published verification key.
type KeyInfo struct {
	KeyID     string
	Algorithm string
	// PEM is the PKIX PEM encoding of the public key.
	PEM string
}

// SigningKey returns the public half of the checkpoint signing key.
func (s *Service) SigningKey(ctx context.Context) (*KeyInfo, error) {
	if viewer.FromContext(ctx) == nil {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	pem, err := MarshalPublicKey(s.key.Public)
	if err != nil {
		return nil, err
	}
	return &KeyInfo{KeyID: s.key.ID, Algorithm: Algorithm, PEM: string(pem)}, nil
}

// CreateCheckpoint records the request, chains everything pending and signs
// the head (operators only). It returns the newest checkpoint, which covers
// the request itself. It manages its own transactions.
func (s *Service) CreateCheckpoint(ctx context.Context) (*ent.AuditCheckpoint, error) {
	// An action, not an entity: any viewer may append audit events, and the
	// checkpoint itself is written by the checkpointer.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	if ent.TxFromContext(ctx) != nil {
		return nil, fmt.Errorf("audit: CreateCheckpoint must not run inside a transaction")
	}
	err := db.WithTx(ctx, s.db.Client, func(ctx context.Context) error {
		return Record(ctx, Event{Action: "audit.checkpoint_requested", ResourceType: "audit"})
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.chainer.ChainPending(ctx); err != nil {
		return nil, err
	}
	if _, _, err := s.checkpoints.Checkpoint(ctx, ReasonManual); err != nil {
		return nil, err
	}
	cp, err := s.db.Client.AuditCheckpoint.Query().Order(ent.Desc(auditcheckpoint.FieldHeadSeq)).First(ctx)
	return cp, apperr.About(err, "audit checkpoint")
}

// VerifyChain walks the whole chain (the archive first when SetVerifier says
// so) and its checkpoints with the published key (operators only).
func (s *Service) VerifyChain(ctx context.Context) (*Report, error) {
	// An action over the whole chain (archive included), not one entity.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	keys := []ed25519.PublicKey{s.key.Public}
	var r Report
	var err error
	if s.verify != nil {
		r, err = s.verify(ctx, keys)
	} else {
		r, err = Verify(ctx, DBSource(s.db), keys)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: verify chain: %w", err)
	}
	return &r, nil
}

// Cosignatures returns the witness cosignatures of cp (readable by whoever
// may read cp: the checkpoint policy already admitted the viewer).
func (s *Service) Cosignatures(ctx context.Context, cp *ent.AuditCheckpoint) ([]*ent.AuditCosignature, error) {
	return Cosignatures(ctx, s.db, cp.HeadSeq)
}
