package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// logWriter turns a plugin's output stream into slog records on the host
// logger. JSON lines (slog's JSON handler or hclog's JSON format) keep their
// level, message and attributes; other lines are logged at info, or at
// error from the first line of a panic on. Every line is scrubbed of the
// plugin's secret values first.
type logWriter struct {
	log    *slog.Logger
	scrub  *strings.Replacer
	mu     sync.Mutex
	buf    []byte
	panics bool
}

func newLogWriter(log *slog.Logger, scrub *strings.Replacer) *logWriter {
	return &logWriter{log: log, scrub: scrub}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(bytes.TrimRight(w.buf[:i], "\r"))
		w.buf = w.buf[i+1:]
		if strings.TrimSpace(line) != "" {
			w.emit(line)
		}
	}
	return len(p), nil
}

func (w *logWriter) emit(line string) {
	line = w.scrub.Replace(line)
	ctx := context.Background()
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil {
			level := parseLevel(firstString(m, "@level", "level"))
			msg := firstString(m, "@message", "msg")
			for _, k := range []string{"@level", "level", "@message", "msg", "@timestamp", "time", "timestamp"} {
				delete(m, k)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			attrs := make([]any, 0, len(keys))
			for _, k := range keys {
				attrs = append(attrs, slog.Any(k, m[k]))
			}
			w.log.Log(ctx, level, msg, attrs...)
			return
		}
	}
	if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
		w.panics = true
	}
	level := slog.LevelInfo
	if w.panics {
		level = slog.LevelError
	}
	w.log.Log(ctx, level, line)
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	return ""
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error", "fatal":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// scrubber replaces every secret value with a placeholder.
func scrubber(secrets map[string]string) *strings.Replacer {
	values := make([]string, 0, len(secrets))
	for _, v := range secrets {
		values = append(values, v)
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	var pairs []string
	for _, v := range values {
		if v == "" {
			continue
		}
		pairs = append(pairs, v, "[REDACTED]")
		// A value may also appear JSON-escaped inside a JSON log line.
		if b, err := json.Marshal(v); err == nil {
			if esc := string(b[1 : len(b)-1]); esc != v {
				pairs = append(pairs, esc, "[REDACTED]")
			}
		}
	}
	return strings.NewReplacer(pairs...)
}
