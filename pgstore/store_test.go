package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"testing"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/storetest"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

func openTest(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	storetest.Run(t, func(t *testing.T) engine.Store {
		dsn := srv.NewDatabase(t)
		// Registered before the suite's Close: runs after it, on a store
		// of its own.
		t.Cleanup(func() {
			c := openTest(t, dsn)
			defer c.Close()
			if err := c.Check(); err != nil {
				t.Error(err)
			}
		})
		return openTest(t, dsn)
	})
}

func TestIsDSN(t *testing.T) {
	for s, want := range map[string]bool{
		"postgres://u@h/db":                  true,
		"POSTGRESQL://u@h/db?sslmode=off":    true,
		"postgres:///db?host=/tmp":           true,
		"host=/run/postgresql dbname=a2atop": true,
		" dbname=a2atop":                     true,
		"tasks.db":                           false,
		"postgres:":                          false,
		"./postgres://x":                     false,
		"/var/lib/a2atop/tasks.db":           false,
		":memory:":                           false,
		"hostname.db":                        false,
	} {
		if got := IsDSN(s); got != want {
			t.Errorf("IsDSN(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "postgres://bob:s3cret@[::1/db", Options{})
	if !errors.Is(err, ErrBadDSN) || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
		t.Errorf("bad DSN: %v; want ErrBadDSN on one line without the password", err)
	}
	missing := "postgres://u@/db?host=" + t.TempDir() + "&connect_timeout=2"
	_, err = Open(ctx, missing, Options{})
	if !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), "\n") {
		t.Errorf("no server: %v; want ErrUnreachable on one line", err)
	}

	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	s := openTest(t, dsn)
	if _, err := s.pool.Exec(ctx, "UPDATE a2atop_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, dsn, Options{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade a2atop") || strings.Contains(err.Error(), "\n") {
		t.Errorf("newer schema: %v; want ErrNewerSchema on one line", err)
	}
}

// Replicas starting together migrate once, under the advisory lock.
func TestConcurrentMigration(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn, Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func record(id string, state a2a.TaskState, seq uint64, text string) *engine.Commit {
	task := &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: state,
		Message: &a2a.Message{ID: fmt.Sprintf("%s-%d", id, seq), Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(text)}}}}
	at := time.Unix(1700000000, int64(seq))
	var ev a2a.Event = task
	if seq > 1 {
		ev = &a2a.StatusUpdateEvent{TaskID: id, ContextID: "c", Status: task.Status}
	}
	return &engine.Commit{
		Record: &engine.Record{Task: task, Created: at, Updated: at, LastSeq: seq},
		Events: []engine.LoggedEvent{{TaskID: id, Seq: seq, Time: at, Event: ev}},
	}
}

// Two replicas racing to change one task: the row lock serialises them and
// the seq check refuses the commit built on the version the other changed;
// the stored task is the winner's, whole, never a mix or a lost update.
func TestConcurrentWritersToOneTask(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, b := openTest(t, dsn), openTest(t, dsn)
	defer a.Close()
	defer b.Close()
	for round := range 20 {
		id := fmt.Sprintf("t%d", round)
		if err := a.Commit(ctx, record(id, a2a.StateSubmitted, 1, "new")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { errA = a.Commit(ctx, record(id, a2a.StateCompleted, 2, "by a")) })
		wg.Go(func() { errB = b.Commit(ctx, record(id, a2a.StateCanceled, 2, "by b")) })
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: a %v, b %v; want exactly one to win", round, errA, errB)
		}
		loser, want := errB, "by a"
		if errA != nil {
			loser, want = errA, "by b"
		}
		if !errors.Is(loser, ErrConflict) {
			t.Errorf("round %d: loser's error %v, want ErrConflict", round, loser)
		}
		rec, err := b.Get(ctx, id)
		if err != nil || rec.Task.Status.Message.Text() != want || rec.LastSeq != 2 {
			t.Fatalf("round %d: stored %+v, %v; want the winner's %q at seq 2", round, rec, err, want)
		}
		evs, _ := a.Events(ctx, id, 0)
		if len(evs) != 2 {
			t.Errorf("round %d: %d events, want 2", round, len(evs))
		}
	}
	if err := a.CheckContext(ctx); err != nil {
		t.Error(err)
	}
}

