package client

import (
	"path/filepath"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

// TestListV03FromJournalAcrossRestart: v0.3 has no ListTasks, so List
// serves the tasks the client has seen (created, fetched or learned from a
// stream) from the journal, across restarts, with the first-seen time kept;
// Get refreshes what it shows; and Watch opens on the journal even when the
// agent is unreachable.
func TestListV03FromJournalAcrossRestart(t *testing.T) {
	for _, mode := range []string{a2a.Version03, a2a.Version03 + "/rest"} {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t)
			peer := startPeer(t)
			path := filepath.Join(t.TempDir(), "journal.db")
			c1, err := New(ctx, peer.URL(), journalOpts(mode, path))
			if err != nil {
				t.Fatal(err)
			}
			if !c1.ListsFromJournal() {
				t.Fatal("a v0.3 client must list from its journal")
			}
			echo, err := c1.Send(ctx, msg("echo seen"))
			if err != nil {
				t.Fatal(err)
			}
			fr := msg("forever")
			fr.Config.ReturnImmediately = true
			forever, err := c1.Send(ctx, fr)
			if err != nil {
				t.Fatal(err)
			}
			s, err := c1.Stream(ctx, msg("ask"))
			if err != nil {
				t.Fatal(err)
			}
			ask, _ := drainStream(t, s)
			page, err := c1.List(ctx, a2a.ListRequest{})
			if err != nil {
				t.Fatal(err)
			}
			states := map[string]a2a.TaskState{}
			for _, task := range page.Tasks {
				states[task.ID] = task.Status.State
			}
			if !page.FromJournal || len(page.Tasks) != 3 || states[echo.Task.ID] != a2a.StateCompleted ||
				states[ask.ID] != a2a.StateInputRequired || !states[forever.Task.ID].Active() {
				t.Fatalf("v0.3 list: journal %v, states %v", page.FromJournal, states)
			}
			first, ok := c1.FirstSeen(forever.Task.ID)
			if !ok {
				t.Fatal("no first-seen time for a task sent here")
			}
			if err := c1.Close(); err != nil {
				t.Fatal(err)
			}

			// After a restart the journal lists the same tasks, created when
			// first seen, not when reopened.
			c2, err := New(ctx, peer.URL(), journalOpts(mode, path))
			if err != nil {
				t.Fatal(err)
			}
			if again, ok := c2.FirstSeen(forever.Task.ID); !ok || !again.Equal(first) {
				t.Errorf("first seen after restart: %v, want %v", again, first)
			}
			page, err = c2.List(ctx, a2a.ListRequest{PageSize: 2})
			if err != nil || len(page.Tasks) != 2 || page.NextPageToken == "" || page.TotalSize != 3 {
				t.Fatalf("page 1 after restart: %v %+v", err, page)
			}
			rest, err := c2.List(ctx, a2a.ListRequest{PageSize: 2, PageToken: page.NextPageToken})
			if err != nil || len(rest.Tasks) != 1 || rest.NextPageToken != "" {
				t.Fatalf("page 2 after restart: %v %+v", err, rest)
			}
			// Another client cancels forever; Get refreshes the journal.
			other := dial(t, peer.URL(), mode)
			if _, err := other.Cancel(ctx, forever.Task.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := c2.Get(ctx, a2a.GetRequest{ID: forever.Task.ID}); err != nil {
				t.Fatal(err)
			}
			page, err = c2.List(ctx, a2a.ListRequest{State: a2a.StateCanceled})
			if err != nil || len(page.Tasks) != 1 || page.Tasks[0].ID != forever.Task.ID {
				t.Fatalf("canceled after get: %v %+v", err, page)
			}
			if err := c2.Close(); err != nil {
				t.Fatal(err)
			}

			// The agent goes away: Watch still opens, on the journal.
			peer.Close()
			c3, err := New(ctx, peer.URL(), journalOpts(mode, path))
			if err != nil {
				t.Fatal(err)
			}
			defer c3.Close()
			w, err := c3.Watch(ctx, a2a.CursorStart)
			if err != nil {
				t.Fatalf("watch on an unreachable v0.3 agent: %v", err)
			}
			defer w.Close()
			got := map[string]bool{}
			for len(got) < 3 {
				ev, err := w.Recv()
				if err != nil {
					t.Fatal(err)
				}
				id, _ := ev.Event.TaskInfo()
				got[id] = true
			}
			if c3.ConnState().Kind != Offline {
				t.Errorf("conn state %v, want offline", c3.ConnState())
			}
		})
	}
}
