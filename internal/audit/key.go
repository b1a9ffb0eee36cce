package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Algorithm is the signature algorithm of checkpoints.
const Algorithm = "ed25519"

// DefaultKeyFile is the file name of the signing key generated in the data
// dir; its public key is published beside it as PublicKeyPath(path).
const DefaultKeyFile = "audit-signing.key"

// SigningKey signs checkpoints.
type SigningKey struct {
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
	// ID is KeyID(Public).
	ID string
}

// KeyID is the hex of the first 16 bytes of sha256 of the raw 32-byte
// public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:16])
}

// PublicKeyPath is where the public key of the private key file at path is
// published: path with its ".key" extension replaced by ".pub" (or ".pub"
// appended).
func PublicKeyPath(path string) string {
	if p, ok := strings.CutSuffix(path, ".key"); ok {
		return p + ".pub"
	}
	return path + ".pub"
}

// LoadOrCreateKey returns the key in dataDir/DefaultKeyFile, generating it
// (mode 0600) on first use. Concurrent first uses agree on one key.
func LoadOrCreateKey(dataDir string) (*SigningKey, error) {
	return LoadOrCreateKeyFile(filepath.Join(dataDir, DefaultKeyFile))
}

// LoadOrCreateKeyFile is LoadOrCreateKey for the key file at path.
func LoadOrCreateKeyFile(path string) (*SigningKey, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
	}
	return LoadKey(path)
}

func createKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("audit: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("audit: encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("audit: create key dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-key-*")
	if err != nil {
		return fmt.Errorf("audit: create signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("audit: create signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return fmt.Errorf("audit: write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("audit: write signing key: %w", err)
	}
	// Link fails when another process created the key first: keep theirs.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("audit: install signing key: %w", err)
	}
	return nil
}

// LoadKey reads a PEM PKCS#8 ed25519 private key from path and publishes
// its public key at PublicKeyPath(path) (PEM, mode 0644) when that file is
// missing or differs.
func LoadKey(path string) (*SigningKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read signing key: %w", err)
	}
	priv, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key %s: %w", filepath.Base(path), err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	k := &SigningKey{Private: priv, Public: pub, ID: KeyID(pub)}
	pubPEM, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	pubPath := PublicKeyPath(path)
	if cur, err := os.ReadFile(pubPath); err != nil || !bytes.Equal(cur, pubPEM) {
		if err := writeFileAtomic(pubPath, pubPEM, 0o644); err != nil {
			return nil, fmt.Errorf("audit: publish public key: %w", err)
		}
	}
	return k, nil
}

// ParsePrivateKey parses a PEM "PRIVATE KEY" block (PKCS#8) holding an
// ed25519 key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("want a PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ed25519", k)
	}
	return priv, nil
}

// MarshalPublicKey encodes pub as a PEM "PUBLIC KEY" block (PKIX).
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey parses an ed25519 public key file: a PEM "PUBLIC KEY"
// block (PKIX), or the standard base64 of the raw 32 bytes (surrounding
// white space ignored).
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("audit: public key: PEM block %q, want PUBLIC KEY", block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit: public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("audit: public key is %T, want ed25519", k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, fmt.Errorf("audit: public key: neither PEM nor base64: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit: public key: %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
