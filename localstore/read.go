package localstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// The store is an engine.Store.
var _ engine.Store = (*Store)(nil)

// Get returns a task's record; an error wrapping a2a.ErrTaskNotFound if
// there is none.
func (s *Store) Get(ctx context.Context, taskID string) (*engine.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec *engine.Record
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		rec, err = getRecord(tx, taskID)
		return err
	})
	return rec, err
}

func getRecord(tx *bolt.Tx, taskID string) (*engine.Record, error) {
	v := tx.Bucket(bucketTasks).Get([]byte(taskID))
	if v == nil {
		return nil, notFound(taskID)
	}
	return decodeRecord(taskID, v)
}

func notFound(taskID string) error {
	return a2a.NewError(a2a.ErrTaskNotFound, "task %q not found", taskID)
}

// Events returns the task's events with Seq > afterSeq, in order; an error
// wrapping a2a.ErrTaskNotFound if the task is not stored.
func (s *Store) Events(ctx context.Context, taskID string, afterSeq uint64) ([]engine.LoggedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []engine.LoggedEvent
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketTasks).Get([]byte(taskID)) == nil {
			return notFound(taskID)
		}
		if afterSeq == ^uint64(0) {
			return nil // no seq is after it
		}
		prefix := eventPrefix(taskID)
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(eventKey(taskID, afterSeq+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			ev, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// Log returns up to limit events of every task with Cursor > after, in
// cursor order (limit <= 0: no limit).
func (s *Store) Log(ctx context.Context, after uint64, limit int) ([]engine.LoggedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if after == ^uint64(0) {
		return nil, nil
	}
	var out []engine.LoggedEvent
	err := s.view(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		c := tx.Bucket(bucketLog).Cursor()
		for k, ref := c.Seek(logKey(after + 1)); k != nil; k, ref = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			v := events.Get(ref)
			if v == nil {
				return fmt.Errorf("log entry %x points at a missing event %x (the file is damaged)", k, ref)
			}
			ev, err := decodeEvent(ref, v)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// LastCursor is the highest cursor ever committed (0 for an empty store),
// even if Sweep has since deleted its event.
func (s *Store) LastCursor(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var cur uint64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		cur, err = getU64(tx.Bucket(bucketMeta).Get(metaCursor))
		if err != nil {
			return fmt.Errorf("meta cursor: %w", err)
		}
		return nil
	})
	return cur, err
}

// TaskForMessage returns the task a message id created or continued.
func (s *Store) TaskForMessage(ctx context.Context, messageID string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	var taskID string
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMessages).Get(messageKey(messageID)); v != nil {
			taskID, ok = string(v), true
		}
		return nil
	})
	return taskID, ok, err
}

// Unfinished returns every task that is not terminal, oldest Created first
// (ties by id), the order the engine resumes them in. It walks the by-state index, skipping terminal states' key
// ranges with one seek each, so it reads only unfinished tasks.
func (s *Store) Unfinished(ctx context.Context) ([]*engine.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*engine.Record
	err := s.view(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		c := tx.Bucket(bucketIndex).Cursor()
		for k, _ := c.Seek([]byte{famState}); k != nil && k[0] == famState; {
			state, tail, err := readLP(k[1:])
			if err != nil {
				return fmt.Errorf("corrupt index key %x: %w", k, err)
			}
			if a2a.TaskState(state).Terminal() {
				next := prefixEnd(appendLP([]byte{famState}, state))
				if next == nil {
					break
				}
				k, _ = c.Seek(next)
				continue
			}
			_, id, err := splitIndexTail(tail)
			if err != nil {
				return fmt.Errorf("corrupt index key %x: %w", k, err)
			}
			v := tasks.Get([]byte(id))
			if v == nil {
				return fmt.Errorf("index entry %x names a missing task %q (the file is damaged)", k, id)
			}
			rec, err := decodeRecord(id, v)
			if err != nil {
				return err
			}
			out = append(out, rec)
			if len(out)%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			k, _ = c.Next()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *engine.Record) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Task.ID, b.Task.ID)
	})
	return out, nil
}

