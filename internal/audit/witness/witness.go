// Package witness is a C2SP tlog-witness (https://c2sp.org/tlog-witness)
// for Dezky audit logs: it accepts a log's signed checkpoint only when a
// consistency proof shows it extends the newest tree it cosigned for that
// log, persists that tree before answering, and cosigns it
// (https://c2sp.org/tlog-cosignature). A log operator who rewrites history
// and re-signs it, or shows different trees to different parties, cannot
// get such a checkpoint cosigned by a witness that saw the other history.
package witness

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/audit"
)

// AddCheckpointPath is the path of the add-checkpoint endpoint.
const AddCheckpointPath = "/add-checkpoint"

// Witness cosigns the checkpoints of known logs.
type Witness struct {
	name string
	key  ed25519.PrivateKey
	dir  string
	logs map[string]note.Verifier // origin → log key
	log  *slog.Logger
	now  func() time.Time
	mu   sync.Mutex
}

// state is the newest tree cosigned for one log.
type state struct {
	Size int64  `json:"size"`
	Root string `json:"root"` // base64
}

// New returns a witness named name signing with key, keeping its state in
// dir, for the logs whose public keys are logKeys (their origins are
// audit.Origin of each key).
func New(name string, key ed25519.PrivateKey, dir string, logKeys []ed25519.PublicKey, log *slog.Logger) (*Witness, error) {
	if log == nil {
		log = slog.Default()
	}
	w := &Witness{name: name, key: key, dir: dir, logs: map[string]note.Verifier{}, log: log, now: time.Now}
	for _, k := range logKeys {
		v, err := audit.NoteVerifier(k)
		if err != nil {
			return nil, err
		}
		w.logs[v.Name()] = v
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("witness: state dir: %w", err)
	}
	return w, nil
}

// Verifier returns the verifier of this witness's cosignatures.
func (w *Witness) Verifier() audit.CosignatureVerifier {
	return audit.NewCosignatureVerifier(w.name, w.key.Public().(ed25519.PublicKey))
}

// VerifierKey returns this witness's verifier key (name+hash+base64).
func (w *Witness) VerifierKey() string {
	return audit.CosignatureVerifierKey(w.name, w.key.Public().(ed25519.PublicKey))
}

func (w *Witness) statePath(origin string) string {
	sum := base64.RawURLEncoding.EncodeToString([]byte(origin))
	return filepath.Join(w.dir, "log-"+sum+".json")
}

func (w *Witness) load(origin string) (state, error) {
	b, err := os.ReadFile(w.statePath(origin))
	if errors.Is(err, os.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("witness: read state: %w", err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return state{}, fmt.Errorf("witness: read state: %w", err)
	}
	return s, nil
}

// save persists s durably (write, fsync, rename) before a cosignature is
// returned.
func (w *Witness) save(origin string, s state) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(w.dir, ".state-*")
	if err != nil {
		return fmt.Errorf("witness: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("witness: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("witness: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("witness: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), w.statePath(origin)); err != nil {
		return fmt.Errorf("witness: save state: %w", err)
	}
	return nil
}

// Handler serves POST /add-checkpoint. Answers, as C2SP tlog-witness
// specifies: 200 with the cosignature line; 400 for a malformed request;
// 403 when the checkpoint is not signed by a known log key; 404 for an
// unknown origin; 409 with the witnessed size when old is not it; 422 when
// the consistency proof does not hold.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+AddCheckpointPath, w.addCheckpoint)
	return mux
}

func (w *Witness) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(rw, "read body", http.StatusBadRequest)
		return
	}
	old, proof, msg, err := audit.ParseAddCheckpoint(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	th, err := audit.ParseTreeHead(textOf(msg))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	v, ok := w.logs[th.Origin]
	if !ok {
		http.Error(rw, "unknown log", http.StatusNotFound)
		return
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		http.Error(rw, "checkpoint not signed by the log key", http.StatusForbidden)
		return
	}
	if old > th.Size {
		http.Error(rw, "old size beyond the checkpoint", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, err := w.load(th.Origin)
	if err != nil {
		w.log.ErrorContext(r.Context(), "witness state", "err", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	if old != cur.Size {
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", cur.Size)
		return
	}
	if cur.Size > 0 {
		curRoot, err := base64.StdEncoding.DecodeString(cur.Root)
		if err != nil || len(curRoot) != tlog.HashSize {
			http.Error(rw, "internal error", http.StatusInternalServerError)
			return
		}
		ok := false
		if th.Size == cur.Size {
			ok = len(proof) == 0 && tlog.Hash(curRoot) == th.Root
		} else {
			ok = tlog.CheckTree(proof, th.Size, th.Root, cur.Size, tlog.Hash(curRoot)) == nil
		}
		if !ok {
			w.log.WarnContext(r.Context(), "inconsistent checkpoint refused", "origin", th.Origin,
				"witnessed_size", cur.Size, "size", th.Size)
			http.Error(rw, "checkpoint is not consistent with the witnessed tree of size "+strconv.FormatInt(cur.Size, 10), http.StatusUnprocessableEntity)
			return
		}
	} else if len(proof) != 0 {
		http.Error(rw, "no proof expected from size 0", http.StatusUnprocessableEntity)
		return
	}
	if th.Size > cur.Size {
		if err := w.save(th.Origin, state{Size: th.Size, Root: base64.StdEncoding.EncodeToString(th.Root[:])}); err != nil {
			w.log.ErrorContext(r.Context(), "witness state", "err", err)
			http.Error(rw, "internal error", http.StatusInternalServerError)
			return
		}
	}
	rw.Header().Set("Content-Type", "text/x.tlog.signature")
	_, _ = io.WriteString(rw, audit.Cosign(w.name, w.key, n.Text, w.now()))
}

// textOf returns the text of a signed note (up to and including the line
// before the blank line), without verifying it.
func textOf(msg []byte) string {
	for i := 0; i+1 < len(msg); i++ {
		if msg[i] == '\n' && msg[i+1] == '\n' {
			return string(msg[:i+1])
		}
	}
	return ""
}
