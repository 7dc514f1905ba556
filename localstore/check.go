package localstore

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkInvariants verifies what layout.go promises, reading every key.
func checkInvariants(tx *bolt.Tx) error {
	b := buckets(tx)
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("bucket %q is missing", name)
		}
	}
	maxCursor, err := getU64(b.meta.Get(metaCursor))
	if err != nil {
		return fmt.Errorf("meta cursor: %w", err)
	}

	// Tasks: each decodes, and its index entries exist.
	wantCounts := map[string]uint64{}
	lastSeq := map[string]uint64{}
	tasks := 0
	err = b.tasks.ForEach(func(k, v []byte) error {
		id := string(k)
		rec, err := decodeRecord(id, v)
		if err != nil {
			return err
		}
		h, _, err := decodeHeader(id, v)
		if err != nil {
			return fmt.Errorf("task %q: %w", id, err)
		}
		if !h.entry.same(entryOf(rec)) {
			return fmt.Errorf("task %q: its header's index entry %+v differs from its task's %+v", id, h.entry, entryOf(rec))
		}
		for _, ik := range h.entry.keys() {
			if _, found := seekExact(b.index, ik); !found {
				return fmt.Errorf("task %q: index key %x is missing", id, ik)
			}
		}
		for _, ck := range h.entry.counterKeys() {
			wantCounts[string(ck)]++
		}
		lastSeq[id] = h.lastSeq
		tasks++
		return nil
	})
	if err != nil {
		return err
	}

	// Index: every key belongs to a stored task's entry.
	indexKeys := 0
	err = b.index.ForEach(func(k, _ []byte) error {
		indexKeys++
		id, err := indexKeyTask(k)
		if err != nil {
			return fmt.Errorf("index key %x: %w", k, err)
		}
		v := b.tasks.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("index key %x names a missing task %q", k, id)
		}
		h, _, err := decodeHeader(id, v)
		if err != nil {
			return fmt.Errorf("task %q: %w", id, err)
		}
		for _, ik := range h.entry.keys() {
			if bytes.Equal(ik, k) {
				return nil
			}
		}
		return fmt.Errorf("index key %x is stale: task %q's entry is %+v", k, id, h.entry)
	})
	if err != nil {
		return err
	}
	if indexKeys != 4*tasks {
		return fmt.Errorf("index holds %d keys for %d tasks, want %d", indexKeys, tasks, 4*tasks)
	}

	// Counters equal the index.
	err = b.counts.ForEach(func(k, v []byte) error {
		n, err := getU64(v)
		if err != nil {
			return fmt.Errorf("counter %x: %w", k, err)
		}
		if want := wantCounts[string(k)]; n != want {
			return fmt.Errorf("counter %x is %d, the tasks say %d", k, n, want)
		}
		delete(wantCounts, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for k, n := range wantCounts {
		return fmt.Errorf("counter %x is missing, the tasks say %d", k, n)
	}

	// Events belong to tasks and are in the log.
	err = b.events.ForEach(func(k, v []byte) error {
		ev, err := decodeEvent(k, v)
		if err != nil {
			return err
		}
		last, ok := lastSeq[ev.TaskID]
		if !ok {
			return fmt.Errorf("event %d belongs to a missing task %q", ev.Seq, ev.TaskID)
		}
		if ev.Seq > last {
			return fmt.Errorf("event %d of task %q is after the task's last seq %d", ev.Seq, ev.TaskID, last)
		}
		if ev.Cursor > maxCursor {
			return fmt.Errorf("event %d of task %q has cursor %d above the meta cursor %d", ev.Seq, ev.TaskID, ev.Cursor, maxCursor)
		}
		if ref := b.log.Get(logKey(ev.Cursor)); !bytes.Equal(ref, k) {
			return fmt.Errorf("event %d of task %q: log entry %d points at %x", ev.Seq, ev.TaskID, ev.Cursor, ref)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Log entries point at events that point back.
	err = b.log.ForEach(func(k, ref []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("log key %x is not a cursor", k)
		}
		v := b.events.Get(ref)
		if v == nil {
			return fmt.Errorf("log entry %x points at a missing event %x", k, ref)
		}
		cursor, _, err := decodeEventHeader(v)
		if err != nil {
			return fmt.Errorf("event %x: %w", ref, err)
		}
		if !bytes.Equal(logKey(cursor), k) {
			return fmt.Errorf("log entry %x points at event %x whose cursor is %d", k, ref, cursor)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Message ids name stored tasks, both ways.
	return b.messages.ForEach(func(k, v []byte) error {
		switch {
		case len(k) > 0 && k[0] == msgByID:
			if _, ok := lastSeq[string(v)]; !ok {
				return fmt.Errorf("message %q names a missing task %q", k[1:], v)
			}
			if _, found := seekExact(b.messages, messageTaskKey(string(v), string(k[1:]))); !found {
				return fmt.Errorf("message %q: reverse entry of task %q is missing", k[1:], v)
			}
		case len(k) > 0 && k[0] == msgByTask:
			id, _, err := readLP(k[1:])
			if err != nil {
				return fmt.Errorf("message key %x: %w", k, err)
			}
			if _, ok := lastSeq[id]; !ok {
				return fmt.Errorf("message key %x names a missing task %q", k, id)
			}
		default:
			return fmt.Errorf("message key %x has an unknown family", k)
		}
		return nil
	})
}

// seekExact reports whether k is in the bucket, whatever its value (Get
// cannot tell an empty value from a missing key in every case).
func seekExact(b *bolt.Bucket, k []byte) ([]byte, bool) {
	fk, v := b.Cursor().Seek(k)
	return v, bytes.Equal(fk, k)
}

// indexKeyTask parses the task id out of any index key.
func indexKeyTask(k []byte) (string, error) {
	if len(k) == 0 {
		return "", errShortKey
	}
	rest := k[1:]
	var err error
	switch k[0] {
	case famAll:
	case famState, famContext:
		_, rest, err = readLP(rest)
	case famContextState:
		if _, rest, err = readLP(rest); err == nil {
			_, rest, err = readLP(rest)
		}
	default:
		return "", fmt.Errorf("unknown family %q", k[0])
	}
	if err != nil {
		return "", err
	}
	_, id, err := splitIndexTail(rest)
	return id, err
}
