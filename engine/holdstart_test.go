package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit"
)

// taskCommits counts store commits per task.
type taskCommits struct {
	Store
	mu sync.Mutex
	n  map[string]int
}

func (s *taskCommits) Commit(ctx context.Context, c *Commit) error {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[c.Record.Task.ID]++
	s.mu.Unlock()
	return s.Store.Commit(ctx, c)
}

func (s *taskCommits) of(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[id]
}

// gatedEngine runs one execution at a time; "wait" blocks until open is
// closed, anything else completes at once.
func gatedEngine(t *testing.T, store Store, open <-chan struct{}, entered chan<- struct{}, holdFor time.Duration) *Engine {
	t.Helper()
	e, err := New(store, ExecutorFunc(func(ctx context.Context, req *Request, pub Publisher) error {
		if req.Message.Text() == "wait" {
			entered <- struct{}{}
			select {
			case <-open:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return pub.Complete(ctx, "done")
	}), Options{MaxRunning: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.holdLimit = holdFor
	t.Cleanup(func() { e.Close() })
	return e
}

// A queued task's start (its working update) is committed with the
// executor's first publish: the task costs two commits, its durable
// creation and its run, not three.
func TestQueuedStartCommitsWithFirstPublish(t *testing.T) {
	store := &taskCommits{Store: NewMemoryStore()}
	open, entered := make(chan struct{}), make(chan struct{}, 1)
	e := gatedEngine(t, store, open, entered, time.Hour)
	ctx := context.Background()
	noWait := a2a.SendConfig{ReturnImmediately: true}
	if _, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m1", "wait"), Config: noWait}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, entered)
	res, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m2", "quick"), Config: noWait})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Task.ID
	if res.Task.Status.State != a2a.StateSubmitted || store.of(id) != 1 {
		t.Fatalf("queued task %s with %d commits, want submitted after 1", res.Task.Status.State, store.of(id))
	}
	close(open)
	testkit.Eventually(t, "the queued task completes", func() bool {
		rec, err := store.Get(ctx, id)
		return err == nil && rec.Task.Status.State == a2a.StateCompleted
	})
	if n := store.of(id); n != 2 {
		t.Errorf("the queued task took %d commits, want 2", n)
	}
	rec, err := store.Get(ctx, id)
	if err != nil || rec.Attempts != 1 || rec.Running {
		t.Fatalf("stored record = %+v, %v; want 1 attempt, not running", rec, err)
	}
	evs, err := store.Events(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var states []a2a.TaskState
	for _, ev := range evs {
		switch x := ev.Event.(type) {
		case *a2a.Task:
			states = append(states, x.Status.State)
		case *a2a.StatusUpdateEvent:
			states = append(states, x.Status.State)
		}
	}
	want := []a2a.TaskState{a2a.StateSubmitted, a2a.StateWorking, a2a.StateCompleted}
	if len(states) != len(want) || states[0] != want[0] || states[1] != want[1] || states[2] != want[2] {
		t.Errorf("stored states = %v, want %v", states, want)
	}
}

// A queued task whose executor says nothing for a while still shows as
// working in the store soon after it starts (holdLimit).
func TestQueuedStartIsStoredWithoutPublish(t *testing.T) {
	store := NewMemoryStore()
	open, entered := make(chan struct{}), make(chan struct{}, 2)
	defer close(open)
	e := gatedEngine(t, store, open, entered, holdLimit)
	ctx := context.Background()
	noWait := a2a.SendConfig{ReturnImmediately: true}
	first, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m1", "wait"), Config: noWait})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, entered)
	second, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m2", "wait"), Config: noWait})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Cancel(ctx, first.Task.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, entered)
	testkit.Eventually(t, "the second task is stored as working", func() bool {
		rec, err := store.Get(ctx, second.Task.ID)
		return err == nil && rec.Task.Status.State == a2a.StateWorking && rec.Running
	})
}
