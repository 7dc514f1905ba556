package pgstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
	"github.com/google/uuid"
)

// replica is one engine on the shared database, as one `serve` process
// has.
func startReplica(t testing.TB, dsn string) *engine.Engine {
	t.Helper()
	s := openTest(t, dsn)
	e, err := engine.New(s, agents.NewDemo(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		s.Close()
	})
	return e
}

func userText(text string) a2a.Message {
	return a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}
}

func sendBlocking(t testing.TB, e *engine.Engine, text string) *a2a.Task {
	t.Helper()
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: userText(text)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Task == nil {
		t.Fatalf("send %q: no task", text)
	}
	return res.Task
}

// recvN reads n events from a Watch stream.
func recvN(t *testing.T, s a2a.Stream, n int) []a2a.StreamEvent {
	t.Helper()
	out := make([]a2a.StreamEvent, 0, n)
	for len(out) < n {
		ev, err := s.Recv()
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, ev)
	}
	return out
}

// Every replica's Watch carries every replica's events, in one cursor
// order, and a cursor from one replica resumes on another with nothing
// missed or repeated.
func TestWatchAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, b := startReplica(t, dsn), startReplica(t, dsn)
	wa, err := a.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Close()
	wb, err := b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()

	var ids []string
	for i := range 6 {
		e := a
		if i%2 == 1 {
			e = b
		}
		ids = append(ids, sendBlocking(t, e, fmt.Sprintf("echo %d", i)).ID)
	}
	logged, err := a.Watch(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	defer logged.Close()
	// The whole log so far, from a replay on A.
	sa := openTest(t, dsn)
	defer sa.Close()
	all, err := sa.Log(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := len(all)
	if n < len(ids)*2 {
		t.Fatalf("log has %d events for %d tasks", n, len(ids))
	}
	fromA, fromB, replay := recvN(t, wa, n), recvN(t, wb, n), recvN(t, logged, n)
	for i := range n {
		want := strconv.FormatUint(all[i].Cursor, 10)
		for name, got := range map[string]a2a.StreamEvent{"A live": fromA[i], "B live": fromB[i], "A replay": replay[i]} {
			if got.Cursor != want || got.Seq != all[i].Seq {
				t.Fatalf("%s event %d: cursor %s seq %d, want cursor %s seq %d", name, i, got.Cursor, got.Seq, want, all[i].Seq)
			}
		}
	}
	// Resume on B from a cursor A handed out, mid-log.
	mid := fromA[n/2].Cursor
	rb, err := b.Watch(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	rest := recvN(t, rb, n-n/2-1)
	if rest[0].Cursor != fromA[n/2+1].Cursor || rest[len(rest)-1].Cursor != fromA[n-1].Cursor {
		t.Errorf("resume on B after %s: %s..%s, want %s..%s", mid, rest[0].Cursor, rest[len(rest)-1].Cursor,
			fromA[n/2+1].Cursor, fromA[n-1].Cursor)
	}
	// A task created on A is readable and listed on B.
	if got, err := b.Get(ctx, a2a.GetRequest{ID: ids[0]}); err != nil || got.Status.State != a2a.StateCompleted {
		t.Errorf("B reads A's task: %v, %v", got, err)
	}
}

func startReplicaOn(t testing.TB, s *Store) *engine.Engine {
	t.Helper()
	e, err := engine.New(s, agents.NewDemo(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		s.Close()
	})
	return e
}

// waitState follows a task on e until it is in state (events, not sleeps).
func waitState(t *testing.T, e *engine.Engine, id string, state a2a.TaskState) *a2a.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := e.Watch(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		task, err := e.Get(ctx, a2a.GetRequest{ID: id})
		if err == nil && task.Status.State == state {
			return task
		}
		if _, err := w.Recv(); err != nil {
			t.Fatalf("task %s never %s (last %v): %v", id, state, task.Status.State, err)
		}
	}
}

// A replica that dies (no heartbeat, connections gone) has its running task
// taken over by a survivor within the lease, under the restart rules: the
// demo task runs again there, as attempt 2.
func TestTakeOverFromDeadReplica(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	lease := Options{Lease: 600 * time.Millisecond}
	sa, err := Open(ctx, dsn, lease)
	if err != nil {
		t.Fatal(err)
	}
	a := startReplicaOn(t, sa)
	sb, err := Open(ctx, dsn, lease)
	if err != nil {
		t.Fatal(err)
	}
	b := startReplicaOn(t, sb)

	res, err := a.Send(ctx, &a2a.SendRequest{Message: userText("forever"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Task.ID
	waitState(t, b, id, a2a.StateWorking)
	var holder string
	if err := sb.pool.QueryRow(ctx, `SELECT replica FROM a2atop_claims WHERE task_id = $1`, id).Scan(&holder); err != nil || holder != sa.ReplicaID() {
		t.Fatalf("claim = %q, %v; want replica A %s", holder, err, sa.ReplicaID())
	}
	w, err := b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sa.die()
	// B takes it over: its claim moves to B and B runs attempt 2 (each
	// check after an event of the log, which the takeover writes to).
	for {
		rec, err := sb.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		err = sb.pool.QueryRow(ctx, `SELECT replica FROM a2atop_claims WHERE task_id = $1`, id).Scan(&holder)
		if err == nil && holder == sb.ReplicaID() && rec.Running && rec.Task.Status.State == a2a.StateWorking {
			if rec.Attempts != 2 {
				t.Fatalf("after takeover: attempt %d, want 2", rec.Attempts)
			}
			break
		}
		if _, err := w.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// A database restart (a crash, here) loses no acknowledged commit, and a
// replica's Watch resumes on its own: the listener reconnects and the
// feed continues from its cursor.
func TestDatabaseRestart(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{Durable: true})
	dsn := srv.NewDatabase(t)
	sa := openTest(t, dsn)
	defer sa.Close()
	b := startReplica(t, dsn)
	w, err := b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := sa.Commit(ctx, record("before", a2a.StateSubmitted, 1, "x")); err != nil {
		t.Fatal(err)
	}
	if ev, err := w.Recv(); err != nil || ev.Seq != 1 {
		t.Fatalf("before the restart: %+v, %v", ev, err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The first commit may meet a connection the crash broke (and is then
	// not acknowledged); the pool replaces it.
	var cerr error
	for range 5 {
		if cerr = sa.Commit(ctx, record("after", a2a.StateSubmitted, 1, "x")); cerr == nil {
			break
		}
	}
	if cerr != nil {
		t.Fatalf("commit after the restart: %v", cerr)
	}
	ev, err := w.Recv()
	if err != nil {
		t.Fatalf("Watch after the restart: %v", err)
	}
	if task, ok := ev.Event.(*a2a.Task); !ok || task.ID != "after" {
		t.Errorf("Watch after the restart got %+v, want task after", ev.Event)
	}
	if _, err := sa.Get(ctx, "before"); err != nil {
		t.Errorf("acknowledged commit lost in the crash: %v", err)
	}
}

// A reader on one replica of a task that runs on another gets its events
// to the end: Subscribe on B follows A's task, a blocking send retried on B
// with the message id of A's send waits for A's result, and Cancel on B of
// A's running task stops it there.
func TestFollowTaskOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, b := startReplica(t, dsn), startReplica(t, dsn)

	msg := userText("slow 3")
	res, err := a.Send(ctx, &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Task.ID
	sub, err := b.Subscribe(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// The same send again on B (a client retrying elsewhere): the same
	// task, answered when it is done.
	again, err := b.Send(ctx, &a2a.SendRequest{Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	if again.Task == nil || again.Task.ID != id || again.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("retried send on B = %+v, want task %s completed", again.Task, id)
	}
	var last a2a.StreamEvent
	n := 0
	for {
		ev, err := sub.Recv()
		if err != nil {
			break
		}
		last, n = ev, n+1
	}
	if su, ok := last.Event.(*a2a.StatusUpdateEvent); !ok || su.Status.State != a2a.StateCompleted || n < 3 {
		t.Errorf("Subscribe on B: %d events, last %#v; want A's events up to completed", n, last.Event)
	}

	// Cancel on B of a task running on A.
	res, err = a.Send(ctx, &a2a.SendRequest{Message: userText("forever"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	id = res.Task.ID
	waitState(t, b, id, a2a.StateWorking)
	onA, err := a.Subscribe(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer onA.Close()
	task, err := b.Cancel(ctx, id)
	if err != nil || task.Status.State != a2a.StateCanceled {
		t.Fatalf("Cancel on B = %v, %v; want canceled", task, err)
	}
	// A's reader sees the end: the execution on A was told and stopped.
	for {
		ev, err := onA.Recv()
		if err != nil {
			t.Fatalf("A's reader ended without the cancel: %v", err)
		}
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.Status.State == a2a.StateCanceled {
			break
		}
	}
}

// An exec task whose replica dies is failed by the replica that takes it
// over, not run a second time (as after a crash of a lone a2atop).
func TestExecTaskNotRerunAfterTakeover(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	dir := t.TempDir()
	startExec := func() (*Store, *engine.Engine) {
		s, err := Open(ctx, dsn, Options{Lease: 600 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ex, err := agents.NewExec(dir, agents.ExecOptions{Grace: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e, err := engine.New(s, ex, engine.Options{CancelGrace: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			e.Close()
			s.Close()
		})
		return s, e
	}
	sa, a := startExec()
	_, b := startExec()
	marker := dir + "/runs"
	res, err := a.Send(ctx, &a2a.SendRequest{Message: userText("echo run >> " + marker + "; sleep 30"),
		Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Task.ID
	waitState(t, b, id, a2a.StateWorking)
	sa.die()
	task := waitState(t, b, id, a2a.StateFailed)
	if msg := task.Status.Message; msg == nil || !strings.Contains(msg.Text(), "not running the command again") {
		t.Errorf("taken-over exec task: %+v, want failed as not run again", task.Status)
	}
	raw, _ := os.ReadFile(marker)
	if runs := strings.Count(string(raw), "run"); runs != 1 {
		t.Errorf("the command ran %d times, want once", runs)
	}
}

// An answer sent to another replica than the one that asked reaches the
// task: replica B runs the follow-up execution (the task is released when
// it waits for input), and A's reader sees the task complete.
func TestAnswerOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, b := startReplica(t, dsn), startReplica(t, dsn)
	asked := sendBlocking(t, a, "ask")
	if asked.Status.State != a2a.StateInputRequired {
		t.Fatalf("ask on A: %s, want input-required", asked.Status.State)
	}
	answer := userText("2030-01-01")
	answer.TaskID = asked.ID
	res, err := b.Send(ctx, &a2a.SendRequest{Message: answer})
	if err != nil {
		t.Fatal(err)
	}
	if res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("answer on B: %+v, want the task completed", res)
	}
	waitState(t, a, asked.ID, a2a.StateCompleted)
}
