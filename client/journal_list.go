package client

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	bolt "go.etcd.io/bbolt"
)

// noteFirstSeen stores when the client first saw a task, once.
func noteFirstSeen(tx *bolt.Tx, id string) error {
	b := tx.Bucket(bucketFirst)
	if b.Get([]byte(id)) != nil {
		return nil
	}
	return b.Put([]byte(id), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
}

// firstSeen is when the client first saw a task: the first bucket, else
// (journals from before it) the task's first timeline entry.
func (j *journal) firstSeen(id string) (time.Time, bool) {
	var out time.Time
	_ = j.db.View(func(tx *bolt.Tx) error {
		out = firstSeenTx(tx, id)
		return nil
	})
	return out, !out.IsZero()
}

func firstSeenTx(tx *bolt.Tx, id string) time.Time {
	if raw := tx.Bucket(bucketFirst).Get([]byte(id)); raw != nil {
		if t, err := time.Parse(time.RFC3339Nano, string(raw)); err == nil {
			return t
		}
	}
	prefix := append([]byte(id), 0)
	k, v := tx.Bucket(bucketTimeline).Cursor().Seek(prefix)
	if k == nil || len(k) != len(prefix)+8 || string(k[:len(prefix)]) != string(prefix) {
		return time.Time{}
	}
	var e TimelineEntry
	if json.Unmarshal(v, &e) != nil {
		return time.Time{}
	}
	return e.Time
}

// journalEntry is one task of a journal list with the times that order it.
type journalEntry struct {
	task    *a2a.Task
	changed time.Time // status time, or when the client saw the change
}

// list serves List from the journal: every task the client has seen,
// newest change first, with the request's filters (state, context, status
// time, text) and paging. Page tokens are offsets into that order. A
// snapshot without a status time gets the time the client saw that status,
// so that it sorts and shows an age.
func (j *journal) list(req a2a.ListRequest) (*a2a.ListPage, error) {
	var all []journalEntry
	err := j.db.View(func(tx *bolt.Tx) error {
		lastB := tx.Bucket(bucketLast)
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, err := j.codec.DecodeTask(v)
			if err != nil {
				return fmt.Errorf("journal: task %s: %w", k, err)
			}
			changed := t.Status.Timestamp
			if changed.IsZero() {
				var last journalLast
				if raw := lastB.Get(k); raw != nil && json.Unmarshal(raw, &last) == nil && last.Seq > 0 {
					if tl, err := j.timelineTx(tx, string(k)); err == nil && len(tl) > 0 {
						changed = tl[len(tl)-1].Time
					}
				}
				if changed.IsZero() {
					changed = firstSeenTx(tx, string(k))
				}
				t.Status.Timestamp = changed
			}
			all = append(all, journalEntry{task: t, changed: changed})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	kept := all[:0]
	for _, e := range all {
		t := e.task
		switch {
		case req.ContextID != "" && t.ContextID != req.ContextID:
		case req.State != "" && t.Status.State != a2a.ParseState(string(req.State)):
		case !req.StatusTimestampAfter.IsZero() && e.changed.Before(req.StatusTimestampAfter):
		default:
			kept = append(kept, e)
		}
	}
	slices.SortFunc(kept, func(a, b journalEntry) int {
		if c := b.changed.Compare(a.changed); c != 0 {
			return c
		}
		return strings.Compare(b.task.ID, a.task.ID)
	})
	tasks := make([]*a2a.Task, len(kept))
	for i, e := range kept {
		tasks[i] = e.task
	}
	if req.Text != "" {
		tasks = filterText(tasks, req.Text)
	}
	size := req.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	size = min(size, a2a.MaxPageSize)
	from := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(req.PageToken, journalTokenPrefix))
		if err != nil || n < 0 || !strings.HasPrefix(req.PageToken, journalTokenPrefix) {
			return nil, a2a.NewError(a2a.ErrInvalidParams, "page token %q is not one of the journal's", req.PageToken)
		}
		from = min(n, len(tasks))
	}
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

// journalTokenPrefix marks the journal's page tokens.
const journalTokenPrefix = "journal:"

// trimTask applies the request's history length and artifact choice, as
// an agent's ListTasks would.
func trimTask(t *a2a.Task, req a2a.ListRequest) {
	if !req.IncludeArtifacts {
		t.Artifacts = nil
	}
	if n := req.HistoryLength; n != nil && len(t.History) > *n {
		t.History = t.History[len(t.History)-*n:]
	}
}

func (j *journal) timelineTx(tx *bolt.Tx, id string) ([]TimelineEntry, error) {
	var out []TimelineEntry
	prefix := append([]byte(id), 0)
	c := tx.Bucket(bucketTimeline).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var e TimelineEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// snapshots returns the latest snapshot of every task in the journal.
func (j *journal) snapshots() ([]*a2a.Task, error) {
	var out []*a2a.Task
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, err := j.codec.DecodeTask(v)
			if err != nil {
				return fmt.Errorf("journal: task %s: %w", k, err)
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}
