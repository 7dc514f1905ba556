package engine

import (
	"context"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// The engine keeps no per-task state for tasks that are neither running,
// queued nor read.
func TestNoStateForIdleTasks(t *testing.T) {
	e, err := New(NewMemoryStore(), ExecutorFunc(func(ctx context.Context, req *Request, pub Publisher) error {
		if req.Message.Text() == "ask" {
			return pub.InputRequired(ctx, "?")
		}
		return pub.Complete(ctx, "ok")
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for _, text := range []string{"a", "ask", "b"} {
		res, err := e.Send(ctx, &a2a.SendRequest{Message: a2a.Message{Parts: []a2a.Part{a2a.TextPart(text)}}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.Subscribe(ctx, res.Task.ID)
		if err != nil {
			t.Fatal(err)
		}
		s.Recv()
		s.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		n, running := len(e.entries), e.running
		e.mu.Unlock()
		if n == 0 && running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d task entries and %d running slots remain after every task finished", n, running)
		}
		time.Sleep(time.Millisecond)
	}
}
