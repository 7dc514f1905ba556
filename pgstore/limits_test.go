package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// limitedReplica is one engine on the shared database with the given
// limits (no high-priority reserve, so the limit is exact), and its store.
func limitedReplica(t *testing.T, dsn string, maxRunning, maxQueued int) (*engine.Engine, *Store) {
	t.Helper()
	s := openTest(t, dsn)
	e, err := engine.New(s, agents.NewDemo(), engine.Options{MaxRunning: maxRunning, HighReserve: -1, MaxQueued: maxQueued})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		s.Close()
	})
	return e, s
}

func sendNow(ctx context.Context, e *engine.Engine, text string) (*a2a.Task, error) {
	res, err := e.Send(ctx, &a2a.SendRequest{Message: userText(text), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		return nil, err
	}
	return res.Task, nil
}

// stateCounts reads how many tasks are working and submitted, from the
// task rows themselves (not the counters the engine uses).
func stateCounts(t *testing.T, s *Store) (working, submitted int) {
	t.Helper()
	err := s.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE state = 'working'),
		count(*) FILTER (WHERE state = 'submitted') FROM a2atop_tasks`).Scan(&working, &submitted)
	if err != nil {
		t.Fatal(err)
	}
	return working, submitted
}

// MaxQueued holds across replicas: with 3 tasks queued in all (on either
// replica), a 4th send to the other replica is refused busy.
func TestMaxQueuedAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, _ := limitedReplica(t, dsn, 1, 3)
	b, _ := limitedReplica(t, dsn, 1, 3)
	if _, err := sendNow(ctx, a, "forever"); err != nil { // the one slot
		t.Fatal(err)
	}
	for i, e := range []*engine.Engine{a, a, b} {
		task, err := sendNow(ctx, e, "echo queued")
		if err != nil {
			t.Fatalf("queued send %d: %v", i+1, err)
		}
		if task.Status.State != a2a.StateSubmitted {
			t.Fatalf("send %d: %s, want submitted (queued)", i+1, task.Status.State)
		}
	}
	_, err := sendNow(ctx, b, "echo one too many")
	if !errors.Is(err, a2a.ErrServerBusy) {
		t.Fatalf("4th queued send to the other replica: %v, want server busy", err)
	}
}

// MaxRunning holds across replicas: 4 endless tasks on two replicas with
// MaxRunning 2 run 2 in all; canceling one lets a queued one start,
// whichever replica queued it.
func TestMaxRunningAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, sa := limitedReplica(t, dsn, 2, 100)
	b, _ := limitedReplica(t, dsn, 2, 100)
	var tasks []*a2a.Task
	for _, e := range []*engine.Engine{a, a, b, b} {
		task, err := sendNow(ctx, e, "forever")
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	// Each send returns after its first commit: working if it got a slot,
	// submitted if queued. Only a slot freed could start another.
	if w, s := stateCounts(t, sa); w != 2 || s != 2 {
		t.Fatalf("after 4 sends: %d working, %d submitted; want 2 and 2 (MaxRunning 2 across the replicas)", w, s)
	}
	var running *a2a.Task
	for _, task := range tasks {
		if task.Status.State == a2a.StateWorking {
			running = task
		}
	}
	if running == nil {
		t.Fatal("no send started its task")
	}
	// Cancel through the other replica than the one that runs it (b runs
	// none of the first two): the slot freed anywhere starts a queued task.
	if _, err := b.Cancel(ctx, running.ID); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, a, sa, 2, 1)
}

// waitCounts follows the log on e until the task rows show working and
// submitted tasks (events, not sleeps).
func waitCounts(t *testing.T, e *engine.Engine, s *Store, working, submitted int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := e.Watch(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		gw, gs := stateCounts(t, s)
		if gw == working && gs == submitted {
			return
		}
		if gw > working {
			t.Fatalf("%d working, more than %d", gw, working)
		}
		if _, err := w.Recv(); err != nil {
			t.Fatalf("never %d working and %d submitted (last %d, %d): %v", working, submitted, gw, gs, err)
		}
	}
}

// Slots taken at once from two replicas never exceed the limit: the count
// and the insert are one step under the advisory lock.
func TestAcquireSlotConcurrently(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	sa, sb := openTest(t, dsn), openTest(t, dsn)
	defer sa.Close()
	defer sb.Close()
	const limit, tries = 5, 40
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range tries {
		s := sa
		if i%2 == 1 {
			s = sb
		}
		wg.Go(func() {
			ok, err := s.AcquireSlot(ctx, engine.SlotRequest{TaskID: fmt.Sprintf("task-%d", i), Limit: limit, Level: 1, Arrival: int64(i + 1)})
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	var rows int
	if err := sa.pool.QueryRow(ctx, `SELECT count(*) FROM a2atop_slots`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if granted.Load() != limit || rows != limit {
		t.Fatalf("%d slots granted, %d stored; want %d of %d tries", granted.Load(), rows, limit, tries)
	}
	// A released slot is free for the other replica; releasing twice is
	// no error.
	var held, holder string
	if err := sa.pool.QueryRow(ctx, `SELECT task_id, replica FROM a2atop_slots LIMIT 1`).Scan(&held, &holder); err != nil {
		t.Fatal(err)
	}
	owner := sa
	if holder == sb.ReplicaID() {
		owner = sb
	}
	for range 2 {
		if err := owner.ReleaseSlot(ctx, held); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := sb.AcquireSlot(ctx, engine.SlotRequest{TaskID: "task-late", Limit: limit, Level: 1, Arrival: 100}); err != nil || !ok {
		t.Fatalf("acquire after a release = %v, %v; want a slot", ok, err)
	}
	if ok, err := sb.AcquireSlot(ctx, engine.SlotRequest{TaskID: "task-later", Limit: limit, Level: 1, Arrival: 101}); err != nil || ok {
		t.Fatalf("acquire past the limit = %v, %v; want refused", ok, err)
	}
}

// Sends racing on two replicas never queue more than MaxQueued tasks in
// all: the limit is checked in each queueing commit's transaction, under
// the lock the queued count changes under (the engines' early checks read
// a count from before the other sends committed).
func TestMaxQueuedRacingReplicas(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	const maxQueued, sends = 4, 48
	a, sa := limitedReplica(t, dsn, 1, maxQueued)
	b, _ := limitedReplica(t, dsn, 1, maxQueued)
	if _, err := sendNow(ctx, a, "forever"); err != nil { // the one slot
		t.Fatal(err)
	}
	var queued, busy atomic.Int64
	var wg sync.WaitGroup
	for i := range sends {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			task, err := sendNow(ctx, e, "echo racing")
			switch {
			case errors.Is(err, a2a.ErrServerBusy):
				busy.Add(1)
			case err != nil:
				t.Error(err)
			case task.Status.State == a2a.StateSubmitted:
				queued.Add(1)
			default:
				t.Errorf("send: %s, want submitted or busy", task.Status.State)
			}
		})
	}
	wg.Wait()
	_, stored := stateCounts(t, sa)
	if queued.Load() != maxQueued || stored != maxQueued || busy.Load() != sends-maxQueued {
		t.Fatalf("%d sends queued (%d stored submitted), %d refused busy; want %d queued, %d busy",
			queued.Load(), stored, busy.Load(), maxQueued, sends-maxQueued)
	}
}
