package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

// limitedExec blocks every execution until open closes, and declares a
// concurrency limit.
type limitedExec struct {
	limit   int
	open    chan struct{}
	entered chan struct{}
}

func (x *limitedExec) ConcurrencyLimit() int { return x.limit }

func (x *limitedExec) Execute(ctx context.Context, req *Request, pub Publisher) error {
	x.entered <- struct{}{}
	select {
	case <-x.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return pub.Complete(ctx, "done")
}

// The executor's ConcurrencyLimit is the engine's default MaxRunning; an
// explicit MaxRunning wins.
func TestExecutorConcurrencyLimit(t *testing.T) {
	for _, tt := range []struct {
		name        string
		maxRunning  int
		wantRunning int
	}{
		{"executor's limit", 0, 2},
		{"explicit MaxRunning", 3, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := &limitedExec{limit: 2, open: make(chan struct{}), entered: make(chan struct{}, 8)}
			store := NewMemoryStore()
			e, err := New(store, x, Options{MaxRunning: tt.maxRunning})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			defer close(x.open)
			ctx := context.Background()
			var ids []string
			for i := range tt.wantRunning + 1 {
				res, err := e.Send(ctx, &a2a.SendRequest{Message: holdMsg(fmt.Sprint("m", i), "go"), Config: a2a.SendConfig{ReturnImmediately: true}})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, res.Task.ID)
			}
			for range tt.wantRunning {
				waitFor(t, x.entered)
			}
			last := ids[len(ids)-1]
			rec, err := store.Get(ctx, last)
			if err != nil || rec.Task.Status.State != a2a.StateSubmitted {
				t.Fatalf("task %d of %d: %+v, %v; want it queued", len(ids), len(ids), rec, err)
			}
			if e.opts.MaxRunning != tt.wantRunning {
				t.Errorf("MaxRunning = %d, want %d", e.opts.MaxRunning, tt.wantRunning)
			}
		})
	}
}
