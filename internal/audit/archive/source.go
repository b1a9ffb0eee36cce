package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/dezky/platform/internal/audit"
)

// Source reads an archive as an audit.Source: the manifests under a prefix
// in key (= seq) order, each followed by the events of its JSONL object.
// It has no checkpoints. Problems with a manifest itself (see the package
// documentation) do not stop the walk; the first one is kept and returned
// by ManifestBreak.
type Source struct {
	store  Store
	prefix string
	keys   []ed25519.PublicKey
	// brk is the first manifest problem of the last Events walk.
	brk *audit.Break
	// last is the last seq the last Events walk yielded.
	last int64
}

// NewSource returns a Source of the archive under prefix ("" means
// DefaultPrefix) in store, checking manifests against keys.
func NewSource(store Store, prefix string, keys []ed25519.PublicKey) *Source {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Source{store: store, prefix: prefix, keys: keys}
}

// Checkpoints implements audit.Source: an archive has none.
func (s *Source) Checkpoints(context.Context) ([]audit.Checkpoint, error) { return nil, nil }

// ManifestBreak returns the first manifest problem the last Events walk
// met, as a checkpoint-signature-mismatch break at the manifest's endSeq,
// or nil.
func (s *Source) ManifestBreak() *audit.Break { return s.brk }

// LastSeq returns the last seq the last Events walk yielded (0 for none).
func (s *Source) LastSeq() int64 { return s.last }

func (s *Source) note(b audit.Break) {
	if s.brk == nil {
		s.brk = &b
	}
}

// Events implements audit.Source. A manifest that cannot be parsed, or
// whose object is missing or cannot be decoded, contributes no events (the
// walk then reports a sequence gap); a read failure of the store is an
// error.
func (s *Source) Events(ctx context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		s.brk, s.last = nil, 0
		objs, err := s.store.List(ctx, s.prefix)
		if err != nil {
			yield(audit.Entry{}, err)
			return
		}
		for _, o := range objs {
			if !strings.HasSuffix(o.Key, ".manifest.json") {
				continue
			}
			entries, err := s.batch(ctx, o.Key)
			if err != nil {
				yield(audit.Entry{}, err)
				return
			}
			for _, e := range entries {
				if !yield(e, nil) {
					return
				}
				s.last = e.Seq
			}
		}
	}
}

// batch reads one manifest and its object.
func (s *Source) batch(ctx context.Context, manifestKey string) ([]audit.Entry, error) {
	mb, err := s.store.Get(ctx, manifestKey)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(mb)
	if err != nil {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: 0, Expected: "a valid manifest at " + manifestKey, Actual: err.Error()})
		return nil, nil
	}
	if !m.VerifySignature(s.keys) {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq,
			Expected: "ed25519 signature by key " + m.KeyID, Actual: m.Signature})
	}
	gz, err := s.store.Get(ctx, m.JSONLKey)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if got := sha(gz); got != m.GzipSha256 {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq, Expected: "gzip sha256 " + m.GzipSha256, Actual: got})
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq, Expected: "gzip object " + m.JSONLKey, Actual: err.Error()})
		return nil, nil
	}
	jsonl, err := io.ReadAll(zr)
	if err != nil {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq, Expected: "gzip object " + m.JSONLKey, Actual: err.Error()})
		return nil, nil
	}
	if got := sha(jsonl); got != m.JSONLSha256 {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq, Expected: "jsonl sha256 " + m.JSONLSha256, Actual: got})
	}
	var out []audit.Entry
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		e, err := audit.ParseLine(sc.Bytes())
		if err != nil {
			s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq, Expected: fmt.Sprintf("an event at %s line %d", m.JSONLKey, n), Actual: err.Error()})
			return out, nil
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		s.note(audit.Break{Kind: audit.BreakCheckpointSig, Seq: m.EndSeq, Expected: "readable lines in " + m.JSONLKey, Actual: err.Error()})
	}
	return out, nil
}

// Combined returns a Source walking archive, then the events of hot past
// the last archived seq (hot rows of a batch whose deletion was
// interrupted are already in the archive). Its checkpoints are hot's.
func Combined(archive *Source, hot audit.Source) audit.Source {
	return combined{archive: archive, hot: hot}
}

type combined struct {
	archive *Source
	hot     audit.Source
}

func (c combined) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	return c.hot.Checkpoints(ctx)
}

func (c combined) Events(ctx context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		for e, err := range c.archive.Events(ctx) {
			if !yield(e, err) || err != nil {
				return
			}
		}
		last := c.archive.LastSeq()
		for e, err := range c.hot.Events(ctx) {
			if err == nil && e.Seq <= last {
				continue
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// VerifyArchiveThenHot verifies the archive under prefix in store followed
// by hot (typically audit.DBSource) as one chain from seq 1, with hot's
// checkpoints. The report's break is the first in seq order among the
// chain walk's breaks and the manifest problems (a chain break at a seq
// comes before a manifest break at the same seq). An unparseable manifest,
// which names no seq, is reported only when the walk finds no break.
func VerifyArchiveThenHot(ctx context.Context, store Store, prefix string, hot audit.Source, keys []ed25519.PublicKey) (audit.Report, error) {
	src := NewSource(store, prefix, keys)
	r, err := audit.Verify(ctx, Combined(src, hot), keys)
	if err != nil {
		return audit.Report{}, err
	}
	mb := src.ManifestBreak()
	if mb == nil {
		return r, nil
	}
	if r.Break == nil || (mb.Seq > 0 && mb.Seq < r.Break.Seq) {
		r.OK, r.Break = false, mb
	}
	return r, nil
}
