package testkit_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/a2atop/a2atop/internal/testkit"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b testkit.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Fatalf("got %d bytes, want 800", len(got))
	}
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	testkit.Eventually(t, "three increments", func() bool { return n.Load() == 3 })
}
