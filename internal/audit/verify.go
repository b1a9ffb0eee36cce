package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/db"
)

// Kinds of Break.
const (
	BreakEventHash      = "event-hash-mismatch"
	BreakPrevHash       = "prev-hash-mismatch"
	BreakSequenceGap    = "sequence-gap"
	BreakCheckpointSig  = "checkpoint-signature-mismatch"
	BreakCheckpointNote = "checkpoint-note-mismatch"
)

// Break is the first place where the chain or a checkpoint does not hold.
type Break struct {
	Kind     string `json:"kind"`
	Seq      int64  `json:"seq"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// Report is the outcome of Verify.
type Report struct {
	OK                  bool   `json:"ok"`
	EventsVerified      int    `json:"eventsVerified"`
	CheckpointsVerified int    `json:"checkpointsVerified"`
	Break               *Break `json:"break,omitempty"`
}

// Source is where Verify reads the chain from.
type Source interface {
	// Checkpoints returns the checkpoints. Verify reads them before the
	// events, so every checkpoint's head is among the events of a live,
	// growing chain.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	// Events yields the chained events in the order stored (ascending seq
	// for an intact chain), stopping at the first error.
	Events(ctx context.Context) iter.Seq2[Entry, error]
}

// Verify walks the chain of src from seq 1 and its checkpoints, and
// returns the first break in seq order (at one seq, the event's checks come
// before those of the checkpoints of that head), or OK with the counts. An
// error means the source could not be read, not that the chain is broken.
// See the package documentation for what each kind of break means.
func Verify(ctx context.Context, src Source, keys []ed25519.PublicKey) (Report, error) {
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return Report{}, err
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].HeadSeq < cps[j].HeadSeq })
	var r Report
	ci := 0
	// tree is the Merkle tree of the events walked so far, kept when a
	// checkpoint has a note to check.
	var tree *compactRange
	for _, cp := range cps {
		if cp.Note != "" {
			tree = &compactRange{}
			break
		}
	}
	// checkpointsUpTo checks the checkpoints of heads ≤ seq against hash,
	// the chain's hash at seq (checkpoints of a lower head were missed by
	// the walk: their head is not in the chain).
	checkpointsUpTo := func(seq int64, hash string) *Break {
		for ; ci < len(cps) && cps[ci].HeadSeq <= seq; ci++ {
			cp := cps[ci]
			if !cp.VerifySignature(keys) {
				return &Break{Kind: BreakCheckpointSig, Seq: cp.HeadSeq,
					Expected: "ed25519 signature by key " + cp.KeyID, Actual: cp.Signature}
			}
			if cp.HeadSeq != seq || cp.HeadHash != hash {
				actual := hash
				if cp.HeadSeq != seq {
					actual = ""
				}
				return &Break{Kind: BreakCheckpointSig, Seq: cp.HeadSeq, Expected: cp.HeadHash, Actual: actual}
			}
			if cp.Note != "" {
				if b := checkNote(cp, keys, tree); b != nil {
					return b
				}
			}
			r.CheckpointsVerified++
		}
		return nil
	}
	next, prev := int64(1), ""
	h := newBatchHasher(tree != nil)
	// check runs the checks of one hashed event, in seq order: the break
	// it finds, or nil to go on.
	check := func(e Entry, eh *eventHash) (*Break, error) {
		if e.Seq != next {
			if b := checkpointsUpTo(next-1, prev); b != nil {
				return b, nil
			}
			return &Break{Kind: BreakSequenceGap, Seq: next, Expected: strconv.FormatInt(next, 10), Actual: strconv.FormatInt(e.Seq, 10)}, nil
		}
		if e.PrevHash != prev {
			return &Break{Kind: BreakPrevHash, Seq: e.Seq, Expected: prev, Actual: e.PrevHash}, nil
		}
		if errors.Is(eh.err, ErrSeal) {
			// The personal seals do not fit the event: it was altered.
			return &Break{Kind: BreakEventHash, Seq: e.Seq, Expected: eh.err.Error(), Actual: e.Hash}, nil
		}
		if eh.err != nil {
			return nil, eh.err
		}
		if !hashIs(eh.sum, e.Hash) {
			return &Break{Kind: BreakEventHash, Seq: e.Seq, Expected: hex.EncodeToString(eh.sum[:]), Actual: e.Hash}, nil
		}
		r.EventsVerified++
		if tree != nil {
			tree.add(eh.leaf)
		}
		if b := checkpointsUpTo(e.Seq, e.Hash); b != nil {
			return b, nil
		}
		next, prev = e.Seq+1, e.Hash
		return nil, nil
	}
	// flush hashes and checks the batch read so far.
	flush := func() (*Break, error) {
		hs := h.hash()
		for i, e := range h.batch {
			if b, err := check(e, &hs[i]); b != nil || err != nil {
				return b, err
			}
		}
		h.batch = h.batch[:0]
		return nil, nil
	}
	// ended is Verify's answer when a flush ends the walk.
	ended := func(b *Break, err error) (Report, error) {
		if err != nil {
			return Report{}, err
		}
		r.Break = b
		return r, nil
	}
	var readErr error
	for e, err := range src.Events(ctx) {
		if err != nil {
			// Events read before the error are checked first: a break
			// among them is the answer.
			readErr = err
			break
		}
		if h.batch = append(h.batch, e); len(h.batch) < cap(h.batch) {
			continue
		}
		if b, err := flush(); b != nil || err != nil {
			return ended(b, err)
		}
	}
	if b, err := flush(); b != nil || err != nil {
		return ended(b, err)
	}
	if readErr != nil {
		return Report{}, readErr
	}
	// Checkpoints past the end: the chain lost its tail.
	if b := checkpointsUpTo(1<<63-1, ""); b != nil {
		r.Break = b
		return r, nil
	}
	r.OK = true
	return r, nil
}

// verifyBatch is how many events Verify hashes at once, split among the
// CPUs; their checks then run in seq order.
const verifyBatch = 1024

// eventHash is what hashing one event gives Verify: the sha256 of its
// canonical bytes, their Merkle leaf hash (when a tree is kept) and the
// error that stopped them.
type eventHash struct {
	sum  [sha256.Size]byte
	leaf tlog.Hash
	err  error
}

// batchHasher hashes batches of events on every CPU, each worker writing
// canonical bytes into its own buffer: hashing is independent per event,
// only the checks are sequential.
type batchHasher struct {
	batch   []Entry
	out     []eventHash
	bufs    [][]byte
	leaves  bool
	workers int
}

func newBatchHasher(leaves bool) *batchHasher {
	w := max(1, min(runtime.GOMAXPROCS(0), 8))
	return &batchHasher{batch: make([]Entry, 0, verifyBatch), out: make([]eventHash, verifyBatch),
		bufs: make([][]byte, w), leaves: leaves, workers: w}
}

// hash hashes the batch; the result is valid until the next call.
func (h *batchHasher) hash() []eventHash {
	n := len(h.batch)
	out := h.out[:n]
	work := func(w, from, to int) {
		buf := h.bufs[w]
		for i := from; i < to; i++ {
			var err error
			buf, err = appendCanonical(buf[:0], h.batch[i])
			out[i] = eventHash{err: err}
			if err != nil {
				continue
			}
			out[i].sum = sha256.Sum256(buf)
			if h.leaves {
				out[i].leaf = tlog.RecordHash(buf)
			}
		}
		h.bufs[w] = buf
	}
	// Small batches (the tail of a chain, a short chain) are not worth
	// the goroutines.
	if h.workers == 1 || n < 64 {
		work(0, 0, n)
		return out
	}
	var wg sync.WaitGroup
	per := (n + h.workers - 1) / h.workers
	for w := range h.workers {
		from, to := w*per, min(n, (w+1)*per)
		if from >= to {
			break
		}
		wg.Go(func() { work(w, from, to) })
	}
	wg.Wait()
	return out
}

// checkNote checks the signed note of cp, whose head is the last event
// added to tree: signed by one of keys, of tree size HeadSeq and of tree's
// root.
func checkNote(cp Checkpoint, keys []ed25519.PublicKey, tree *compactRange) *Break {
	th, _, err := OpenTreeHead([]byte(cp.Note), keys)
	if err != nil {
		return &Break{Kind: BreakCheckpointNote, Seq: cp.HeadSeq, Expected: "note signed by the log key", Actual: err.Error()}
	}
	if th.Size != cp.HeadSeq || th.Size != tree.size {
		return &Break{Kind: BreakCheckpointNote, Seq: cp.HeadSeq, Expected: strconv.FormatInt(tree.size, 10), Actual: strconv.FormatInt(th.Size, 10)}
	}
	if root := tree.root(); th.Root != root {
		return &Break{Kind: BreakCheckpointNote, Seq: cp.HeadSeq, Expected: root.String(), Actual: th.Root.String()}
	}
	return nil
}

// DBSource reads the chain of a database: the chained events (seq not
// NULL) in seq order, in pages, and the checkpoints.
func DBSource(d *db.DB) Source { return dbSource{d} }

type dbSource struct{ d *db.DB }

func (s dbSource) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := s.d.SQL.QueryContext(ctx, `SELECT head_seq, head_hash, at, key_id, algorithm, signature, reason, COALESCE(note, '') FROM audit_checkpoints ORDER BY head_seq`)
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []Checkpoint
	for rows.Next() {
		var cp Checkpoint
		if err := rows.Scan(&cp.HeadSeq, &cp.HeadHash, &cp.At, &cp.KeyID, &cp.Algorithm, &cp.Signature, &cp.Reason, &cp.Note); err != nil {
			return nil, fmt.Errorf("audit: read checkpoints: %w", err)
		}
		cps = append(cps, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	return cps, nil
}

const dbPage = 1000

func (s dbSource) Events(ctx context.Context) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		after := int64(0)
		for {
			page, err := ChainedEvents(ctx, s.d, after, dbPage)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
				after = e.Seq
			}
			if len(page) < dbPage {
				return
			}
		}
	}
}

// Files of an export directory.
const (
	EventsFile      = "events.jsonl"
	CheckpointsFile = "checkpoints.jsonl"
	PublicKeyFile   = "audit-signing.pub"
)

// DirSource reads an export directory: the events are the lines of every
// file named events*.jsonl, files in name order, lines in file order (see
// ParseLine); the checkpoints are the lines of checkpoints.jsonl (see
// ParseCheckpointLine), which may be missing. Empty lines are skipped.
func DirSource(dir string) Source { return dirSource(dir) }

type dirSource string

func (d dirSource) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	var cps []Checkpoint
	err := readLines(filepath.Join(string(d), CheckpointsFile), func(n int, line []byte) error {
		cp, err := ParseCheckpointLine(line)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", CheckpointsFile, n, err)
		}
		cps = append(cps, cp)
		return nil
	})
	if os.IsNotExist(err) {
		return nil, nil
	}
	return cps, err
}

func (d dirSource) Events(ctx context.Context) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		files, err := filepath.Glob(filepath.Join(string(d), "events*.jsonl"))
		if err != nil {
			yield(Entry{}, fmt.Errorf("audit: list event files: %w", err))
			return
		}
		sort.Strings(files)
		stop := fmt.Errorf("stop")
		for _, f := range files {
			err := readLines(f, func(n int, line []byte) error {
				e, err := ParseLine(line)
				if err != nil {
					err = fmt.Errorf("%s line %d: %w", filepath.Base(f), n, err)
					yield(Entry{}, err)
					return stop
				}
				if !yield(e, nil) || ctx.Err() != nil {
					return stop
				}
				return nil
			})
			if err == stop {
				return
			}
			if err != nil {
				yield(Entry{}, err)
				return
			}
		}
	}
}

func readLines(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("audit: read %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Export writes the chain of src into dir (created if needed):
// checkpoints.jsonl, events.jsonl and, when pub is given, the public key
// as audit-signing.pub (PEM). The checkpoints are read first, so each one's
// head is in the exported events.
func Export(ctx context.Context, src Source, dir string, pub ed25519.PublicKey) (events, checkpoints int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("audit: export: %w", err)
	}
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return 0, 0, err
	}
	err = writeLines(filepath.Join(dir, CheckpointsFile), func(w *bufio.Writer) error {
		for _, cp := range cps {
			b, err := MarshalCheckpointLine(cp)
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	err = writeLines(filepath.Join(dir, EventsFile), func(w *bufio.Writer) error {
		for e, err := range src.Events(ctx) {
			if err != nil {
				return err
			}
			b, err := MarshalLine(e)
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
			events++
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if pub != nil {
		pem, err := MarshalPublicKey(pub)
		if err != nil {
			return 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, PublicKeyFile), pem, 0o644); err != nil {
			return 0, 0, fmt.Errorf("audit: export public key: %w", err)
		}
	}
	return events, len(cps), nil
}

func writeLines(path string, fill func(w *bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("audit: export %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit: export %s: %w", filepath.Base(path), err)
	}
	return nil
}
