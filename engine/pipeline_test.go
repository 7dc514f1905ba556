package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/testkit"
)

// heldStore is a memory store whose commits the test can hold back or fail,
// and which counts commits and persisted events.
type heldStore struct {
	engine.Store
	hold      atomic.Bool // the next commit waits for release
	held      chan struct{}
	release   chan struct{}
	failNext  atomic.Bool
	commits   atomic.Int64
	persisted atomic.Int64
}

func newHeldStore() *heldStore {
	return &heldStore{Store: engine.NewMemoryStore(), held: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s *heldStore) Commit(ctx context.Context, c *engine.Commit) error {
	s.commits.Add(1)
	if s.hold.Swap(false) {
		s.held <- struct{}{}
		<-s.release
	}
	if s.failNext.Swap(false) {
		return errors.New("disk full")
	}
	err := s.Store.Commit(ctx, c)
	if err == nil {
		s.persisted.Add(int64(len(c.Events)))
	}
	return err
}

func waitChan(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Progress publishes return before the store has them, are committed
// together, and reach readers in order only once persisted.
func TestProgressIsPipelined(t *testing.T) {
	store := newHeldStore()
	start, published := make(chan struct{}), make(chan struct{})
	const n = 100
	e, _ := newEngineOn(t, store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		<-start
		store.hold.Store(true)
		for i := range n {
			if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
				return err
			}
		}
		close(published) // all returned while the first one's commit is held
		return pub.Complete(ctx, "done")
	}), engine.Options{})
	task := sendNoWait(t, e, textMsg("go"))
	sub, err := e.Subscribe(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Recv(); err != nil { // the snapshot
		t.Fatal(err)
	}
	before := store.commits.Load()
	close(start)
	waitChan(t, store.held, "the first progress commit")
	waitChan(t, published, "the progress publishes to return")
	close(store.release)

	var texts []string
	for {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("after %d events: %v", len(texts), err)
		}
		// A reader sees an event only once the store has it.
		logged, err := store.Events(context.Background(), task.ID, ev.Seq-1)
		if err != nil || len(logged) == 0 || logged[0].Seq != ev.Seq {
			t.Fatalf("event %d reached a reader before the store: %v", ev.Seq, err)
		}
		su, ok := ev.Event.(*a2a.StatusUpdateEvent)
		if !ok {
			t.Fatalf("unexpected event %T", ev.Event)
		}
		texts = append(texts, su.Status.Message.Text())
		if su.Final {
			break
		}
	}
	want := make([]string, 0, n+1)
	for i := range n {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "done")
	if strings.Join(texts, ",") != strings.Join(want, ",") {
		t.Fatalf("reader saw %v", texts)
	}
	// One commit holds the first status, then the rest went together (the
	// completion perhaps in a commit of its own): not one commit per event.
	if c := store.commits.Load() - before; c > 3 {
		t.Errorf("%d events took %d store commits, want at most 3", n+1, c)
	}
	if tl := timelineTexts(t, e, task.ID); !containsLine(tl, "completed: done") || !containsLine(tl, "working: 99") {
		t.Errorf("timeline = %v", tl)
	}
}

// A failed commit loses its events (readers never see them), fails the
// ending publish that came after them, and the task ends failed.
func TestStoreFailureFailsPublishes(t *testing.T) {
	store := newHeldStore()
	completeErr := make(chan error, 1)
	e, _ := newEngineOn(t, store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		store.failNext.Store(true)
		if err := pub.Status(ctx, "lost"); err != nil {
			return err
		}
		err := pub.Complete(ctx, "done")
		completeErr <- err
		return err
	}), engine.Options{})
	task := sendNoWait(t, e, textMsg("go"))
	failed := waitState(t, e, task.ID, a2a.StateFailed)
	select {
	case err := <-completeErr:
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("Complete after a failed commit = %v, want the store's error", err)
		}
	default:
		t.Error("the executor's Complete never returned (or the first publish already failed)")
	}
	if txt := statusText(failed); !strings.Contains(txt, "events of this execution were lost") || !strings.Contains(txt, "disk full") {
		t.Errorf("status = %q", txt)
	}
	if tl := timelineTexts(t, e, task.ID); containsLine(tl, "working: lost") || containsLine(tl, "completed") {
		t.Errorf("timeline shows lost events: %v", tl)
	}
	// The lost events' cursors do not hold Watch up: it reaches the end.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	w, err := e.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("Watch before the task's end: %v", err)
		}
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.TaskID == task.ID && su.Status.State == a2a.StateFailed {
			break
		}
	}
}

