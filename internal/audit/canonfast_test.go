package audit

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// canonCases are metadata texts as stored: encoding/json's output
// (SQLite), PostgreSQL jsonb's (keys by length, spaces), and forms only the
// generic decoding handles.
var canonCases = []string{
	``, ` `, `null`, `{}`, `[]`, `0`, `-0`, `1e3`, `1.50`, `123456789012345`, `1234567890123456789`,
	`{"changes":{"name":{"from":"a","to":"b"},"seats":{"from":1,"to":2}},"requestId":"r-1"}`,
	`{"to": 2, "from": 1, "requestId": "r-1", "changes": {"name": {"to": "b", "from": "a"}}}`,
	`{"a":"\u00e9\n\"x\\","b":"\ud83d\ude00","c":"<&>","d":"\u003c"}`,
	`{"a":1,"a":2}`, `{"b":1,"a":2,"a":3}`, `{"\u0061":1,"b":2}`,
	`[1,"x",true,false,null,{"z":[],"y":{}},-1.25e-7,1E+21]`,
	"{\"bad\":\"\xff\"}", `{"a":1}x`, `{"a":}`, `[1,]`, `01`, `"\x"`, `{"a" 1}`,
}

func TestCanonicalFastMatchesGeneric(t *testing.T) {
	for _, c := range canonCases {
		checkCanonicalFast(t, []byte(c))
	}
	// jsonb's order is not ours: the fast path reorders in place.
	got, ok := appendCanonicalJSON(nil, []byte(`{"to": 2, "from": 1}`))
	if !ok || string(got) != `{"from":1,"to":2}` {
		t.Fatalf("jsonb order: %q %v", got, ok)
	}
}

// checkCanonicalFast checks that the fast path, when it answers, answers
// what canonicalRaw does, and that appendCanonicalMeta always does.
func checkCanonicalFast(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := canonicalRaw(data)
	prefix := []byte("prefix:")
	got, ok := appendCanonicalJSON(bytes.Clone(prefix), data)
	if ok {
		if wantErr != nil {
			t.Fatalf("%q: fast path accepted what canonicalRaw rejects (%v): %q", data, wantErr, got)
		}
		if !bytes.Equal(got, append(bytes.Clone(prefix), want...)) {
			t.Fatalf("%q: fast path %q, canonicalRaw %q", data, got, want)
		}
	}
	meta, err := appendCanonicalMeta(bytes.Clone(prefix), data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: appendCanonicalMeta error %v, canonicalRaw error %v", data, err, wantErr)
	}
	if err == nil && !bytes.Equal(meta, append(bytes.Clone(prefix), want...)) {
		t.Fatalf("%q: appendCanonicalMeta %q, canonicalRaw %q", data, meta, want)
	}
}

// FuzzCanonicalFast checks the one-pass canonicalisation of metadata
// against the generic one on any text.
func FuzzCanonicalFast(f *testing.F) {
	for _, c := range canonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkCanonicalFast)
}

func TestAppendTimeMatchesFormat(t *testing.T) {
	times := []time.Time{
		{}, time.Unix(0, 0), time.Date(2026, 12, 4, 5, 6, 7, 8009, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 2, 30, 0, 500, time.FixedZone("CEST", 7200)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(1<<36)-1<<35, r.Int64N(1e9)))
	}
	for _, at := range times {
		if got, want := string(appendTime(nil, at)), at.UTC().Format(TimeLayout); got != want {
			t.Fatalf("%v: appendTime %q, Format %q", at, got, want)
		}
	}
}
