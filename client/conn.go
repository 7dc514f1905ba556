package client

import (
	"fmt"
	"sync"
	"time"
)

// ConnKind says how the client currently reaches the agent.
type ConnKind int

const (
	// Connected: the last request or stream reached the agent.
	Connected ConnKind = iota
	// Reconnecting: a stream dropped; the next attempt is in ConnState.In.
	Reconnecting
	// Polling: the agent cannot resubscribe to a task, so the client polls
	// GetTask instead.
	Polling
	// GaveUp: reconnecting failed for longer than the give-up limit.
	GaveUp
	// Offline: the last request failed to reach the agent at all.
	Offline
)

func (k ConnKind) String() string {
	switch k {
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Polling:
		return "polling"
	case GaveUp:
		return "gave up"
	case Offline:
		return "offline"
	}
	return fmt.Sprintf("ConnKind(%d)", int(k))
}

// ConnState is the client's connection state, for a status bar.
type ConnState struct {
	Kind ConnKind
	// In is the wait before the next reconnect attempt (Reconnecting).
	In time.Duration
	// Err is the failure behind Reconnecting, GaveUp and Offline.
	Err error
	// Since is when the client entered this state.
	Since time.Time
}

// String reads like "connected", "reconnecting in 2s: connection refused",
// "polling", "gave up: …", "offline: …".
func (s ConnState) String() string {
	out := s.Kind.String()
	if s.Kind == Reconnecting {
		out += " in " + s.In.Round(100*time.Millisecond).String()
	}
	if s.Err != nil && s.Kind != Connected && s.Kind != Polling {
		out += ": " + s.Err.Error()
	}
	return out
}

// connTracker holds the latest state and tells the watcher on each change.
type connTracker struct {
	mu       sync.Mutex
	state    ConnState
	onChange func(ConnState)
}

func (t *connTracker) get() ConnState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// set records s; the callback runs outside the lock, in the caller's
// goroutine, and only when the kind, wait or error text changed.
func (t *connTracker) set(s ConnState) {
	t.mu.Lock()
	old := t.state
	same := old.Kind == s.Kind && old.In == s.In && errText(old.Err) == errText(s.Err)
	if !same {
		s.Since = time.Now()
		t.state = s
	}
	cb := t.onChange
	t.mu.Unlock()
	if !same && cb != nil {
		cb(s)
	}
}

// setUnlessRecovering records s unless a stream is reconnecting or
// polling, whose own state says more.
func (t *connTracker) setUnlessRecovering(s ConnState) {
	t.mu.Lock()
	k := t.state.Kind
	t.mu.Unlock()
	if k == Reconnecting || k == Polling {
		return
	}
	t.set(s)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
