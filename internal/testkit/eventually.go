package testkit

import (
	"testing"
	"time"
)

// WaitLimit bounds Eventually: a safety net against a test that would
// otherwise hang, generous enough for -race on a loaded machine, never a
// timing assertion.
const WaitLimit = 30 * time.Second

// Eventually polls cond until it holds, and fails the test naming what it
// waited for if WaitLimit passes first.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
