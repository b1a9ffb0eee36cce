package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret (the Standard Webhooks form:
// "whsec_" + base64 of the raw key).
const SecretPrefix = "whsec_"

// secretBytes is the length of a raw signing key.
const secretBytes = 32

// NewSecret returns a fresh signing secret in its shown form and raw.
func NewSecret() (shown string, raw []byte, err error) {
	raw = make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("webhooks: generate secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(raw), raw, nil
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per key, space-separated,
// in the order of keys (the current secret first, then the previous one
// during a rotation's grace period).
func Sign(keys [][]byte, id string, ts time.Time, body []byte) string {
	var parts []string
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
		m.Write([]byte{'.'})
		m.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(parts, " ")
}

// Sealer encrypts signing secrets at rest with the server's webhook key
// (AES-256-GCM; the sealed form is nonce || ciphertext). Deliveries need
// the secret itself, so it cannot be stored as a hash; a database dump
// without the key file reveals no secret. Every replica sharing a
// database must use the same key file.
type Sealer struct{ aead cipher.AEAD }

// KeyFileName is the key's file name in the data dir when no key file is
// configured.
const KeyFileName = "webhooks.key"

// NewSealer returns a Sealer over a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("webhooks: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhooks: key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhooks: key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// LoadKey reads a key file: 32 bytes as standard base64 (surrounding white
// space ignored).
func LoadKey(path string) (*Sealer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhooks: read key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("webhooks: key file %s is not base64", path)
	}
	return NewSealer(key)
}

// LoadOrCreateKey loads the key in dir/KeyFileName, generating it (mode
// 0600) at first use.
func LoadOrCreateKey(dir string) (*Sealer, error) {
	path := filepath.Join(dir, KeyFileName)
	if _, err := os.Stat(path); err == nil {
		return LoadKey(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("webhooks: key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("webhooks: generate key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhooks: key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // created concurrently
			return LoadKey(path)
		}
		return nil, fmt.Errorf("webhooks: write key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("webhooks: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("webhooks: write key: %w", err)
	}
	return NewSealer(key)
}

// Seal encrypts a raw secret.
func (s *Sealer) Seal(raw []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("webhooks: seal: %w", err)
	}
	return s.aead.Seal(nonce, nonce, raw, []byte("dezky-webhook-secret-v1")), nil
}

// Open decrypts a sealed secret.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("webhooks: sealed secret too short")
	}
	raw, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte("dezky-webhook-secret-v1"))
	if err != nil {
		return nil, errors.New("webhooks: sealed secret does not open with this key")
	}
	return raw, nil
}
