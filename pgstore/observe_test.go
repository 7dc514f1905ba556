package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// waitStored waits (woken by the log, never by a timer) until the stored
// record of id satisfies ok.
func waitStored(t *testing.T, s *Store, id string, ok func(*engine.Record) bool) *engine.Record {
	t.Helper()
	wake, stop := s.WatchLog()
	defer stop()
	deadline := time.After(60 * time.Second)
	for {
		rec, err := s.Get(context.Background(), id)
		if err == nil && ok(rec) {
			return rec
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("task %s: stored record never as wanted (last %+v, %v)", id, rec, err)
		}
	}
}

// An execution whose task another replica took over (this replica's lease
// ran out while it was paused, say) is stopped as soon as the store refuses
// its next publish as stale, and writes nothing more: the task is the
// other replica's.
func TestStaleExecutionIsStopped(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	gate, stopped := make(chan struct{}), make(chan struct{})
	exec := engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if err := pub.Status(ctx, "started"); err != nil {
			return err
		}
		<-gate
		_ = pub.Status(ctx, "a stale step") // refused: the task changed
		<-ctx.Done()                        // only the engine can end this wait
		close(stopped)
		return ctx.Err()
	})
	sa := openTest(t, dsn)
	defer sa.Close()
	a, err := engine.New(sa, exec, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := a.Send(ctx, &a2a.SendRequest{Message: userText("work"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Task.ID
	rec := waitStored(t, sa, id, func(r *engine.Record) bool {
		return r.Running && r.Task.Status.Message != nil && r.Task.Status.Message.Text() == "started"
	})

	// Replica C takes the task over, as TakeOver does for an expired lease,
	// and records its own attempt.
	sc := openTest(t, dsn)
	defer sc.Close()
	if _, err := sc.pool.Exec(ctx, `UPDATE a2atop_claims SET replica = $1 WHERE task_id = $2`, sc.ReplicaID(), id); err != nil {
		t.Fatal(err)
	}
	su := &a2a.StatusUpdateEvent{TaskID: id, ContextID: rec.Task.ContextID, Status: a2a.TaskStatus{State: a2a.StateWorking,
		Message: &a2a.Message{ID: "c-1", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("attempt 2 on replica C")}}}}
	task, err := a2a.Apply(rec.Task, su)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	taken := &engine.Record{Task: task, Created: rec.Created, Updated: now, Attempts: 2, LastSeq: rec.LastSeq + 1, Running: true}
	if err := sc.Commit(ctx, &engine.Commit{Record: taken,
		Events: []engine.LoggedEvent{{TaskID: id, Seq: taken.LastSeq, Time: now, Event: su}}}); err != nil {
		t.Fatal(err)
	}

	close(gate)
	select {
	case <-stopped:
	case <-time.After(60 * time.Second):
		t.Fatal("the stale execution on A was never stopped")
	}
	if err := a.Close(); err != nil { // waits for the execution's settle
		t.Fatal(err)
	}
	got, err := sc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastSeq != taken.LastSeq || got.Task.Status.State != a2a.StateWorking || got.Task.Status.Message.Text() != "attempt 2 on replica C" {
		t.Errorf("after A stopped: seq %d, %s %q; want C's record (seq %d, working) untouched",
			got.LastSeq, got.Task.Status.State, got.Task.Status.Message.Text(), taken.LastSeq)
	}
}

// An observer (engine.Options.Observe on a store opened with
// Options.Observer: a dashboard with --read-only) never claims, resumes or
// runs a task, refuses sends and cancels, and sees the tasks that another
// replica runs, live.
func TestObserverNeverRuns(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	// An unfinished task that no replica holds: a replica opening the
	// database would claim and resume it at once.
	sc := openTest(t, dsn)
	if err := sc.Commit(ctx, record("orphan", a2a.StateSubmitted, 1, "echo orphan")); err != nil {
		t.Fatal(err)
	}
	sc.Close() // leaving hands its claims back

	so, err := Open(ctx, dsn, Options{Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	o, err := engine.New(so, agents.NewDemo(), engine.Options{Observe: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var claims, replicas int
	if err := so.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM a2atop_claims), (SELECT count(*) FROM a2atop_replicas)`).Scan(&claims, &replicas); err != nil {
		t.Fatal(err)
	}
	if claims != 0 || replicas != 0 {
		t.Fatalf("after the observer started: %d claims, %d replicas; want none", claims, replicas)
	}
	if rec, err := so.Get(ctx, "orphan"); err != nil || rec.Task.Status.State != a2a.StateSubmitted || rec.LastSeq != 1 {
		t.Fatalf("the observer touched the orphan: %+v, %v", rec, err)
	}
	if _, err := o.Send(ctx, &a2a.SendRequest{Message: userText("echo hi")}); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("send on an observer: %v, want unsupported", err)
	}
	if _, err := o.Cancel(ctx, "orphan"); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("cancel on an observer: %v, want unsupported", err)
	}
	if err := so.Commit(ctx, record("x", a2a.StateSubmitted, 1, "x")); !errors.Is(err, ErrObserver) {
		t.Errorf("commit on an observer's store: %v, want ErrObserver", err)
	}

	// The observer follows what a replica runs: the orphan it resumes and
	// a task sent to it, on Subscribe and on Watch.
	w, err := o.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	orphan, err := o.Subscribe(ctx, "orphan")
	if err != nil {
		t.Fatal(err)
	}
	defer orphan.Close()
	if ev, err := orphan.Recv(); err != nil || ev.Event.(*a2a.Task).ID != "orphan" {
		t.Fatalf("subscribe: first event %+v, %v; want the snapshot", ev, err)
	}
	b := startReplica(t, dsn)
	if got := lastState(t, orphan); !got.Terminal() {
		t.Errorf("the observer's Subscribe ended at %s, want the end B recorded", got)
	}
	res, err := b.Send(ctx, &a2a.SendRequest{Message: userText("slow 2"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := o.Subscribe(ctx, res.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := lastState(t, sub); got != a2a.StateCompleted {
		t.Errorf("the observer's Subscribe to B's task ended at %s, want completed", got)
	}
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("the observer's Watch: %v", err)
		}
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.TaskID == res.Task.ID && su.Status.State == a2a.StateCompleted {
			break
		}
	}
}

// lastState reads a task stream to its end and returns the last state it
// carried.
func lastState(t *testing.T, s a2a.Stream) a2a.TaskState {
	t.Helper()
	var st a2a.TaskState
	for {
		ev, err := s.Recv()
		if err != nil {
			return st
		}
		switch e := ev.Event.(type) {
		case *a2a.Task:
			st = e.Status.State
		case *a2a.StatusUpdateEvent:
			st = e.Status.State
		}
	}
}
