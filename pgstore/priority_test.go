package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// sendPriority sends text with metadata.priority and returns at once.
func sendPriority(t *testing.T, e *engine.Engine, text, priority string) *a2a.Task {
	t.Helper()
	msg := userText(text)
	msg.Metadata = a2a.Metadata{"priority": priority}
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Task
}

func mustSend(t *testing.T, e *engine.Engine, text string, want a2a.TaskState) *a2a.Task {
	t.Helper()
	task, err := sendNow(context.Background(), e, text)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status.State != want {
		t.Fatalf("send %q: %s, want %s", text, task.Status.State, want)
	}
	return task
}

// storedState reads a task's state from its row.
func storedState(t *testing.T, s *Store, id string) a2a.TaskState {
	t.Helper()
	var st string
	if err := s.pool.QueryRow(context.Background(), `SELECT state FROM a2atop_tasks WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return a2a.TaskState(st)
}

// waiters reads the waiter rows: task id -> replica.
func waiters(t *testing.T, s *Store) map[string]string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT task_id, replica FROM a2atop_waiters`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, replica string
		if err := rows.Scan(&id, &replica); err != nil {
			t.Fatal(err)
		}
		out[id] = replica
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// firstWorking follows the log on e until one of tasks is working in the
// store, and returns it (events, not sleeps).
func firstWorking(t *testing.T, e *engine.Engine, s *Store, tasks ...*a2a.Task) *a2a.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := e.Watch(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		for _, task := range tasks {
			if storedState(t, s, task.ID) == a2a.StateWorking {
				return task
			}
		}
		if _, err := w.Recv(); err != nil {
			t.Fatalf("none of %d tasks started: %v", len(tasks), err)
		}
	}
}

// Priority holds across replicas: with the cluster's slots full, a
// high-priority task queued on replica B starts before the low-priority
// tasks queued earlier on replica A, whichever replica a slot frees on,
// and even while B runs its full share of the slots.
func TestPriorityAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	a, sa := limitedReplica(t, dsn, 2, 100)
	b, _ := limitedReplica(t, dsn, 2, 100)
	x := mustSend(t, a, "forever", a2a.StateWorking)
	y := mustSend(t, b, "forever", a2a.StateWorking)
	low1 := sendPriority(t, a, "forever", "low")
	low2 := sendPriority(t, a, "forever", "low")
	high := sendPriority(t, b, "forever", "high")
	for _, task := range []*a2a.Task{low1, low2, high} {
		if task.Status.State != a2a.StateSubmitted {
			t.Fatalf("task %s: %s, want submitted (the 2 slots are taken)", task.ID, task.Status.State)
		}
	}

	// 1. A slot comes free without waking anyone (as when a killed
	// replica's lease ends), and A is asked first: a new send to A makes
	// its queue ask for its head at once. The store refuses A's low head,
	// since B's high waiter ranks ahead, and B takes the slot when it asks
	// again.
	if _, err := sa.pool.Exec(ctx, `DELETE FROM a2atop_slots WHERE task_id = $1`, x.ID); err != nil {
		t.Fatal(err)
	}
	low3 := sendPriority(t, a, "forever", "low")
	if got := firstWorking(t, a, sa, high, low1, low2, low3); got != high {
		t.Fatalf("low-priority task %s on A started first; want B's high-priority task %s", got.ID, high.ID)
	}
	for _, low := range []*a2a.Task{low1, low2, low3} {
		if st := storedState(t, sa, low.ID); st != a2a.StateSubmitted {
			t.Fatalf("low-priority task %s on A is %s after B's high-priority task started; want still submitted", low.ID, st)
		}
	}

	// 2. B runs its full share (y and high): a second high-priority task
	// it queues waits locally, and still ranks ahead of A's low ones when
	// y ends on B (B's own run end and A's wake race to the store).
	high2 := sendPriority(t, b, "forever", "high")
	if high2.Status.State != a2a.StateSubmitted {
		t.Fatalf("second high: %s, want submitted", high2.Status.State)
	}
	if _, err := b.Cancel(ctx, y.ID); err != nil {
		t.Fatal(err)
	}
	if got := firstWorking(t, a, sa, high2, low1, low2, low3); got != high2 {
		t.Fatalf("low-priority task %s on A started first; want B's second high-priority task %s", got.ID, high2.ID)
	}
	for _, low := range []*a2a.Task{low1, low2, low3} {
		if st := storedState(t, sa, low.ID); st != a2a.StateSubmitted {
			t.Fatalf("low-priority task %s on A is %s after B's second high-priority task started; want still submitted", low.ID, st)
		}
	}

	// 3. A slot freed on A (x ends; its slot row is gone, so the high
	// task's end frees one) goes to A's first low task, in arrival order.
	if _, err := a.Cancel(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Cancel(ctx, high.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, low1.ID, a2a.StateWorking)
	if st := storedState(t, sa, low2.ID); st != a2a.StateSubmitted {
		t.Fatalf("low2 is %s before low1 ended; want submitted (FIFO within a priority)", st)
	}
	// Only a queue's head asks, so low2 waits in the store and low3 not
	// yet; low1 left the waiters when it started.
	if w := waiters(t, sa); len(w) != 1 || w[low2.ID] != sa.ReplicaID() {
		t.Fatalf("waiters %v, want low2 of A (%s) alone", w, sa.ReplicaID())
	}
}

func slotReq(id string, limit, level int, arrival int64) engine.SlotRequest {
	return engine.SlotRequest{TaskID: id, Limit: limit, Level: level, Arrival: arrival}
}

func acquire(t *testing.T, s *Store, r engine.SlotRequest) bool {
	t.Helper()
	ok, err := s.AcquireSlot(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// The store's rank rules: a waiter of another live replica that ranks
// ahead holds a free slot back; the asker's own waiters do not (its queue
// orders them); a waiter stops counting when its task is no longer
// submitted; a dead replica's waiter keeps its place for the survivor.
func TestWaiterRanks(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	lease := Options{Lease: 600 * time.Millisecond}
	sa, err := Open(ctx, dsn, lease)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := Open(ctx, dsn, lease)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for _, id := range []string{"high", "normal", "low", "late"} {
		if err := sa.Commit(ctx, record(id, a2a.StateSubmitted, 1, "queued")); err != nil {
			t.Fatal(err)
		}
	}
	if !acquire(t, sb, slotReq("running", 1, 1, 1)) {
		t.Fatal("the first slot was refused")
	}
	// Full: A's high and normal tasks wait.
	if acquire(t, sa, slotReq("high", 1, 0, 10)) || acquire(t, sa, slotReq("normal", 1, 1, 11)) {
		t.Fatal("a slot past the limit was granted")
	}
	if err := sb.ReleaseSlot(ctx, "running"); err != nil {
		t.Fatal(err)
	}
	// Free, but A's high waiter ranks ahead of B's low task.
	if acquire(t, sb, slotReq("low", 1, 2, 5)) {
		t.Fatal("B's low task took the slot A's high-priority waiter ranks first for")
	}
	// A's own normal waiter does not hold back A's high task.
	if !acquire(t, sa, slotReq("high", 1, 0, 10)) {
		t.Fatal("A's high task was refused behind its own replica's lower waiter")
	}
	if got := waiters(t, sa); len(got) != 2 || got["normal"] != sa.ReplicaID() || got["low"] != sb.ReplicaID() {
		t.Fatalf("waiters %v, want normal (A) and low (B)", got)
	}
	if err := sa.ReleaseSlot(ctx, "high"); err != nil {
		t.Fatal(err)
	}
	// A waiter whose task is no longer submitted counts for nothing.
	if err := sa.Commit(ctx, record("normal", a2a.StateCanceled, 2, "canceled")); err != nil {
		t.Fatal(err)
	}
	if acquire(t, sb, slotReq("low", 0, 2, 5)) {
		t.Fatal("a waiter place only (limit 0) was granted a slot")
	}
	// The same arrival on one level: the task id decides.
	if acquire(t, sa, slotReq("late", 1, 2, 5)) == acquire(t, sb, slotReq("low", 1, 2, 5)) {
		t.Fatal("two tasks of one rank were both granted or both refused")
	}
	if err := sa.ReleaseSlot(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if err := sb.ReleaseSlot(ctx, "low"); err != nil {
		t.Fatal(err)
	}
	if got := waiters(t, sa); len(got) != 1 || got["normal"] != sa.ReplicaID() {
		t.Fatalf("waiters %v, want only A's canceled normal (its replica never withdrew it)", got)
	}

	// A killed replica's waiter keeps its place after its lease ends: its
	// task waits for a survivor, which takes it over and asks under the
	// same arrival. TakeOver deletes the dead replica's rows of tasks no
	// longer submitted.
	if !acquire(t, sb, slotReq("running", 1, 1, 20)) || acquire(t, sa, slotReq("high", 1, 0, 10)) {
		t.Fatal("setup: want the slot taken and A's high task waiting")
	}
	if err := sb.ReleaseSlot(ctx, "running"); err != nil {
		t.Fatal(err)
	}
	sa.die()
	for {
		var expired bool
		if err := sb.pool.QueryRow(ctx, `SELECT expires_at < now() FROM a2atop_replicas WHERE id = $1`,
			sa.ReplicaID()).Scan(&expired); err != nil {
			t.Fatal(err)
		}
		if expired {
			break
		}
		if _, err := sb.pool.Exec(ctx, `SELECT pg_sleep(0.05)`); err != nil {
			t.Fatal(err)
		}
	}
	if acquire(t, sb, slotReq("low", 1, 2, 5)) {
		t.Fatal("B's low task took the slot the dead replica's high-priority task still ranks first for")
	}
	if _, err := sb.TakeOver(ctx); err != nil {
		t.Fatal(err)
	}
	if got := waiters(t, sb); len(got) != 2 || got["high"] != sa.ReplicaID() || got["low"] != sb.ReplicaID() {
		t.Fatalf("waiters %v after TakeOver, want high (still A's) and low (B's)", got)
	}
	since, ok, err := sb.WaitingSince(ctx, "high")
	if err != nil || !ok || since != 10 {
		t.Fatalf("WaitingSince(high) = %d, %v, %v; want 10", since, ok, err)
	}
	if !acquire(t, sb, slotReq("high", 1, 0, since)) {
		t.Fatal("the survivor was refused the slot for the task it took over")
	}
	if got := waiters(t, sb); len(got) != 1 || got["low"] != sb.ReplicaID() {
		t.Fatalf("waiters %v, want B's low alone", got)
	}
}

// waitWaiterGone follows s's slot wakes (a withdrawn waiter NOTIFYs) until
// id has no waiter row.
func waitWaiterGone(t *testing.T, s *Store, id string) {
	t.Helper()
	wake, stop := s.WatchSlots()
	defer stop()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		if _, ok := waiters(t, s)[id]; !ok {
			return
		}
		select {
		case <-wake:
		case <-timeout.C:
			t.Fatalf("task %s still has a waiter row", id)
		}
	}
}

// Every way a queued task leaves its replica's queue without starting
// takes its waiter row with it: a cancel on its replica, a cancel on
// another replica; and its replica's clean close hands the waiter over
// with the task.
func TestWaitersLeaveWithTheQueue(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	sa := openTest(t, dsn)
	a, err := engine.New(sa, agents.NewDemo(), engine.Options{MaxRunning: 1, HighReserve: -1, MaxQueued: 100})
	if err != nil {
		t.Fatal(err)
	}
	closeA := func() {
		a.Close()
		sa.Close()
	}
	defer closeA()
	b, sb := limitedReplica(t, dsn, 1, 100)
	mustSend(t, a, "forever", a2a.StateWorking)
	low := sendPriority(t, b, "forever", "low")
	high1 := sendPriority(t, a, "forever", "high")
	if w := waiters(t, sa); w[high1.ID] != sa.ReplicaID() || w[low.ID] != sb.ReplicaID() {
		t.Fatalf("waiters %v, want A's high task and B's low task", w)
	}

	// Canceled on its replica: the row goes before Cancel returns.
	if _, err := a.Cancel(ctx, high1.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := waiters(t, sa)[high1.ID]; ok {
		t.Fatal("a task canceled while queued kept its waiter row")
	}

	// Canceled on another replica: its replica withdraws it on the cancel
	// notification.
	high2 := sendPriority(t, a, "forever", "high")
	if _, ok := waiters(t, sa)[high2.ID]; !ok {
		t.Fatal("setup: the second high task has no waiter row")
	}
	if _, err := b.Cancel(ctx, high2.ID); err != nil {
		t.Fatal(err)
	}
	waitWaiterGone(t, sa, high2.ID)

	// A's clean close: B takes its queue over, and A's high task keeps
	// its place ahead of B's low one meanwhile; its row becomes B's when
	// it starts there.
	high3 := sendPriority(t, a, "forever", "high")
	closeA()
	if got := firstWorking(t, b, sb, high3, low); got != high3 {
		t.Fatalf("B's low task started before the high task it took over from A")
	}
	// Left: B's waiters (its low task, and A's normal one it took over).
	for id, replica := range waiters(t, sb) {
		if replica != sb.ReplicaID() || id == high3.ID {
			t.Fatalf("waiter %s of replica %s after the takeover; want only B's, not the started high task", id, replica)
		}
	}
}
