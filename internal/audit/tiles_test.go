package audit_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// httpTiles reads C2SP tiles over HTTP for tlog.TileHashReader.
type httpTiles struct {
	t   *testing.T
	url string
}

func (h httpTiles) Height() int                     { return audit.TileHeight }
func (h httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}
func (h httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		code, b := httpGet(h.t, h.url+"/"+audit.TilePath(t))
		if code != http.StatusOK {
			return nil, fmt.Errorf("%s: %d", audit.TilePath(t), code)
		}
		out[i] = b
	}
	return out, nil
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	rsp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	return rsp.StatusCode, b
}

// TestTiles: a standard tile client (tlog.TileHashReader, which checks
// every tile against the signed root) follows the served checkpoint and
// tiles and proves every event's inclusion; entry tiles, tiles past the
// checkpoint and malformed paths are 404.
func TestTiles(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key, err := audit.LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.StripPrefix("/audit/log", audit.LogHandler(d)))
		defer srv.Close()
		if code, _ := httpGet(t, srv.URL+"/audit/log/checkpoint"); code != http.StatusNotFound {
			t.Fatalf("checkpoint before any: %d", code)
		}
		const n = 300
		err = db.WithTx(viewer.SystemContext(ctx), d.Client, func(ctx context.Context) error {
			for i := range n {
				if err := audit.Record(ctx, audit.Event{Action: "test.tile", ResourceType: "Thing", ResourceID: fmt.Sprint(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.NewChainer(d, audit.ChainerOptions{}).ChainPending(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := audit.NewCheckpointer(d, key, audit.CheckpointerOptions{Logger: quiet}).Checkpoint(ctx, audit.ReasonManual); err != nil {
			t.Fatal(err)
		}
		code, note := httpGet(t, srv.URL+"/audit/log/checkpoint")
		if code != http.StatusOK {
			t.Fatalf("checkpoint: %d", code)
		}
		th, _, err := audit.OpenTreeHead(note, pubs([]*audit.SigningKey{key}))
		if err != nil || th.Size != n {
			t.Fatalf("checkpoint note: %+v, %v", th, err)
		}
		r := tlog.TileHashReader(tlog.Tree{N: th.Size, Hash: th.Root}, httpTiles{t: t, url: srv.URL + "/audit/log"})
		leaves := chainLeaves(t, d)
		for seq := int64(1); seq <= n; seq += 7 {
			p, err := tlog.ProveRecord(th.Size, seq-1, r)
			if err != nil {
				t.Fatalf("prove %d from tiles: %v", seq, err)
			}
			if err := tlog.CheckRecord(p, th.Size, th.Root, seq-1, leaves[seq-1]); err != nil {
				t.Fatalf("check %d: %v", seq, err)
			}
		}
		for _, p := range []string{"tile/entries/000", "tile/0/001", "tile/0/002", "tile/1/000", "tile/0/001.p/3", "tile/0/1", "tile/x", "other"} {
			if code, _ := httpGet(t, srv.URL+"/audit/log/"+p); code != http.StatusNotFound {
				t.Fatalf("%s: %d, want 404", p, code)
			}
		}
		for _, p := range []string{"tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"} {
			if code, _ := httpGet(t, srv.URL+"/audit/log/"+p); code != http.StatusOK {
				t.Fatalf("%s: %d, want 200", p, code)
			}
		}
	})
}
