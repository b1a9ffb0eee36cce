package sdk_test

import (
	"sync"
	"testing"

	"github.com/dezky/platform/plugins/sdk"
)

// TestKeyLock: holders of one key never overlap; the table empties.
func TestKeyLock(t *testing.T) {
	var l sdk.KeyLock
	var mu sync.Mutex
	inside := map[string]int{}
	var wg sync.WaitGroup
	for i := range 64 {
		key := []string{"a", "b"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := l.Lock(key)
			defer unlock()
			mu.Lock()
			inside[key]++
			if inside[key] != 1 {
				t.Errorf("%d holders of %q at once", inside[key], key)
			}
			mu.Unlock()
			mu.Lock()
			inside[key]--
			mu.Unlock()
		}()
	}
	wg.Wait()
	// A released key can be taken again at once.
	l.Lock("a")()
}
