package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/db"
)

// Signed-note checkpoints
//
// Beside the chain-head signature, every checkpoint carries the same head
// as a C2SP tlog-checkpoint signed note (https://c2sp.org/tlog-checkpoint):
//
//	<origin>
//	<tree size, decimal>
//	<base64 Merkle root>
//
//	— <origin> <base64(key hash || ed25519 signature)>
//
// The origin, which is also the note key name, is Origin(public key), so a
// verifier that holds only the public key knows the log it verifies.

// Origin returns the origin line (and note key name) of the log signed by
// pub: "dezky/audit/" followed by KeyID(pub).
func Origin(pub ed25519.PublicKey) string { return "dezky/audit/" + KeyID(pub) }

// TreeHead is the content of a checkpoint note.
type TreeHead struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// FormatTreeHead returns the note text (body) of a checkpoint of th.
func FormatTreeHead(th TreeHead) []byte {
	b := make([]byte, 0, len(th.Origin)+70)
	b = append(b, th.Origin...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, th.Size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, th.Root[:])
	return append(b, '\n')
}

// ParseTreeHead parses a checkpoint note text: origin, size and root lines,
// optionally followed by extension lines (ignored).
func ParseTreeHead(text string) (TreeHead, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return TreeHead{}, errors.New("audit: checkpoint note: want origin, size and root lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return TreeHead{}, fmt.Errorf("audit: checkpoint note: size %q is not a decimal number", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return TreeHead{}, fmt.Errorf("audit: checkpoint note: root %q is not a base64 hash", lines[2])
	}
	return TreeHead{Origin: lines[0], Size: size, Root: tlog.Hash(root)}, nil
}

// NoteVerifier returns the note verifier of the log signed by pub (name
// Origin(pub), algorithm ed25519).
func NoteVerifier(pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(Origin(pub), pub)
	if err != nil {
		return nil, fmt.Errorf("audit: note verifier key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: note verifier: %w", err)
	}
	return v, nil
}

// VerifierKey returns the note verifier key (name+hash+base64 key) of the
// log signed by pub, the form transparency-log tools and witnesses take.
func VerifierKey(pub ed25519.PublicKey) (string, error) {
	vkey, err := note.NewEd25519VerifierKey(Origin(pub), pub)
	if err != nil {
		return "", fmt.Errorf("audit: note verifier key: %w", err)
	}
	return vkey, nil
}

// noteSigner is a note.Signer of a SigningKey.
type noteSigner struct {
	k    *SigningKey
	name string
	hash uint32
}

func (s noteSigner) Name() string                    { return s.name }
func (s noteSigner) KeyHash() uint32                 { return s.hash }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.k.Private, msg), nil }

// NoteSigner returns k as a note signer named Origin(k.Public).
func (k *SigningKey) NoteSigner() (note.Signer, error) {
	v, err := NoteVerifier(k.Public)
	if err != nil {
		return nil, err
	}
	return noteSigner{k: k, name: v.Name(), hash: v.KeyHash()}, nil
}

// SignTreeHead returns the signed checkpoint note of a tree of size with
// root, from k's log.
func (k *SigningKey) SignTreeHead(size int64, root tlog.Hash) (string, error) {
	s, err := k.NoteSigner()
	if err != nil {
		return "", err
	}
	text := FormatTreeHead(TreeHead{Origin: s.Name(), Size: size, Root: root})
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		return "", fmt.Errorf("audit: sign checkpoint note: %w", err)
	}
	return string(msg), nil
}

// OpenTreeHead verifies a signed checkpoint note against the logs of keys
// (at least one signature by one of them; signatures by other keys, such as
// witness cosignatures, are ignored) and returns its tree head and the
// opened note. The origin must be the signing key's Origin.
func OpenTreeHead(msg []byte, keys []ed25519.PublicKey) (TreeHead, *note.Note, error) {
	var vs []note.Verifier
	for _, k := range keys {
		v, err := NoteVerifier(k)
		if err != nil {
			return TreeHead{}, nil, err
		}
		vs = append(vs, v)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return TreeHead{}, nil, fmt.Errorf("audit: checkpoint note: %w", err)
	}
	th, err := ParseTreeHead(n.Text)
	if err != nil {
		return TreeHead{}, nil, err
	}
	if th.Origin != n.Sigs[0].Name {
		return TreeHead{}, nil, fmt.Errorf("audit: checkpoint note: origin %q is not the signer's %q", th.Origin, n.Sigs[0].Name)
	}
	return th, n, nil
}

// compactRange is the right edge of a Merkle tree being built leaf by
// leaf: the roots of its complete subtrees, largest first. It computes the
// root of every prefix in O(log n) memory.
type compactRange struct {
	size   int64
	hashes []tlog.Hash
}

func (c *compactRange) add(leaf tlog.Hash) {
	c.hashes = append(c.hashes, leaf)
	for n := c.size; n&1 == 1; n >>= 1 {
		k := len(c.hashes)
		c.hashes = append(c.hashes[:k-2], tlog.NodeHash(c.hashes[k-2], c.hashes[k-1]))
	}
	c.size++
}

func (c *compactRange) root() tlog.Hash {
	if len(c.hashes) == 0 {
		return tlog.Hash{}
	}
	r := c.hashes[len(c.hashes)-1]
	for i := len(c.hashes) - 2; i >= 0; i-- {
		r = tlog.NodeHash(c.hashes[i], r)
	}
	return r
}

// signedNote returns the signed checkpoint note, by key, of the first size
// leaves of d's tree (which the chainer keeps as long as the chain), or ""
// when the tree is shorter (it could not be built: see errTreeGap).
func signedNote(ctx context.Context, d *db.DB, key *SigningKey, size int64) (string, error) {
	n, err := TreeSize(ctx, d)
	if err != nil {
		return "", err
	}
	if n < size {
		return "", nil
	}
	root, err := TreeRoot(ctx, d, size)
	if err != nil {
		return "", fmt.Errorf("audit: checkpoint note of seq %d: %w", size, err)
	}
	return key.SignTreeHead(size, root)
}
