package localstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// The store is an engine.Store that can check itself.
var (
	_ engine.Store   = (*Store)(nil)
	_ engine.Checker = (*Store)(nil)
)

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
	v := tx.Bucket(bucketTasks).Get(idKey(taskID))
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
		var err error
		out, err = taskEvents(tx, taskID, afterSeq, ^uint64(0))
		return err
	})
	return out, err
}

// taskEvents returns the task's events with afterSeq < Seq <= upTo, inline
// or spilled; an error wrapping a2a.ErrTaskNotFound if the task is not
// stored.
func taskEvents(tx *bolt.Tx, taskID string, afterSeq, upTo uint64) ([]engine.LoggedEvent, error) {
	v := tx.Bucket(bucketTasks).Get(idKey(taskID))
	if v == nil {
		return nil, notFound(taskID)
	}
	if afterSeq == ^uint64(0) {
		return nil, nil // no seq is after it
	}
	h, _, err := decodeHeader(taskID, v)
	if err != nil {
		return nil, fmt.Errorf("corrupt record of task %q: %w", taskID, err)
	}
	var out []engine.LoggedEvent
	if !h.spilled {
		if len(h.inline) == 0 || h.inline[len(h.inline)-1].seq <= afterSeq || h.inline[0].seq > upTo {
			return nil, nil
		}
		d, err := decodeFull(taskID, v)
		if err != nil {
			return nil, fmt.Errorf("corrupt record of task %q: %w", taskID, err)
		}
		all, err := d.inlineEvents(taskID)
		if err != nil {
			return nil, err
		}
		for _, ev := range all {
			if ev.Seq > afterSeq && ev.Seq <= upTo {
				out = append(out, ev)
			}
		}
		return out, nil
	}
	prefix := eventPrefix(taskID)
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(eventKey(taskID, afterSeq+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		ev, err := decodeEvent(k, v)
		if err != nil {
			return nil, err
		}
		if ev.Seq > upTo {
			break
		}
		out = append(out, ev)
	}
	return out, nil
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
		c := tx.Bucket(bucketLog).Cursor()
		// The run that holds after+1 may start before it.
		k, v := c.Seek(logKey(after + 1))
		if k == nil || binary.BigEndian.Uint64(k) > after+1 {
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			if k == nil {
				k, v = c.First()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			if len(k) != 8 {
				return fmt.Errorf("log key %x is not a cursor (the file is damaged)", k)
			}
			first := binary.BigEndian.Uint64(k)
			id, seq, n, err := splitLogValue(v)
			if err != nil {
				return fmt.Errorf("corrupt log entry %x: %w", k, err)
			}
			if first+uint64(n) <= after+1 {
				continue // wholly at or before after
			}
			evs, err := taskEvents(tx, id, seq-1, seq+uint64(n)-1)
			if err != nil {
				return fmt.Errorf("log entry %d: %w (the file is damaged)", first, err)
			}
			if len(evs) != n {
				return fmt.Errorf("log entry %d points at %d events of task %q from seq %d, %d stored (the file is damaged)", first, n, id, seq, len(evs))
			}
			for _, ev := range evs {
				if ev.Cursor <= after {
					continue
				}
				if limit > 0 && len(out) >= limit {
					break
				}
				out = append(out, ev)
			}
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
		if v := tx.Bucket(bucketIndex).Get(messageKey(messageID)); v != nil {
			id, rest, err := readID(v)
			if err != nil || len(rest) != 0 {
				return fmt.Errorf("corrupt message entry %q (the file is damaged)", messageID)
			}
			taskID, ok = id, true
		}
		return nil
	})
	return taskID, ok, err
}

// Unfinished returns every task that is not terminal, oldest Created first
// (ties by id), the order the engine resumes them in. Records that cannot
// be read are left out and reported, as engine.DamagedErrors joined, with
// the others. It walks the by-state index, skipping terminal states' key
// ranges with one seek each, so it reads only unfinished tasks.
func (s *Store) Unfinished(ctx context.Context) ([]*engine.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*engine.Record
	var damaged []error
	err := s.view(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		c := tx.Bucket(bucketIndex).Cursor()
		for k, _ := c.Seek([]byte{famState}); k != nil && k[0] == famState; {
			if len(k) < 2 {
				return fmt.Errorf("corrupt index key %x", k)
			}
			state, ok := stateOfCode(k[1])
			if !ok {
				return fmt.Errorf("corrupt index key %x: unknown state code", k)
			}
			tail := k[2:]
			if a2a.TaskState(state).Terminal() {
				next := prefixEnd(k[:2])
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
			v := tasks.Get(idKey(id))
			if v == nil {
				return fmt.Errorf("index entry %x names a missing task %q (the file is damaged)", k, id)
			}
			rec, err := decodeRecord(id, v)
			var bad *engine.DamagedError
			if errors.As(err, &bad) {
				// The others are still returned: an engine told to
				// (Options.AllowDamaged) resumes them.
				damaged = append(damaged, err)
				k, _ = c.Next()
				continue
			}
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
	return out, errors.Join(damaged...)
}

// List returns a page of tasks, newest Updated first (ties: id descending),
// or with Reverse oldest first. It walks the index family that matches the
// query's context and state filters backwards (forwards with Reverse: a
// bbolt cursor's Next instead of Prev), from the page token's key on, so a page costs the
// same however many tasks are stored (with a Text filter, it also costs
// the tasks it skips). With both a context and a state filter it walks the
// context's family and skips the tasks in other states (schema 2 keeps no
// family per context and state: see layout.go). TotalSize comes from the
// counters, or is -1 when the query filters by Text or UpdatedAfter, or by
// both context and state.
func (s *Store) List(ctx context.Context, q engine.ListQuery) (*engine.ListResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := q.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	if q.ByCreated {
		return s.listByCreated(ctx, q, size)
	}
	prefix := indexPrefix(q.ContextID, string(q.State))
	// state is the filter the family does not apply.
	state := ""
	if q.ContextID != "" {
		state = string(q.State)
	}
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
		step := c.Prev
		if q.Reverse {
			step = c.Next
		}
		var last []byte
		for k := listStart(c, prefix, start, q.Reverse); k != nil && bytes.HasPrefix(k, prefix); k, _ = step() {
			when, id, err := splitIndexTail(k[len(prefix):])
			if err != nil {
				return fmt.Errorf("corrupt index key %x: %w", k, err)
			}
			if !q.UpdatedAfter.IsZero() && !when.After(q.UpdatedAfter) {
				if q.Reverse {
					continue // newer keys come later in this walk
				}
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
				if (text == "" && state == "") || s.matches(tasks, id, text, state) {
					res.NextPageToken = encodePageToken(last)
					break
				}
				continue
			}
			v := tasks.Get(idKey(id))
			if v == nil {
				return fmt.Errorf("index entry %x names a missing task %q (the file is damaged)", k, id)
			}
			rec, err := decodeRecord(id, v)
			var damaged *engine.DamagedError
			if errors.As(err, &damaged) {
				// One bad record must not hide every other task: the
				// page lists the rest and names it.
				res.Damaged = append(res.Damaged, damaged)
				continue
			}
			if err != nil {
				return err
			}
			if state != "" && string(rec.Task.Status.State) != state {
				continue
			}
			if text != "" && !engine.TaskContainsText(rec.Task, text) {
				continue
			}
			res.Records = append(res.Records, rec)
			last = append(last[:0], k...)
		}
		return setTotal(tx, res, q, state == "")
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// setTotal sets res.TotalSize from the counters, when counted says they
// count what q selects and no filter they do not keep (text, time) is set.
func setTotal(tx *bolt.Tx, res *engine.ListResult, q engine.ListQuery, counted bool) error {
	if !counted || q.Text != "" || !q.UpdatedAfter.IsZero() {
		return nil
	}
	n, err := countFor(tx.Bucket(bucketIndex), q.ContextID, string(q.State))
	if err != nil {
		return err
	}
	res.TotalSize = n
	return nil
}

// createdTokenPrefix starts a created-order page token (the rest is the
// base64url tasks key of the page's last task): an updated-order token is
// base64url alone, which never holds '~', so neither order takes the
// other's tokens.
const createdTokenPrefix = "~c"

// listByCreated walks the tasks bucket from its last key down (up with
// Reverse): the engine's UUIDv7 ids are keyed by their 16 bytes, whose
// order is creation order; other ids are keyed above every UUID (layout.go's
// appendID), by length then bytes. The filters apply during the walk, on
// each record's header (state, conversation, update time) before its
// body is decoded (text): a page costs the tasks it skips.
func (s *Store) listByCreated(ctx context.Context, q engine.ListQuery, size int) (*engine.ListResult, error) {
	var start []byte
	if q.PageToken != "" {
		tok, ok := strings.CutPrefix(q.PageToken, createdTokenPrefix)
		k, err := base64.RawURLEncoding.DecodeString(tok)
		if err == nil {
			_, _, err = readID(k)
		}
		if !ok || err != nil || len(k) == 0 {
			return nil, fmt.Errorf("list: %w: the page token is malformed or belongs to a listing in another order", a2a.ErrInvalidParams)
		}
		start = k
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
		c := tx.Bucket(bucketTasks).Cursor()
		step := c.Prev
		if q.Reverse {
			step = c.Next
		}
		var last []byte
		for k, v := createdStart(c, start, q.Reverse); k != nil; k, v = step() {
			if scanned++; scanned%releaseAfter == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				s.dropPages(tx)
			}
			id, _, err := readID(k)
			if err != nil {
				return fmt.Errorf("corrupt task key %x: %w", k, err)
			}
			rec, err := s.createdMatch(id, v, q, text)
			var damaged *engine.DamagedError
			switch {
			case errors.As(err, &damaged):
				res.Damaged = append(res.Damaged, damaged)
				continue
			case err != nil:
				return err
			case rec == nil:
				continue
			}
			if len(res.Records) == size {
				res.NextPageToken = createdTokenPrefix + base64.RawURLEncoding.EncodeToString(last)
				break
			}
			res.Records = append(res.Records, rec)
			last = append(last[:0], k...)
		}
		// The counters are per context or per state, not per both.
		return setTotal(tx, res, q, q.ContextID == "" || q.State == "")
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// createdMatch decodes the record stored under id if it passes q's
// filters, reading its header first; nil if it does not pass.
func (s *Store) createdMatch(id string, v []byte, q engine.ListQuery, text string) (*engine.Record, error) {
	h, _, err := decodeHeader(id, v)
	if err != nil {
		return nil, &engine.DamagedError{TaskID: id, Err: err}
	}
	e := h.entry
	if (q.State != "" && e.state != string(q.State)) || (q.ContextID != "" && e.contextID != q.ContextID) ||
		(!q.UpdatedAfter.IsZero() && !e.when.After(q.UpdatedAfter)) {
		return nil, nil
	}
	rec, err := decodeRecord(id, v)
	if err != nil {
		return nil, err
	}
	if text != "" && !engine.TaskContainsText(rec.Task, text) {
		return nil, nil
	}
	return rec, nil
}

// createdStart positions c where a created-order walk begins: the last
// task key (the first with reverse), or the key next to the token's in
// the walk's direction (the token's task may have been swept since).
func createdStart(c *bolt.Cursor, token []byte, reverse bool) ([]byte, []byte) {
	switch {
	case token == nil && !reverse:
		return c.Last()
	case token == nil:
		return c.First()
	case !reverse:
		if k, _ := c.Seek(token); k == nil {
			return c.Last()
		}
		return c.Prev()
	}
	k, v := c.Seek(token)
	if bytes.Equal(k, token) {
		return c.Next()
	}
	return k, v
}

// listStart positions c where a List walk begins: the family's newest
// key, or with reverse its oldest; after a page token, the key next to the
// token's in the walk's direction. If the token's task has changed since,
// its key is gone and the walk goes on from the next key in that
// direction, which is where the page ends anyway.
func listStart(c *bolt.Cursor, prefix, token []byte, reverse bool) []byte {
	var k []byte
	switch {
	case token == nil && !reverse:
		return lastWithPrefix(c, prefix)
	case token == nil:
		k, _ = c.Seek(prefix)
	case !reverse:
		if k, _ = c.Seek(token); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	default:
		if k, _ = c.Seek(token); bytes.Equal(k, token) {
			k, _ = c.Next()
		}
	}
	return k
}

// matches reports whether the task is in state (if not empty) and holds
// text (if not empty).
func (s *Store) matches(tasks *bolt.Bucket, id, text, state string) bool {
	v := tasks.Get(idKey(id))
	if v == nil {
		return false
	}
	if state != "" {
		if h, _, err := decodeHeader(id, v); err != nil || h.entry.state != state {
			return false
		}
	}
	if text == "" {
		return true
	}
	rec, err := decodeRecord(id, v)
	return err == nil && engine.TaskContainsText(rec.Task, text)
}

// countFor reads the counter for a query's context and state filters.
func countFor(index *bolt.Bucket, contextID, state string) (int, error) {
	k := counterKey(contextID, state)
	v := index.Get(k)
	if v == nil {
		return 0, nil
	}
	n, err := getCount(v)
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
