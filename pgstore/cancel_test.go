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

// TestCancelFromAnotherReplicaWhileItTicks: a cancel sent to the replica
// that does not run the task races the owner's progress events (here a
// tick every 2 ms). The cancel must win every time; it used to fail now
// and then with "the task was changed by another writer" when a tick was
// stored between its read and its commit.
func TestCancelFromAnotherReplicaWhileItTicks(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	replica := func() *engine.Engine {
		s := openTest(t, dsn)
		e, err := engine.New(s, &agents.Demo{TickInterval: 2 * time.Millisecond}, engine.Options{})
		if err != nil {
			s.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() {
			e.Close()
			s.Close()
		})
		return e
	}
	owner, other := replica(), replica()
	for i := range 20 {
		task, err := sendNow(ctx, owner, "forever")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // a few ticks stored
		got, err := other.Cancel(ctx, task.ID)
		if err != nil {
			t.Fatalf("cancel %d from the other replica: %v", i, err)
		}
		if got.Status.State != a2a.StateCanceled {
			t.Fatalf("cancel %d: task is %s", i, got.Status.State)
		}
	}
}
