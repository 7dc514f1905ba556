package localstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkInvariants verifies what layout.go promises, reading every key.
func checkInvariants(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("bucket %q is missing", name)
		}
	}
	b := buckets(tx)
	maxCursor, err := getU64(b.meta.Get(metaCursor))
	if err != nil {
		return fmt.Errorf("meta cursor: %w", err)
	}

	// Tasks: each decodes, and its index entries exist. eventCursor maps
	// every stored event (inline or spilled) to its task and seq.
	type eventRef struct {
		id  string
		seq uint64
	}
	eventAt := map[uint64]eventRef{}
	wantCounts := map[string]uint64{}
	tasks := 0
	owned := map[string]string{} // message id → the task that lists it
	spilled := map[string]bool{}
	lastSeq := map[string]uint64{}
	addEvent := func(id string, seq, cursor uint64) error {
		if cursor == 0 || cursor > maxCursor {
			return fmt.Errorf("event %d of task %q has cursor %d, outside 1..%d (the meta cursor)", seq, id, cursor, maxCursor)
		}
		if seq == 0 || seq > lastSeq[id] {
			return fmt.Errorf("event %d of task %q is outside the task's seqs 1..%d", seq, id, lastSeq[id])
		}
		if other, dup := eventAt[cursor]; dup {
			return fmt.Errorf("cursor %d is used by event %d of task %q and event %d of task %q", cursor, other.seq, other.id, seq, id)
		}
		eventAt[cursor] = eventRef{id, seq}
		return nil
	}
	err = b.tasks.ForEach(func(k, v []byte) error {
		id, rest, err := readID(k)
		if err != nil || len(rest) != 0 {
			return fmt.Errorf("task key %x is not an id", k)
		}
		rec, err := decodeRecord(id, v)
		if err != nil {
			return err
		}
		d, err := decodeFull(id, v)
		if err != nil {
			return fmt.Errorf("task %q: %w", id, err)
		}
		if !d.entry.same(entryOf(rec)) {
			return fmt.Errorf("task %q: its header's index entry %+v differs from its task's %+v", id, d.entry, entryOf(rec))
		}
		for _, ik := range d.entry.keys() {
			if _, found := seekExact(b.index, ik); !found {
				return fmt.Errorf("task %q: index key %x is missing", id, ik)
			}
		}
		for _, ck := range d.entry.counterKeys() {
			wantCounts[string(ck)]++
		}
		for _, m := range d.messages {
			if other, dup := owned[m]; dup {
				return fmt.Errorf("message %q is listed by tasks %q and %q", m, other, id)
			}
			owned[m] = id
		}
		lastSeq[id] = d.lastSeq
		if d.spilled {
			if len(d.inline) != 0 {
				return fmt.Errorf("task %q is spilled but keeps %d events inline", id, len(d.inline))
			}
			spilled[id] = true
		}
		if _, err := d.inlineEvents(id); err != nil {
			return err
		}
		var prev uint64
		for _, m := range d.inline {
			if m.seq <= prev {
				return fmt.Errorf("task %q: inline events out of order", id)
			}
			prev = m.seq
			if err := addEvent(id, m.seq, m.cursor); err != nil {
				return err
			}
		}
		tasks++
		return nil
	})
	if err != nil {
		return err
	}

	// Spilled events belong to spilled tasks.
	err = b.events.ForEach(func(k, v []byte) error {
		ev, err := decodeEvent(k, v)
		if err != nil {
			return err
		}
		if !spilled[ev.TaskID] {
			return fmt.Errorf("event %d of task %q is in the events bucket, but the task is missing or keeps its events inline", ev.Seq, ev.TaskID)
		}
		return addEvent(ev.TaskID, ev.Seq, ev.Cursor)
	})
	if err != nil {
		return err
	}

	// Index: every key belongs to a stored task's entry; counters equal
	// the index; message ids name the task that lists them.
	indexKeys := 0
	err = b.index.ForEach(func(k, v []byte) error {
		if len(k) == 0 {
			return fmt.Errorf("empty index key")
		}
		switch k[0] {
		case famCount:
			n, err := getCount(v)
			if err != nil {
				return fmt.Errorf("counter %x: %w", k, err)
			}
			if want := wantCounts[string(k)]; n != want {
				return fmt.Errorf("counter %x is %d, the tasks say %d", k, n, want)
			}
			delete(wantCounts, string(k))
			return nil
		case famMessage:
			m, rest, err := readID(k[1:])
			if err != nil || len(rest) != 0 {
				return fmt.Errorf("message key %x is not an id", k)
			}
			id, rest, err := readID(v)
			if err != nil || len(rest) != 0 {
				return fmt.Errorf("message %q: its task %x is not an id", m, v)
			}
			if owned[m] != id {
				return fmt.Errorf("message %q names task %q, which does not list it", m, id)
			}
			delete(owned, m)
			return nil
		}
		indexKeys++
		id, err := indexKeyTask(k)
		if err != nil {
			return fmt.Errorf("index key %x: %w", k, err)
		}
		tv := b.tasks.Get(idKey(id))
		if tv == nil {
			return fmt.Errorf("index key %x names a missing task %q", k, id)
		}
		h, _, err := decodeHeader(id, tv)
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
	if indexKeys != indexFamilies*tasks {
		return fmt.Errorf("index holds %d keys for %d tasks, want %d", indexKeys, tasks, indexFamilies*tasks)
	}
	for k, n := range wantCounts {
		return fmt.Errorf("counter %x is missing, the tasks say %d", k, n)
	}
	for m, id := range owned {
		return fmt.Errorf("task %q lists message %q, whose index entry is missing", id, m)
	}

	// Log entries cover every event once, each at its cursor.
	err = b.log.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("log key %x is not a cursor", k)
		}
		first := binary.BigEndian.Uint64(k)
		id, seq, n, err := splitLogValue(v)
		if err != nil {
			return fmt.Errorf("log entry %d: %w", first, err)
		}
		for i := range uint64(n) {
			ref, ok := eventAt[first+i]
			if !ok || ref.id != id || ref.seq != seq+i {
				return fmt.Errorf("log entry %d: cursor %d should be event %d of task %q, the tasks say %+v", first, first+i, seq+i, id, ref)
			}
			delete(eventAt, first+i)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for cursor, ref := range eventAt {
		return fmt.Errorf("event %d of task %q (cursor %d) is in no log entry", ref.seq, ref.id, cursor)
	}
	return nil
}

// seekExact reports whether k is in the bucket, whatever its value (Get
// cannot tell an empty value from a missing key in every case).
func seekExact(b *bolt.Bucket, k []byte) ([]byte, bool) {
	fk, v := b.Cursor().Seek(k)
	return v, bytes.Equal(fk, k)
}

// indexKeyTask parses the task id out of any key of the index families.
func indexKeyTask(k []byte) (string, error) {
	if len(k) == 0 {
		return "", errShortKey
	}
	rest := k[1:]
	var err error
	switch k[0] {
	case famAll:
	case famState:
		if len(rest) == 0 {
			return "", errShortKey
		}
		rest = rest[1:]
	case famContext:
		_, rest, err = readID(rest)
	default:
		return "", fmt.Errorf("unknown family %q", k[0])
	}
	if err != nil {
		return "", err
	}
	_, id, err := splitIndexTail(rest)
	return id, err
}
