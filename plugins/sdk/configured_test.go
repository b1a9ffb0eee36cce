package sdk_test

import (
	"sync"
	"testing"

	"github.com/dezky/platform/plugins/sdk"
)

func TestConfigured(t *testing.T) {
	var c sdk.Configured[string]
	if _, err := c.Get(); !sdk.IsUnavailable(err) {
		t.Fatalf("Get before Set: err %v, want UNAVAILABLE", err)
	}
	c.Set("")
	if v, err := c.Get(); err != nil || v != "" {
		t.Fatalf("Get after Set(\"\") = %q, %v; a zero value set is configured", v, err)
	}
	var wg sync.WaitGroup
	for _, v := range []string{"a", "b"} {
		wg.Add(2)
		go func() { defer wg.Done(); c.Set(v) }()
		go func() { defer wg.Done(); _, _ = c.Get() }()
	}
	wg.Wait()
	if v, _ := c.Get(); v != "a" && v != "b" {
		t.Fatalf("Get = %q, want the last value set", v)
	}
}
