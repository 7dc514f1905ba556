package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit"
)

// countingStore counts commits and can fail the next one.
type countingStore struct {
	Store
	commits  atomic.Int64
	failNext atomic.Bool
}

func (s *countingStore) Commit(ctx context.Context, c *Commit) error {
	s.commits.Add(1)
	if s.failNext.Swap(false) {
		return errors.New("disk full")
	}
	return s.Store.Commit(ctx, c)
}

// newHoldEngine starts an engine whose held creations wait for the
// executor however long it takes, so that commit counts are exact.
func newHoldEngine(t *testing.T, store Store, exec Executor) *Engine {
	t.Helper()
	e, err := New(store, exec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.holdLimit = time.Hour
	t.Cleanup(func() { e.Close() })
	return e
}

func holdMsg(id, text string) a2a.Message {
	return a2a.Message{ID: id, Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}
}

// A blocking Send whose task starts at once costs one store commit: the
// creation goes with the executor's final publish.
func TestBlockingSendCommitsOnce(t *testing.T) {
	store := &countingStore{Store: NewMemoryStore()}
	e := newHoldEngine(t, store, ExecutorFunc(func(ctx context.Context, req *Request, pub Publisher) error {
		return pub.Complete(ctx, "echo: "+req.Message.Text())
	}))
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: holdMsg("m1", "hi")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("Send = %+v, want a completed task", res)
	}
	if n := store.commits.Load(); n != 1 {
		t.Errorf("store commits = %d, want 1", n)
	}
	ctx := context.Background()
	rec, err := store.Get(ctx, res.Task.ID)
	if err != nil || rec.Task.Status.State != a2a.StateCompleted || rec.Attempts != 1 || rec.Running {
		t.Fatalf("stored record = %+v, %v; want completed after 1 attempt, not running", rec, err)
	}
	evs, err := store.Events(ctx, res.Task.ID, 0)
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
		t.Errorf("logged states = %v, want %v", states, want)
	}
	if id, ok, err := store.TaskForMessage(ctx, "m1"); err != nil || !ok || id != res.Task.ID {
		t.Errorf("TaskForMessage(m1) = %q, %v, %v; want %s", id, ok, err, res.Task.ID)
	}
	// ReturnImmediately keeps the durable creation: it is its own commit.
	before := store.commits.Load()
	r2, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m2", "x"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, r2.Task.ID); err != nil {
		t.Errorf("a ReturnImmediately task is not stored when Send returns: %v", err)
	}
	testkit.Eventually(t, "the second task completes", func() bool {
		rec, err := store.Get(ctx, r2.Task.ID)
		return err == nil && rec.Task.Status.State == a2a.StateCompleted
	})
	if n := store.commits.Load() - before; n != 2 {
		t.Errorf("ReturnImmediately send: %d commits, want 2 (creation, then the executor's)", n)
	}
}

// A duplicate message id sent while the first send's creation is still
// held (not yet in the store) waits for it and gets the same task.
func TestHeldCreationDuplicateMessage(t *testing.T) {
	store := &countingStore{Store: NewMemoryStore()}
	entered, open := make(chan struct{}, 2), make(chan struct{})
	var calls atomic.Int32
	e := newHoldEngine(t, store, ExecutorFunc(func(ctx context.Context, req *Request, pub Publisher) error {
		calls.Add(1)
		entered <- struct{}{}
		select {
		case <-open:
		case <-ctx.Done():
			return ctx.Err()
		}
		return pub.Complete(ctx, "done")
	}))
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 2)
	errs := make([]error, 2)
	sendOne := func(i int) {
		defer wg.Done()
		res, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("dup", "hi")})
		errs[i] = err
		if err == nil && res.Task != nil {
			ids[i] = res.Task.ID
		}
	}
	wg.Add(1)
	go sendOne(0)
	waitFor(t, entered)
	if _, ok, _ := store.TaskForMessage(ctx, "dup"); ok {
		t.Fatal("the creation should still be held: the executor has published nothing")
	}
	wg.Add(1)
	go sendOne(1)
	close(open)
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Send errors: %v, %v", errs[0], errs[1])
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("duplicate sends returned tasks %q and %q, want one task", ids[0], ids[1])
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Execute ran %d times, want 1", n)
	}
	page, err := store.List(ctx, ListQuery{})
	if err != nil || len(page.Records) != 1 {
		t.Errorf("stored tasks = %d (%v), want 1", len(page.Records), err)
	}
}

// If the combined commit fails, the Send fails and nothing of the task is
// stored; the message id can be sent again.
func TestHeldCreationStoreFailure(t *testing.T) {
	store := &countingStore{Store: NewMemoryStore()}
	e := newHoldEngine(t, store, ExecutorFunc(func(ctx context.Context, req *Request, pub Publisher) error {
		if err := pub.Artifact(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart("a")}}); err != nil {
			return err
		}
		return pub.Complete(ctx, "done")
	}))
	ctx := context.Background()
	store.failNext.Store(true)
	res, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m", "hi")})
	if err == nil {
		t.Fatalf("Send = %+v, want an error", res)
	}
	if !strings.Contains(err.Error(), "not created") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Send error = %q, want it to say the task was not created and why", err)
	}
	page, lerr := store.List(ctx, ListQuery{})
	if lerr != nil || len(page.Records) != 0 {
		t.Errorf("stored tasks = %d (%v), want none", len(page.Records), lerr)
	}
	if _, ok, _ := store.TaskForMessage(ctx, "m"); ok {
		t.Error("the lost creation's message id is stored")
	}
	testkit.Eventually(t, "the engine drops the lost task's state", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.entries) == 0 && e.running == 0
	})
	res, err = e.Send(ctx, &a2a.SendRequest{Message: holdMsg("m", "hi")})
	if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("resend = %+v, %v; want a completed task", res, err)
	}
}

// A task whose executor says nothing for a while is still stored soon
// after it starts (holdLimit), so List and the dashboard show it.
func TestHeldCreationIsStoredWithoutPublish(t *testing.T) {
	open := make(chan struct{})
	defer close(open)
	store := NewMemoryStore()
	e, err := New(store, ExecutorFunc(func(ctx context.Context, req *Request, pub Publisher) error {
		select {
		case <-open:
		case <-ctx.Done():
		}
		return nil
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	go e.Send(context.Background(), &a2a.SendRequest{Message: holdMsg("slow", "hi")})
	testkit.Eventually(t, "the running task is stored", func() bool {
		page, err := store.List(context.Background(), ListQuery{})
		return err == nil && len(page.Records) == 1 && page.Records[0].Task.Status.State == a2a.StateWorking
	})
}

func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}
