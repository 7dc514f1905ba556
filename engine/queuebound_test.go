package engine_test

import (
	"context"
	"errors"
	"github.com/a2atop/a2atop/internal/testkit"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// foreverOrEcho runs "forever" until canceled and answers anything else
// at once.
func foreverOrEcho() engine.Executor {
	return engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if req.Message.Text() == "forever" {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
}

// TestQueueBoundRefusesWithBusy: past MaxQueued a send is refused with
// the busy error (not -32603), nothing is stored, and the same message is
// accepted once there is room.
func TestQueueBoundRefusesWithBusy(t *testing.T) {
	e, _ := newEngine(t, foreverOrEcho(), engine.Options{MaxRunning: 2, MaxQueued: 3})
	var ids []string
	for range 5 { // 2 running, 3 queued
		ids = append(ids, sendNoWait(t, e, textMsg("forever")).ID)
	}
	over := textMsg("forever")
	over.ID = "over-the-bound"
	_, err := e.Send(context.Background(), &a2a.SendRequest{Message: over, Config: a2a.SendConfig{ReturnImmediately: true}})
	if !errors.Is(err, a2a.ErrServerBusy) {
		t.Fatalf("send past the bound: %v, want the busy error (%d)", err, a2a.CodeServerBusy)
	}
	if a2a.AsError(err).Code == a2a.CodeInternal {
		t.Fatalf("busy answered as internal error: %v", err)
	}
	page, err := e.List(context.Background(), a2a.ListRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != 5 {
		t.Fatalf("%d tasks stored, want the 5 accepted", len(page.Tasks))
	}
	// Room again: the same message (same id) is accepted now.
	if _, err := e.Cancel(context.Background(), ids[4]); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "a queued slot to free", func() bool {
		_, err = e.Send(context.Background(), &a2a.SendRequest{Message: over, Config: a2a.SendConfig{ReturnImmediately: true}})
		return err == nil
	})
}

// TestHighPriorityStartsBehindNeverEndingWork: every slot held by work
// that never ends and a queue behind it; a blocking high-priority send
// still runs to completion (the reserve), and a normal one still waits.
func TestHighPriorityStartsBehindNeverEndingWork(t *testing.T) {
	e, _ := newEngine(t, foreverOrEcho(), engine.Options{MaxRunning: 4})
	for range 20 {
		sendNoWait(t, e, textMsg("forever"))
	}
	high := textMsg("echo urgent")
	high.Metadata = a2a.Metadata{"priority": "high"}
	// Before the reserve this send waited forever: bound the wait so the
	// test fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	res, err := e.Send(ctx, &a2a.SendRequest{Message: high})
	if err != nil {
		t.Fatalf("high-priority echo behind never-ending work: %v", err)
	}
	if st := res.Task.Status.State; st != a2a.StateCompleted {
		t.Fatalf("high-priority echo ended %s, want completed", st)
	}
	normal := sendNoWait(t, e, textMsg("echo later"))
	if st := get(t, e, normal.ID).Status.State; st != a2a.StateSubmitted {
		t.Fatalf("normal echo behind the queue is %s, want submitted (queued)", st)
	}
}
