package ui

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// collector gathers what the pump sends to the program.
type collector struct {
	mu   sync.Mutex
	msgs []tea.Msg
	seen chan struct{}
}

func newCollector() *collector { return &collector{seen: make(chan struct{}, 1<<16)} }

func (c *collector) send(msg tea.Msg) {
	c.mu.Lock()
	c.msgs = append(c.msgs, msg)
	c.mu.Unlock()
	c.seen <- struct{}{}
}

// waitFor polls (bounded) until cond holds over the messages.
func (c *collector) waitFor(t *testing.T, what string, cond func([]tea.Msg) bool) []tea.Msg {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		msgs := append([]tea.Msg(nil), c.msgs...)
		c.mu.Unlock()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-c.seen:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d messages", what, len(msgs))
		}
	}
}

func countEvents(msgs []tea.Msg) int {
	n := 0
	for _, m := range msgs {
		if e, ok := m.(eventsMsg); ok {
			n += len(e.events)
		}
	}
	return n
}

func TestPumpCoalescesInOrder(t *testing.T) {
	const n = 10_000
	ch := make(chan a2a.StreamEvent, n)
	for i := range n {
		ch <- a2a.StreamEvent{Cursor: fmt.Sprint(i + 1), Event: &a2a.StatusUpdateEvent{TaskID: fmt.Sprint("t", i%10), Status: a2a.TaskStatus{State: a2a.StateWorking}}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newCollector()
	stream := newChanStream(ctx, ch)
	done := make(chan string)
	go func() {
		cursor, _ := pumpStream(ctx, 0, stream, c.send)
		done <- cursor
	}()
	msgs := c.waitFor(t, "every event", func(m []tea.Msg) bool { return countEvents(m) == n })
	if len(msgs) >= n/10 {
		t.Fatalf("%d events arrived in %d messages: not coalesced", n, len(msgs))
	}
	next := 1
	for _, m := range msgs {
		for _, ev := range m.(eventsMsg).events {
			if ev.Cursor != fmt.Sprint(next) {
				t.Fatalf("event %s arrived in place %d", ev.Cursor, next)
			}
			next++
		}
	}
	close(ch)
	if cursor := <-done; cursor != fmt.Sprint(n) {
		t.Fatalf("last cursor %s", cursor)
	}
}

// flakyWatch fails its first Watch, lags on its second, and records the
// cursors it was asked to resume from.
type flakyWatch struct {
	*fakeService
	mu      sync.Mutex
	cursors []string
	calls   int
}

func (f *flakyWatch) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cursors = append(f.cursors, cursor)
	f.calls++
	switch f.calls {
	case 1:
		return nil, fmt.Errorf("dial: connection refused")
	case 2:
		ch := make(chan a2a.StreamEvent, 2)
		ch <- a2a.StreamEvent{Cursor: "7", Event: &a2a.StatusUpdateEvent{TaskID: "t", Status: a2a.TaskStatus{State: a2a.StateWorking}}}
		return &laggingStream{chanStream: newChanStream(ctx, ch)}, nil
	}
	return newChanStream(ctx, make(chan a2a.StreamEvent)), nil
}

// laggingStream delivers what it has, then reports ErrLagged.
type laggingStream struct{ *chanStream }

func (s *laggingStream) Recv() (a2a.StreamEvent, error) {
	select {
	case ev := <-s.ch:
		return ev, nil
	default:
		return a2a.StreamEvent{}, a2a.ErrLagged
	}
}

func TestWatchLoopRetriesAndResumes(t *testing.T) {
	svc := &flakyWatch{fakeService: newFakeService()}
	c := newCollector()
	p := newPumps(context.Background())
	p.watch(0, svc, c.send, make(chan struct{}))
	msgs := c.waitFor(t, "the third Watch", func([]tea.Msg) bool {
		svc.mu.Lock()
		defer svc.mu.Unlock()
		return svc.calls >= 3
	})
	p.Stop()
	svc.mu.Lock()
	cursors := append([]string(nil), svc.cursors...)
	svc.mu.Unlock()
	if cursors[0] != "" || cursors[1] != "" || cursors[2] != "7" {
		t.Fatalf("cursors %q", cursors)
	}
	var sawErr bool
	for _, m := range msgs {
		if s, ok := m.(watchStateMsg); ok && s.err != nil && s.retryIn > 0 {
			sawErr = true
		}
	}
	if !sawErr {
		t.Fatalf("no retry state reported: %v", msgs)
	}
}

func TestConnPumpForwardsStates(t *testing.T) {
	ch := make(chan ConnState, 1)
	c := newCollector()
	p := newPumps(context.Background())
	p.conn(0, ch, c.send)
	ch <- ConnState{Text: "reconnecting in 1s"}
	c.waitFor(t, "a connection state", func(m []tea.Msg) bool {
		return len(m) == 1 && m[0].(connMsg).state.Text == "reconnecting in 1s"
	})
	close(ch)
	p.Stop()
}

// refusingWatch refuses every Watch for want of credentials.
type refusingWatch struct {
	*fakeService
	mu    sync.Mutex
	calls int
}

func (f *refusingWatch) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return nil, fmt.Errorf("watch: list tasks: %w", a2a.ErrUnauthenticated)
}

func (f *refusingWatch) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Bug 10: without a token the dashboard asked again and again; now Watch
// says so once and waits for r.
func TestWatchPausesWhenUnauthenticated(t *testing.T) {
	svc := &refusingWatch{fakeService: newFakeService()}
	c := newCollector()
	p := newPumps(context.Background())
	defer p.Stop()
	wake := make(chan struct{})
	p.watch(0, svc, c.send, wake)
	paused := func(n int) func([]tea.Msg) bool {
		return func(msgs []tea.Msg) bool {
			seen := 0
			for _, m := range msgs {
				if s, ok := m.(watchStateMsg); ok && s.paused {
					seen++
				}
			}
			return seen >= n
		}
	}
	c.waitFor(t, "the pause", paused(1))
	if n := svc.count(); n != 1 {
		t.Fatalf("Watch called %d times before the user asked", n)
	}
	wake <- struct{}{}
	c.waitFor(t, "the second pause", paused(2))
	if n := svc.count(); n != 2 {
		t.Fatalf("Watch called %d times after one r", n)
	}
}