// A slow store makes progress publishes wait: never more than 1024 events
// of a task are unpersisted.
func TestProgressBackPressure(t *testing.T) {
	store := newHeldStore()
	var returned atomic.Int64
	var overrun atomic.Int64
	e, _ := newEngineOn(t, store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		base := store.persisted.Load()
		store.hold.Store(true)
		for i := range 3000 {
			if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
				return err
			}
			r := returned.Add(1)
			if ahead := r - (store.persisted.Load() - base); ahead > 1024 {
				overrun.Store(ahead)
			}
		}
		return pub.Complete(ctx, "")
	}), engine.Options{})
	task := sendNoWait(t, e, textMsg("go"))
	waitChan(t, store.held, "the first progress commit")
	testkit.Eventually(t, "1024 publishes to return", func() bool { return returned.Load() >= 1024 })
	close(store.release)
	waitState(t, e, task.ID, a2a.StateCompleted)
	if o := overrun.Load(); o != 0 {
		t.Errorf("%d events were unpersisted at once, want at most 1024", o)
	}
}

// A clean Close persists the progress already published.
func TestClosePersistsPublishedProgress(t *testing.T) {
	store := engine.NewMemoryStore()
	var once sync.Once
	published := make(chan struct{})
	e, err := engine.New(store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		for i := range 50 {
			if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
				return err
			}
		}
		once.Do(func() { close(published) })
		<-ctx.Done()
		return ctx.Err()
	}), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := sendNoWait(t, e, textMsg("go"))
	waitChan(t, published, "the publishes")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	evs, err := store.Events(context.Background(), task.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, ev := range evs {
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.Status.State == a2a.StateWorking && su.Status.Message != nil {
			texts = append(texts, su.Status.Message.Text())
		}
	}
	if len(texts) != 50 || texts[49] != "49" {
		t.Errorf("stored progress after Close: %d texts, last %v", len(texts), texts[len(texts)-1:])
	}
}

// Publishes that end the task or ask its user return only once the store
// has them.
func TestEndingPublishesAreDurable(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(ctx context.Context, pub engine.Publisher) error
		want a2a.TaskState
	}{
		{"complete", func(ctx context.Context, pub engine.Publisher) error { return pub.Complete(ctx, "ok") }, a2a.StateCompleted},
		{"fail", func(ctx context.Context, pub engine.Publisher) error { return pub.Fail(ctx, "no") }, a2a.StateFailed},
		{"reject", func(ctx context.Context, pub engine.Publisher) error { return pub.Reject(ctx, "no") }, a2a.StateRejected},
		{"reply", func(ctx context.Context, pub engine.Publisher) error { return pub.Reply(ctx, a2a.TextPart("hi")) }, a2a.StateCompleted},
		{"input required", func(ctx context.Context, pub engine.Publisher) error { return pub.InputRequired(ctx, "which?") }, a2a.StateInputRequired},
		{"auth required", func(ctx context.Context, pub engine.Publisher) error { return pub.AuthRequired(ctx, "log in") }, a2a.StateAuthRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := engine.NewMemoryStore()
			stored := make(chan a2a.TaskState, 1)
			e, _ := newEngineOn(t, store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
				for i := range 20 {
					if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
						return err
					}
				}
				if err := tc.end(ctx, pub); err != nil {
					return err
				}
				rec, err := store.Get(context.Background(), req.Task.ID)
				if err != nil {
					return err
				}
				stored <- rec.Task.Status.State
				return nil
			}), engine.Options{})
			task := sendNoWait(t, e, textMsg("go"))
			waitState(t, e, task.ID, tc.want)
			select {
			case st := <-stored:
				if st != tc.want {
					t.Errorf("stored state right after the publish returned = %s, want %s", st, tc.want)
				}
			case <-time.After(waitLimit):
				t.Fatal("the executor did not report the stored state")
			}
		})
	}
}
