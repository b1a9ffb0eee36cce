package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/idempotencykey"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/oneshot"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// IdempotencyWindow is how long a replayed Idempotency-Key returns the first
// response.
const IdempotencyWindow = 24 * time.Hour

type idemKey struct{}

// withIdempotencyKey stores the request's Idempotency-Key header in ctx.
func withIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idemKey{}, key)
}

// mutationTx runs every mutation operation in one transaction and
// implements Idempotency-Key replay. Queries and subscriptions pass through.
type mutationTx struct {
	client   *ent.Client
	postgres bool
	log      *slog.Logger
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = mutationTx{}

func (mutationTx) ExtensionName() string                   { return "MutationTransaction" }
func (mutationTx) Validate(graphql.ExecutableSchema) error { return nil }
func isMutation(oc *graphql.OperationContext) bool {
	return oc != nil && oc.Operation != nil && oc.Operation.Operation == ast.Mutation
}
func (t mutationTx) skip(oc *graphql.OperationContext) bool {
	return !isMutation(oc) || selfTransactingOp(oc.Operation) != ""
}

// selfTransacting are mutation fields that manage their own transactions
// because they wait on background writers (the audit chainer). They run
// outside the operation transaction and must be alone in their operation,
// so nothing else can escape the all-or-nothing rule.
var selfTransacting = map[string]bool{"createAuditCheckpoint": true, "runAuditArchive": true, "eraseAuditSubject": true}

// selfTransactingOp returns the self-transacting field of op, if any.
func selfTransactingOp(op *ast.OperationDefinition) string {
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok && selfTransacting[f.Name] {
			return f.Name
		}
	}
	return ""
}

// MutateOperationContext serialises resolvers of a mutation: they share one
// transaction, which is not safe for concurrent use.
func (t mutationTx) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if isMutation(oc) {
		if name := selfTransactingOp(oc.Operation); name != "" && len(oc.Operation.SelectionSet) > 1 {
			return codedError(apperr.BadUserInput, name+" must be the only field of its mutation")
		}
	}
	if t.skip(oc) {
		return nil
	}
	previous := oc.ResolverMiddleware
	var mu sync.Mutex
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return previous(ctx, next)
	}
	return nil
}

// InterceptResponse wraps a mutation in a transaction with idempotency.
func (t mutationTx) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	oc := graphql.GetOperationContext(ctx)
	if t.skip(oc) {
		return next(ctx)
	}
	key, _ := ctx.Value(idemKey{}).(string)
	var scope, hash string
	if v := viewer.FromContext(ctx); v == nil {
		key = "" // anonymous mutations fail with UNAUTHENTICATED; nothing to remember
	} else if key != "" {
		scope, hash = v.Subject, requestHash(oc)
	}
	txCtx, tx, err := db.BeginTx(ctx, t.client)
	if err != nil {
		t.log.ErrorContext(ctx, "open transaction", "err", err)
		return errorResponse(dbFailureCode(err))
	}
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback()
			panic(r)
		}
	}()
	if key != "" {
		// Requests with one key run one after the other: the first commits
		// its response with its changes, the others find it here. SQLite
		// transactions are serialised anyway (immediate locking).
		if t.postgres {
			if _, err := tx.ExecContext(txCtx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, scope+"\n"+key); err != nil {
				_ = tx.Rollback()
				t.log.ErrorContext(ctx, "lock idempotency key", "err", err)
				return errorResponse(dbFailureCode(err))
			}
		}
		if rsp, done := t.replay(txCtx, tx.Client(), scope, key, hash); done {
			_ = tx.Rollback()
			return rsp
		}
	}
	// Values shown once (client and signing secrets, marked with
	// oneshot.Mark) are kept out of the stored replay response.
	txCtx = oneshot.WithHolder(txCtx)
	rsp := next(txCtx)
	if len(rsp.Errors) > 0 {
		_ = tx.Rollback()
		return &graphql.Response{Errors: rsp.Errors, Extensions: rsp.Extensions}
	}
	if key != "" {
		// Values shown once (credentials, client and signing secrets) are
		// not kept for replays.
		stored := *rsp
		data, err := oneshot.Redact(txCtx, rsp.Data)
		var body []byte
		if err == nil {
			stored.Data = data
			body, err = storedResponse(oc, &stored)
		}
		if err == nil {
			// An expired record of this key (not yet removed by
			// ExpireIdempotencyKeys) no longer counts: the key is new.
			err = deleteExpiredKey(rule.Bypass(txCtx), tx.Client(), scope, key, time.Now())
		}
		if err == nil {
			_, err = tx.IdempotencyKey.Create().SetScope(scope).SetKey(key).SetRequestHash(hash).
				// Idempotency records are not the caller's to write directly.
				SetResponse(body).Save(rule.Bypass(txCtx))
		}
		if err != nil {
			_ = tx.Rollback()
			if db.IsUniqueViolation(err) {
				// A concurrent request with the same key won the race.
				if rsp, done := t.replay(ctx, t.client, scope, key, hash); done {
					return rsp
				}
			}
			t.log.ErrorContext(ctx, "store idempotency key", "err", err)
			return errorResponse(dbFailureCode(err))
		}
	}
	if err := tx.Commit(); err != nil {
		t.log.ErrorContext(ctx, "commit mutation", "err", err)
		return errorResponse(dbFailureCode(err))
	}
	return rsp
}

