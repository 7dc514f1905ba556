package client

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

var (
	_ a2a.JournalLister = (*Client)(nil)
	_ a2a.FirstSeer     = (*Client)(nil)
)

// ListsFromJournal reports whether List serves the tasks this client has
// seen rather than the agent's ListTasks: on v0.3, which has none.
func (c *Client) ListsFromJournal() bool { return c.disc.Version != a2a.Version10 }

// FirstSeen is when this client (or an earlier run with the same journal)
// first saw the task.
func (c *Client) FirstSeen(taskID string) (time.Time, bool) {
	if j := c.journalIfOpen(); j != nil {
		return j.firstSeen(taskID)
	}
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	t, ok := c.firstSeen[taskID]
	return t, ok
}

// refresh records a snapshot fetched from the agent: in the journal every
// time (Get refreshes what List shows on v0.3), not only the first.
func (c *Client) refresh(t *a2a.Task) {
	if t == nil || t.ID == "" {
		return
	}
	c.rememberID(t.ID)
	if j := c.journalIfOpen(); j != nil {
		_, _, _ = j.record(t)
	}
}

// listSeen is List on v0.3: the journal's tasks, newest change first, with
// the request's filters and paging. Without a journal (Options.NoJournal)
// it gets each task the client has seen from the agent instead.
func (c *Client) listSeen(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	if j := c.journalIfOpen(); j != nil {
		page, err := j.list(req)
		if err != nil {
			return nil, c.wrap("list tasks seen by a2atop", err)
		}
		return page, nil
	}
	var tasks []*a2a.Task
	for _, id := range c.SeenTasks() {
		t, err := c.Get(ctx, a2a.GetRequest{ID: id, HistoryLength: req.HistoryLength})
		if errors.Is(err, a2a.ErrTaskNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if (req.ContextID == "" || t.ContextID == req.ContextID) && (req.State == "" || t.Status.State == req.State) &&
			(req.StatusTimestampAfter.IsZero() || !t.Status.Timestamp.Before(req.StatusTimestampAfter)) {
			tasks = append(tasks, t)
		}
	}
	slices.SortFunc(tasks, func(a, b *a2a.Task) int {
		if c := b.Status.Timestamp.Compare(a.Status.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if req.Text != "" {
		tasks = filterText(tasks, req.Text)
	}
	size := req.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	from, _ := strconv.Atoi(strings.TrimPrefix(req.PageToken, journalTokenPrefix))
	from = max(0, min(from, len(tasks)))
	to := min(from+size, len(tasks))
	page := &a2a.ListPage{Tasks: tasks[from:to], PageSize: size, TotalSize: len(tasks), FromJournal: true}
	if to < len(tasks) {
		page.NextPageToken = journalTokenPrefix + strconv.Itoa(to)
	}
	for _, t := range page.Tasks {
		trimTask(t, req)
	}
	return page, nil
}

// seedFromJournal starts a v0.3 watch from what the journal knows, so the
// first poll asks the agent only about tasks that may still change, and
// reports only what changed since.
func (w *watchStream) seedFromJournal() {
	if w.j == nil {
		return
	}
	snaps, err := w.j.snapshots()
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range snaps {
		if _, ok := w.last[t.ID]; !ok {
			w.last[t.ID] = keyOf(t.Status)
		}
	}
}
