package localstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/a2a"
	bolt "go.etcd.io/bbolt"
)

// sweepChunk is how many tasks one Sweep transaction deletes: small enough
// to keep a transaction's dirty pages few and let commits in between.
const sweepChunk = 1000

// terminalStates are the states Sweep may delete, walked in the by-state
// index.
var terminalStates = []a2a.TaskState{a2a.StateCompleted, a2a.StateFailed, a2a.StateCanceled, a2a.StateRejected}

// Sweep deletes terminal tasks whose status time is before olderThan (the
// zero time: none by age), then the oldest terminal tasks beyond keep (keep
// <= 0: no count limit). It walks the by-state index of the terminal states
// from their oldest ends, so it never reads a task it keeps, and deletes in
// transactions of sweepChunk tasks. A task's record, index entries,
// counters, events, log entries and message ids go together; the meta
// cursor stays, so cursors are never reused.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time, keep int) (int, error) {
	deleted := 0
	if !olderThan.IsZero() {
		for _, state := range terminalStates {
			for {
				if err := ctx.Err(); err != nil {
					return deleted, err
				}
				n, err := s.sweepOlder(state, olderThan)
				deleted += n
				if n >= 100 { // a bigger sweep touched many pages
					s.releasePages()
				}
				if err != nil {
					return deleted, fmt.Errorf("sweep %s: %w", s.path, err)
				}
				if n < sweepChunk {
					break
				}
			}
		}
	}
	if keep <= 0 {
		return deleted, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		n, err := s.sweepBeyond(keep)
		deleted += n
		if n >= 100 { // a bigger sweep touched many pages
			s.releasePages()
		}
		if err != nil {
			return deleted, fmt.Errorf("sweep %s: %w", s.path, err)
		}
		if n < sweepChunk {
			return deleted, nil
		}
	}
}

// sweepOlder deletes up to sweepChunk tasks in state whose status time is
// before olderThan.
func (s *Store) sweepOlder(state a2a.TaskState, olderThan time.Time) (int, error) {
	n := 0
	err := s.write(func(b txBuckets) error {
		n = 0
		prefix := stateKey([]byte{famState}, string(state))
		cut := orderedTime(olderThan)
		var ids []string
		c := b.index.Cursor()
		// The family ascends with time: its oldest tasks come first.
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(ids) < sweepChunk; k, _ = c.Next() {
			tail := k[len(prefix):]
			_, id, err := splitIndexTail(tail)
			if err != nil {
				return fmt.Errorf("corrupt index key %x: %w", k, err)
			}
			if binary.BigEndian.Uint64(tail) >= cut {
				break
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			if err := deleteTask(b, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// sweepBeyond deletes up to sweepChunk of the oldest terminal tasks while
// more than keep are stored.
func (s *Store) sweepBeyond(keep int) (int, error) {
	n := 0
	err := s.write(func(b txBuckets) error {
		n = 0
		total := 0
		for _, state := range terminalStates {
			c, err := countFor(b.index.Bucket, "", string(state))
			if err != nil {
				return err
			}
			total += c
		}
		excess := min(total-keep, sweepChunk)
		if excess <= 0 {
			return nil
		}
		// Merge the terminal states' families from their oldest ends.
		type head struct {
			prefix []byte
			c      *bolt.Cursor
			k      []byte
		}
		var heads []*head
		for _, state := range terminalStates {
			h := &head{prefix: stateKey([]byte{famState}, string(state)), c: b.index.Cursor()}
			if h.k, _ = h.c.Seek(h.prefix); h.k != nil && !bytes.HasPrefix(h.k, h.prefix) {
				h.k = nil
			}
			heads = append(heads, h)
		}
		var ids []string
		for len(ids) < excess {
			var oldest *head
			for _, h := range heads {
				if h.k != nil && (oldest == nil || bytes.Compare(h.k[len(h.prefix):], oldest.k[len(oldest.prefix):]) < 0) {
					oldest = h
				}
			}
			if oldest == nil {
				break
			}
			_, id, err := splitIndexTail(oldest.k[len(oldest.prefix):])
			if err != nil {
				return fmt.Errorf("corrupt index key %x: %w", oldest.k, err)
			}
			ids = append(ids, id)
			if oldest.k, _ = oldest.c.Next(); oldest.k != nil && !bytes.HasPrefix(oldest.k, oldest.prefix) {
				oldest.k = nil
			}
		}
		for _, id := range ids {
			if err := deleteTask(b, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// deleteTask removes a task and everything that refers to it: its record,
// index entries and counters, spilled events, log entries and the message
// ids it owns.
func deleteTask(b txBuckets, id string) error {
	key := idKey(id)
	v := b.tasks.Get(key)
	if v == nil {
		return fmt.Errorf("index names a missing task %q (the file is damaged)", id)
	}
	h, _, err := decodeHeader(id, v)
	if err != nil {
		return fmt.Errorf("corrupt record of task %q: %w", id, err)
	}
	if err := removeEntry(b, h.entry); err != nil {
		return fmt.Errorf("delete task %q: %w", id, err)
	}
	if err := b.tasks.Delete(key); err != nil {
		return fmt.Errorf("delete task %q: %w", id, err)
	}
	// Each log entry starts at the cursor of one of the task's events.
	cursors := make([]uint64, 0, len(h.inline))
	for _, m := range h.inline {
		cursors = append(cursors, m.cursor)
	}
	// Collect first: deleting under a bbolt cursor skips the next key.
	prefix := eventPrefix(id)
	var keys [][]byte
	c := b.events.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		cursor, _, err := decodeEventHeader(v)
		if err != nil {
			return fmt.Errorf("corrupt event %x of task %q: %w", k, id, err)
		}
		cursors = append(cursors, cursor)
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.events.Delete(k); err != nil {
			return fmt.Errorf("delete task %q: %w", id, err)
		}
	}
	for _, cur := range cursors {
		lk := logKey(cur)
		if b.log.Get(lk) == nil {
			continue
		}
		if err := b.log.Delete(lk); err != nil {
			return fmt.Errorf("delete task %q: %w", id, err)
		}
	}
	for _, m := range h.messages {
		mk := messageKey(m)
		if owner, _, err := readID(b.index.Get(mk)); err == nil && owner == id {
			if err := b.index.Delete(mk); err != nil {
				return fmt.Errorf("delete task %q: %w", id, err)
			}
		}
	}
	return nil
}