// credentialFields are the mutation fields whose payload carries a
// one-time credential (field "credential") and says whether it was
// withheld (field "credentialWithheld").
var credentialFields = map[string]bool{
	"createMember": true, "resetMemberPassword": true, "inviteOperator": true, "invitePartnerStaff": true,
}

// storedResponse is the JSON of rsp as the idempotency record keeps it: a
// one-time credential is shown once, so in every credential-bearing
// payload the credential is null and credentialWithheld true (whatever
// aliases or fragments selected them). A replay then returns the rest of
// the response and says the credential was withheld.
func storedResponse(oc *graphql.OperationContext, rsp *graphql.Response) ([]byte, error) {
	var data map[string]any
	if len(rsp.Data) > 0 {
		if err := json.Unmarshal(rsp.Data, &data); err != nil {
			return nil, err
		}
	}
	changed := false
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"}) {
		obj, ok := data[f.Alias].(map[string]any)
		if !credentialFields[f.Name] || !ok || f.Definition == nil {
			continue
		}
		for _, sub := range graphql.CollectFields(oc, f.Selections, []string{f.Definition.Type.Name()}) {
			switch sub.Name {
			case "credential":
				obj[sub.Alias], changed = nil, true
			case "credentialWithheld":
				obj[sub.Alias], changed = true, true
			}
		}
	}
	if !changed {
		return json.Marshal(rsp)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	stored := *rsp
	stored.Data = raw
	return json.Marshal(&stored)
}

// replay returns the stored response for (scope, key) if one exists within
// the window: the stored response when the request matches, a CONFLICT when
// it does not.
func (t mutationTx) replay(ctx context.Context, c *ent.Client, scope, key, hash string) (*graphql.Response, bool) {
	// Idempotency records are not the caller's to read directly.
	sys := rule.Bypass(ctx)
	k, err := c.IdempotencyKey.Query().
		Where(idempotencykey.Scope(scope), idempotencykey.Key(key),
			idempotencykey.CreatedAtGT(time.Now().Add(-IdempotencyWindow))).
		Only(sys)
	if ent.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.log.ErrorContext(ctx, "read idempotency key", "err", err)
		return errorResponse(dbFailureCode(err)), true
	}
	if k.RequestHash != hash {
		return errorResponse(apperr.Conflict, "Idempotency-Key was already used for a different request"), true
	}
	var rsp graphql.Response
	if err := json.Unmarshal(k.Response, &rsp); err != nil {
		t.log.ErrorContext(ctx, "decode idempotent response", "err", err)
		return errorResponse(apperr.Internal, "internal error"), true
	}
	return &rsp, true
}

// requestHash identifies a request: the query text, operation name and
// variables (encoding/json sorts map keys, so the hash is canonical).
func requestHash(oc *graphql.OperationContext) string {
	b, _ := json.Marshal(struct {
		Q string         `json:"q"`
		O string         `json:"o"`
		V map[string]any `json:"v"`
	}{oc.RawQuery, oc.OperationName, oc.Variables})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func errorResponse(code apperr.Code, msg string) *graphql.Response {
	return &graphql.Response{Errors: gqlerror.List{codedError(code, msg)}}
}
