package host

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LockFileName is the file in the plugins directory that pins the SHA-256
// of every plugin binary. Its format is that of sha256sum, one binary a
// line, so `sha256sum -c plugins.lock` run in the plugins directory
// verifies it too:
//
//	<64 hex digits>  dezky-provider-<name>
//
// Blank lines and lines starting with # are ignored.
const LockFileName = "plugins.lock"

// ReadLock reads dir/plugins.lock into plugin name → lowercase hex
// SHA-256. A missing file yields (nil, nil): nothing is pinned.
func ReadLock(dir string) (map[string]string, error) {
	path := filepath.Join(dir, LockFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin lock: %w", err)
	}
	return ParseLock(path, b)
}

// ParseLock parses the contents of a lock file; name is used in errors.
func ParseLock(name string, b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, file, ok := strings.Cut(line, "  ")
		file = strings.TrimPrefix(strings.TrimSpace(file), "*")
		if !ok || len(sum) != sha256.Size*2 || !isHex(sum) {
			return nil, fmt.Errorf("%s:%d: want \"<sha256 hex>  %s<name>\"", name, n, BinaryPrefix)
		}
		plugin := strings.TrimSuffix(strings.TrimPrefix(file, BinaryPrefix), ".exe")
		if !strings.HasPrefix(file, BinaryPrefix) || plugin == "" || strings.ContainsAny(plugin, `/\`) {
			return nil, fmt.Errorf("%s:%d: %q is not a %s<name> binary", name, n, file, BinaryPrefix)
		}
		if _, dup := out[plugin]; dup {
			return nil, fmt.Errorf("%s:%d: plugin %q pinned twice", name, n, plugin)
		}
		out[plugin] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// WriteLock hashes every plugin binary Discover finds in dir and writes
// dir/plugins.lock (replacing it atomically). It returns the pins written.
func WriteLock(dir string) (map[string]string, error) {
	found, err := Discover(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(found))
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	pins := make(map[string]string, len(found))
	var buf bytes.Buffer
	for _, name := range names {
		sum, err := FileSHA256(found[name])
		if err != nil {
			return nil, err
		}
		pins[name] = sum
		fmt.Fprintf(&buf, "%s  %s\n", sum, filepath.Base(found[name]))
	}
	tmp, err := os.CreateTemp(dir, LockFileName+".*")
	if err != nil {
		return nil, fmt.Errorf("write plugin lock: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write plugin lock: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write plugin lock: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write plugin lock: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, LockFileName)); err != nil {
		return nil, fmt.Errorf("write plugin lock: %w", err)
	}
	return pins, nil
}

// FileSHA256 returns the lowercase hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