// List returns a page of tasks, newest Updated first (ties: id descending).
// It walks the index family that matches the query's context and state
// filters backwards, from the page token's key on, so a page costs the
// same however many tasks are stored (with a Text filter, it also costs
// the tasks it skips). TotalSize comes from the counters, or is -1 when the
// query filters by Text or UpdatedAfter.
func (s *Store) List(ctx context.Context, q engine.ListQuery) (*engine.ListResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := q.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	prefix := indexPrefix(q.ContextID, string(q.State))
	var start []byte
	if q.PageToken != "" {
		var err error
		if start, err = decodePageToken(q.PageToken, prefix); err != nil {
			return nil, err
		}
	}
	text := strings.ToLower(q.Text)
	res := &engine.ListResult{TotalSize: -1}
	err := s.view(func(tx *bolt.Tx) error {
		scanned := 0
		defer func() {
			if scanned >= releaseAfter {
				s.dropPages(tx)
			}
		}()
		tasks := tx.Bucket(bucketTasks)
		c := tx.Bucket(bucketIndex).Cursor()
		// The family is walked backwards, from its newest key.
		var k []byte
		if start != nil {
			// Resume before the last key of the previous page. If that task
			// has changed since, its key is gone and the walk continues
			// from the next older key, which is where the page ends anyway.
			if k, _ = c.Seek(start); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		} else {
			k = lastWithPrefix(c, prefix)
		}
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			when, id, err := splitIndexTail(k[len(prefix):])
			if err != nil {
				return fmt.Errorf("corrupt index key %x: %w", k, err)
			}
			if !q.UpdatedAfter.IsZero() && !when.After(q.UpdatedAfter) {
				break // the rest of the family is older still
			}
			if scanned++; scanned%releaseAfter == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				// A long scan (Text) would otherwise keep every page it
				// read resident until it ends.
				s.dropPages(tx)
			}
			if len(res.Records) == size {
				// One more match exists beyond the page.
				if text == "" || s.matchesText(tasks, id, text) {
					res.NextPageToken = encodePageToken(last)
					break
				}
				continue
			}
			v := tasks.Get([]byte(id))
			if v == nil {
				return fmt.Errorf("index entry %x names a missing task %q (the file is damaged)", k, id)
			}
			rec, err := decodeRecord(id, v)
			if err != nil {
				return err
			}
			if text != "" && !engine.TaskContainsText(rec.Task, text) {
				continue
			}
			res.Records = append(res.Records, rec)
			last = append(last[:0], k...)
		}
		if q.Text == "" && q.UpdatedAfter.IsZero() {
			n, err := countFor(tx.Bucket(bucketCounts), q.ContextID, string(q.State))
			if err != nil {
				return err
			}
			res.TotalSize = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Store) matchesText(tasks *bolt.Bucket, id, text string) bool {
	v := tasks.Get([]byte(id))
	if v == nil {
		return false
	}
	rec, err := decodeRecord(id, v)
	return err == nil && engine.TaskContainsText(rec.Task, text)
}

// countFor reads the counter for a query's context and state filters.
func countFor(counts *bolt.Bucket, contextID, state string) (int, error) {
	var k []byte
	switch {
	case contextID == "" && state == "":
		k = []byte{countAll}
	default:
		k = indexPrefix(contextID, state)
	}
	v := counts.Get(k)
	if v == nil {
		return 0, nil
	}
	n, err := getU64(v)
	if err != nil {
		return 0, fmt.Errorf("counter %x: %w", k, err)
	}
	return int(n), nil
}

// A page token is the index key of the page's last task, base64url-encoded.
// It is only meaningful with the same filters, which fix the key's prefix.
func encodePageToken(lastKey []byte) string {
	return base64.RawURLEncoding.EncodeToString(lastKey)
}

func decodePageToken(token string, prefix []byte) ([]byte, error) {
	k, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil && bytes.HasPrefix(k, prefix) {
		_, _, err = splitIndexTail(k[len(prefix):])
	}
	if err != nil || !bytes.HasPrefix(k, prefix) {
		return nil, fmt.Errorf("list: %w: the page token is malformed or belongs to a query with other filters", a2a.ErrInvalidParams)
	}
	return k, nil
}
