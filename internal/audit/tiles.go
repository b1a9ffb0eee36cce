package audit

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditcheckpoint"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/rule"
)

// TileHeight is the height of the served tiles (C2SP tlog-tiles: 8, 256
// hashes per full tile).
const TileHeight = 8

// LatestNote returns the newest signed checkpoint note, with the witness
// cosignatures stored for it appended, and its tree size ("" and 0 when
// no checkpoint has a note yet).
func LatestNote(ctx context.Context, d *db.DB) (int64, string, error) {
	cps, err := d.Client.AuditCheckpoint.Query().Where(auditcheckpoint.NoteNotNil(), auditcheckpoint.NoteNEQ("")).
		Order(ent.Desc(auditcheckpoint.FieldHeadSeq)).Limit(1).All(rule.Bypass(ctx))
	if err != nil {
		return 0, "", err
	}
	if len(cps) == 0 {
		return 0, "", nil
	}
	cos, err := Cosignatures(ctx, d, cps[0].HeadSeq)
	if err != nil {
		return 0, "", err
	}
	msg := cps[0].Note
	for _, c := range cos {
		msg += c.Line
	}
	return cps[0].HeadSeq, msg, nil
}

// LogHandler serves the Merkle tree as C2SP tlog-tiles
// (https://c2sp.org/tlog-tiles) under a prefix stripped by the caller:
//
//	GET checkpoint                     the newest signed checkpoint note
//	GET tile/<L>/<N>[.p/<W>]          a hash tile of level L, index N
//
// Only hash tiles are served, never entry bundles (tile/entries/...), so the
// log can be followed and audited without revealing events. Tiles beyond
// the newest checkpoint are 404.
func LogHandler(d *db.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/")
		size, note, err := LatestNote(r.Context(), d)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if path == "checkpoint" {
			if note == "" {
				http.Error(w, "no checkpoint yet", http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write([]byte(note))
			return
		}
		t, err := parseTile(path)
		if err != nil || !tileWithin(t, size) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		data, err := tlog.ReadTileData(t, newHashStore(r.Context(), d.SQL, d.Dialect))
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(data)
	})
}

// parseTile parses a C2SP tile path "tile/<L>/<N>[.p/<W>]" (N in
// three-digit groups, all but the last prefixed with x).
func parseTile(path string) (tlog.Tile, error) {
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return tlog.Tile{}, errors.New("not a tile path")
	}
	l, _, ok := strings.Cut(rest, "/")
	if !ok {
		return tlog.Tile{}, errors.New("not a tile path")
	}
	if _, err := strconv.Atoi(l); err != nil { // "entries" and the like
		return tlog.Tile{}, errors.New("not a hash tile")
	}
	t, err := tlog.ParseTilePath("tile/" + strconv.Itoa(TileHeight) + "/" + rest)
	if err != nil {
		return tlog.Tile{}, err
	}
	if t.Path() != "tile/"+strconv.Itoa(TileHeight)+"/"+rest {
		return tlog.Tile{}, errors.New("not a canonical tile path")
	}
	return t, nil
}

// tileWithin reports whether every hash of t exists in the tree of size
// leaves: a full tile when its last hash is complete, a partial tile only
// of the exact width the tree has at that position.
func tileWithin(t tlog.Tile, size int64) bool {
	if t.H != TileHeight || t.L < 0 || t.L > 6 {
		return false
	}
	shift := uint(t.H * t.L)
	complete := size >> shift // complete hashes at this tile level
	end := t.N<<uint(t.H) + int64(t.W)
	if t.W == 1<<uint(t.H) {
		return end <= complete
	}
	return end == complete
}

// TilePath returns the C2SP path of t ("tile/<L>/<N>[.p/<W>]").
func TilePath(t tlog.Tile) string {
	p := t.Path()
	return "tile/" + strings.TrimPrefix(p, "tile/"+strconv.Itoa(t.H)+"/")
}