// Cursors follow commit order across writers: a reader that follows the
// log by cursor while two stores commit concurrently sees every event once
// (a cursor assigned before another but committed after it would be
// skipped by a reader that had already moved past).
func TestLogCursorsFollowCommitOrder(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	writers := []*Store{openTest(t, dsn), openTest(t, dsn), openTest(t, dsn)}
	reader := openTest(t, dsn)
	defer reader.Close()
	const perWriter = 300
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w, s := range writers {
		defer s.Close()
		for g := range 4 {
			wg.Go(func() {
				for i := range perWriter / 4 {
					id := fmt.Sprintf("w%d-g%d-%d", w, g, i)
					if err := s.Commit(ctx, record(id, a2a.StateSubmitted, 1, "x")); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	go func() { wg.Wait(); close(done) }()
	seen := map[uint64]bool{}
	var after uint64
	finished := false
	for !finished {
		select {
		case <-done:
			finished = true // one more read after the last commit
		default:
		}
		evs, err := reader.Log(ctx, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if seen[ev.Cursor] {
				t.Fatalf("cursor %d seen twice", ev.Cursor)
			}
			seen[ev.Cursor] = true
			after = ev.Cursor
		}
	}
	all, _ := reader.Log(ctx, 0, 0)
	if len(all) != len(writers)*perWriter || len(seen) != len(all) {
		t.Errorf("follower saw %d events, the log holds %d, %d were committed", len(seen), len(all), len(writers)*perWriter)
	}
}

func TestCheckFindsDamage(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	s := openTest(t, srv.NewDatabase(t))
	defer s.Close()
	if err := s.Commit(ctx, record("a", a2a.StateWorking, 1, "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE a2atop_counts SET n = 5 WHERE scope = 'all'"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckContext(ctx); err == nil || !strings.Contains(err.Error(), "counter all/ is 5, the tasks say 1") {
		t.Errorf("Check = %v, want the counter named", err)
	}
}

// Survivors racing to take over a dead replica's tasks split them: each
// task is claimed by exactly one, and a start commit on a task another
// live replica holds is refused.
func TestTakeOverSplitsTasks(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	dead, err := Open(ctx, dsn, Options{Lease: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		c := record(fmt.Sprintf("t%d", i), a2a.StateWorking, 1, "x")
		c.Record.Running = true
		if err := dead.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	survivors := []*Store{openTest(t, dsn), openTest(t, dsn), openTest(t, dsn)}
	for _, s := range survivors {
		defer s.Close()
	}
	// Nothing to take while the owner lives.
	if ids, err := survivors[0].TakeOver(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("TakeOver with the owner alive = %v, %v; want none", ids, err)
	}
	if ok, err := survivors[0].Claim(ctx, "t0"); ok || err != nil {
		t.Fatalf("Claim of a live replica's task = %v, %v; want refused", ok, err)
	}
	dead.die()
	// Wait for the lease to lapse: the survivors' wake says so.
	wake, stop := survivors[0].WatchTakeOver()
	defer stop()
	var got [][]string
	for {
		<-wake
		got = make([][]string, len(survivors))
		var wg sync.WaitGroup
		for i, s := range survivors {
			wg.Go(func() {
				ids, err := s.TakeOver(ctx)
				if err != nil {
					t.Error(err)
				}
				got[i] = ids
			})
		}
		wg.Wait()
		if len(got[0])+len(got[1])+len(got[2]) > 0 {
			break
		}
	}
	owner := map[string]int{}
	for i, ids := range got {
		for _, id := range ids {
			if j, dup := owner[id]; dup {
				t.Fatalf("task %s taken over by replicas %d and %d", id, j, i)
			}
			owner[id] = i
		}
	}
	if len(owner) != n {
		t.Fatalf("%d of %d tasks taken over", len(owner), n)
	}
	// Another survivor cannot start a task the first one took.
	var id string
	for _, ids := range got {
		if len(ids) > 0 {
			id = ids[0]
			break
		}
	}
	other := survivors[(owner[id]+1)%len(survivors)]
	// Stored running=true from the dead replica: make it not running first,
	// as the engine's resume does, then try to start from the other.
	stop2 := record(id, a2a.StateSubmitted, 2, "queued")
	if err := survivors[owner[id]].Commit(ctx, stop2); err != nil {
		t.Fatal(err)
	}
	c := record(id, a2a.StateWorking, 3, "started elsewhere")
	c.Record.Running = true
	if err := other.Commit(ctx, c); !errors.Is(err, ErrConflict) {
		t.Errorf("start on another replica's task: %v, want ErrConflict", err)
	}
	if err := survivors[owner[id]].Commit(ctx, c); err != nil {
		t.Errorf("start by the holder: %v", err)
	}
}

// Replicas sweeping at once: one sweeps, the others skip their turn; every
// old terminal task is deleted once and the counters stay right.
func TestConcurrentSweeps(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	stores := []*Store{openTest(t, dsn), openTest(t, dsn), openTest(t, dsn)}
	for _, s := range stores {
		defer s.Close()
	}
	const n = 1200 // more than one sweep batch
	for i := range n {
		if err := stores[0].Commit(ctx, record(fmt.Sprintf("t%d", i), a2a.StateCompleted, 1, "done")); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var deleted atomic.Int64
	for _, s := range stores {
		wg.Go(func() {
			got, err := s.Sweep(ctx, time.Unix(1800000000, 0), 0)
			if err != nil {
				t.Error(err)
			}
			deleted.Add(int64(got))
		})
	}
	wg.Wait()
	// A sweep that skipped its turn may leave some for the next round.
	got, err := stores[1].Sweep(ctx, time.Unix(1800000000, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	if total := deleted.Load() + int64(got); total != n {
		t.Errorf("swept %d tasks, want %d", total, n)
	}
	if err := stores[2].CheckContext(ctx); err != nil {
		t.Error(err)
	}
}
