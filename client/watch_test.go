package client

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

func journalOpts(protocol, path string) Options {
	o := fastOpts(protocol)
	o.NoJournal = false
	o.JournalPath = path
	o.WatchInterval = 30 * time.Millisecond
	return o
}

// watchUntil reads w until every id in want has reached a terminal state,
// failing on a duplicate (same task, state and status time twice).
func watchUntil(t *testing.T, w a2a.Stream, want map[string]bool) []a2a.StreamEvent {
	t.Helper()
	seen := map[string]bool{}
	states := map[string]a2a.TaskState{}
	var out []a2a.StreamEvent
	for done := 0; done < len(want); {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("watch Recv: %v (states so far %v)", err, states)
		}
		out = append(out, ev)
		id, _ := ev.Event.TaskInfo()
		var st a2a.TaskStatus
		switch e := ev.Event.(type) {
		case *a2a.Task:
			st = e.Status
		case *a2a.StatusUpdateEvent:
			st = e.Status
		default:
			continue
		}
		key := id + "|" + string(st.State) + "|" + strconv.FormatInt(st.Timestamp.UnixNano(), 10)
		if seen[key] {
			t.Errorf("duplicate event %s", key)
		}
		seen[key] = true
		if want[id] && st.State.Terminal() && !states[id].Terminal() {
			done++
		}
		if !states[id].Terminal() {
			states[id] = st.State
		}
	}
	return out
}

func TestWatchSeesEveryTaskOnce(t *testing.T) {
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			peer := startPeerWith(t, a2apeer.Options{})
			path := filepath.Join(t.TempDir(), "journal.db")
			c, err := New(testCtx(t), peer.URL(), journalOpts(v, path))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			w, err := c.Watch(testCtx(t), "")
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			want := map[string]bool{}
			for _, text := range []string{"echo one", "slow 3", "data"} {
				req := msg(text)
				req.Config.ReturnImmediately = true
				res, err := c.Send(testCtx(t), req)
				if err != nil {
					t.Fatal(err)
				}
				want[res.Task.ID] = true
			}
			evs := watchUntil(t, w, want)
			last := evs[len(evs)-1]
			if last.Cursor == "" || last.Cursor == "0" {
				t.Errorf("last event has cursor %q", last.Cursor)
			}
			for id := range want {
				tl, err := c.Timeline(id)
				if err != nil || len(tl) == 0 || !tl[len(tl)-1].State.Terminal() {
					t.Errorf("timeline of %s: %v %+v", id, err, tl)
				}
			}
		})
	}
}

func TestJournalSurvivesRestart(t *testing.T) {
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			peer := startPeerWith(t, a2apeer.Options{})
			path := filepath.Join(t.TempDir(), "journal.db")
			c1, err := New(testCtx(t), peer.URL(), journalOpts(v, path))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c1.Send(testCtx(t), msg("echo remember me"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c1.Close(); err != nil {
				t.Fatal(err)
			}

			// A new client, as after restarting a2atop: the journal brings the
			// task back, on v0.3 too, where nothing can list it.
			c2, err := New(testCtx(t), peer.URL(), journalOpts(v, path))
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			w, err := c2.Watch(testCtx(t), a2a.CursorStart)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ev, err := w.Recv()
			if err != nil {
				t.Fatal(err)
			}
			task, ok := ev.Event.(*a2a.Task)
			if !ok || task.ID != res.Task.ID || task.Status.State != a2a.StateCompleted {
				t.Fatalf("first watch event after restart: %T %+v", ev.Event, ev.Event)
			}
			// Resuming after that cursor replays nothing old: the next event
			// is a new task.
			w2, err := c2.Watch(testCtx(t), ev.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			defer w2.Close()
			req := msg("echo fresh")
			res2, err := c2.Send(testCtx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			next, err := w2.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if id, _ := next.Event.TaskInfo(); id != res2.Task.ID {
				t.Fatalf("after cursor %s: got task %s, want the new %s", ev.Cursor, id, res2.Task.ID)
			}
		})
	}
}

// TestWatchSeesUnfollowedChangeWhileOthersStream guards the list watermark:
// live events of a followed task must not move it past changes of tasks the
// watch does not follow (here an answered question, changed by another
// client while a forever task ticks).
func TestWatchSeesUnfollowedChangeWhileOthersStream(t *testing.T) {
	peer := startPeerWith(t, a2apeer.Options{})
	o := journalOpts(a2a.Version10, filepath.Join(t.TempDir(), "journal.db"))
	o.WatchInterval = 3 * time.Second
	o.WatchOverlap = time.Millisecond // the watermark alone must be right
	watcher, err := New(testCtx(t), peer.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	other := dial(t, peer.URL(), a2a.Version10)
	defer other.Close()

	res, err := other.Send(testCtx(t), msg("ask"))
	if err != nil || res.Task == nil {
		t.Fatalf("send ask: %v %+v", err, res)
	}
	ask := res.Task
	w, err := watcher.Watch(testCtx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	next := func(pred func(id string, st a2a.TaskStatus) bool) {
		t.Helper()
		for {
			ev, err := w.Recv()
			if err != nil {
				t.Fatalf("watch Recv: %v", err)
			}
			id, _ := ev.Event.TaskInfo()
			switch e := ev.Event.(type) {
			case *a2a.Task:
				if pred(id, e.Status) {
					return
				}
			case *a2a.StatusUpdateEvent:
				if pred(id, e.Status) {
					return
				}
			}
		}
	}
	req := msg("forever")
	req.Config.ReturnImmediately = true
	fres, err := other.Send(testCtx(t), req)
	if err != nil || fres.Task == nil {
		t.Fatalf("send forever: %v %+v", err, fres)
	}
	forever := fres.Task.ID
	defer other.Cancel(context.Background(), forever)
	// The poll that first reports forever has just run; the next one is a
	// whole interval away, while forever's live ticks keep arriving.
	next(func(id string, _ a2a.TaskStatus) bool { return id == forever })
	answer := msg("2026-12-01")
	answer.Message.TaskID, answer.Message.ContextID = ask.ID, ask.ContextID
	if _, err := other.Send(testCtx(t), answer); err != nil {
		t.Fatalf("answer: %v", err)
	}
	next(func(id string, st a2a.TaskStatus) bool { return id == ask.ID && st.State == a2a.StateCompleted })
}

// TestWatchSeesChangeAtWatermark: a task whose status time equals the
// newest one a poll has returned (the watermark), stored after that poll,
// is still reported, once the watermark has settled and polls list only
// what changed since it.
func TestWatchSeesChangeAtWatermark(t *testing.T) {
	peer := startPeerWith(t, a2apeer.Options{})
	ctx := testCtx(t)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	if err := peer.PutCompleted(ctx, "first-at-mark", at); err != nil {
		t.Fatal(err)
	}
	o := journalOpts(a2a.Version10, filepath.Join(t.TempDir(), "journal.db"))
	o.WatchOverlap = time.Millisecond // the watermark settles at once
	c, err := New(ctx, peer.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ev, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := ev.Event.TaskInfo(); id != "first-at-mark" {
		t.Fatalf("first event for %s", id)
	}
	if err := peer.PutCompleted(ctx, "second-at-mark", at); err != nil {
		t.Fatal(err)
	}
	ev, err = w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := ev.Event.TaskInfo(); id != "second-at-mark" {
		t.Fatalf("next event for %s, want second-at-mark", id)
	}
}
