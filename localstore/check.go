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
	c := &checker{b: buckets(tx), eventAt: map[uint64]eventRef{}, wantCounts: map[string]uint64{},
		owned: map[string]string{}, spilled: map[string]bool{}, lastSeq: map[string]uint64{}}
	var err error
	if c.maxCursor, err = getU64(c.b.meta.Get(metaCursor)); err != nil {
		return fmt.Errorf("meta cursor: %w", err)
	}
	// Tasks first: what they say is what the other buckets are held to.
	if err := c.b.tasks.ForEach(c.task); err != nil {
		return err
	}
	if err := c.b.events.ForEach(c.spilledEvent); err != nil {
		return err
	}
	if err := c.b.index.ForEach(c.indexKey); err != nil {
		return err
	}
	if c.indexKeys != indexFamilies*c.tasks {
		return fmt.Errorf("index holds %d keys for %d tasks, want %d", c.indexKeys, c.tasks, indexFamilies*c.tasks)
	}
	for k, n := range c.wantCounts {
		return fmt.Errorf("counter %x is missing, the tasks say %d", k, n)
	}
	for m, id := range c.owned {
		return fmt.Errorf("task %q lists message %q, whose index entry is missing", id, m)
	}
	if err := c.b.log.ForEach(c.logEntry); err != nil {
		return err
	}
	for cursor, ref := range c.eventAt {
		return fmt.Errorf("event %d of task %q (cursor %d) is in no log entry", ref.seq, ref.id, cursor)
	}
	return nil
}

// eventRef names a stored event.
type eventRef struct {
	id  string
	seq uint64
}

// checker is one checkInvariants walk: what the tasks said, checked off
// as the other buckets are read.
type checker struct {
	b         txBuckets
	maxCursor uint64
	// eventAt maps every stored event (inline or spilled) to its task and
	// seq; log entries check each off.
	eventAt    map[uint64]eventRef
	wantCounts map[string]uint64 // counter key → tasks counted there
	owned      map[string]string // message id → the task that lists it
	spilled    map[string]bool
	lastSeq    map[string]uint64
	tasks      int
	indexKeys  int // keys of the index families, counters and messages aside
}

// addEvent notes an event at its cursor, once.
func (c *checker) addEvent(id string, seq, cursor uint64) error {
	if cursor == 0 || cursor > c.maxCursor {
		return fmt.Errorf("event %d of task %q has cursor %d, outside 1..%d (the meta cursor)", seq, id, cursor, c.maxCursor)
	}
	if seq == 0 || seq > c.lastSeq[id] {
		return fmt.Errorf("event %d of task %q is outside the task's seqs 1..%d", seq, id, c.lastSeq[id])
	}
	if other, dup := c.eventAt[cursor]; dup {
		return fmt.Errorf("cursor %d is used by event %d of task %q and event %d of task %q", cursor, other.seq, other.id, seq, id)
	}
	c.eventAt[cursor] = eventRef{id, seq}
	return nil
}

// task checks one task: it decodes, and its index entries exist; it notes
// its counters, messages and events.
func (c *checker) task(k, v []byte) error {
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
		if _, found := seekExact(c.b.index.Bucket, ik); !found {
			return fmt.Errorf("task %q: index key %x is missing", id, ik)
		}
	}
	for _, ck := range d.entry.counterKeys() {
		c.wantCounts[string(ck)]++
	}
	for _, m := range d.messages {
		if other, dup := c.owned[m]; dup {
			return fmt.Errorf("message %q is listed by tasks %q and %q", m, other, id)
		}
		c.owned[m] = id
	}
	c.lastSeq[id] = d.lastSeq
	if d.spilled {
		if len(d.inline) != 0 {
			return fmt.Errorf("task %q is spilled but keeps %d events inline", id, len(d.inline))
		}
		c.spilled[id] = true
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
		if err := c.addEvent(id, m.seq, m.cursor); err != nil {
			return err
		}
	}
	c.tasks++
	return nil
}

// spilledEvent checks that an event of the events bucket belongs to a
// spilled task.
func (c *checker) spilledEvent(k, v []byte) error {
	ev, err := decodeEvent(k, v)
	if err != nil {
		return err
	}
	if !c.spilled[ev.TaskID] {
		return fmt.Errorf("event %d of task %q is in the events bucket, but the task is missing or keeps its events inline", ev.Seq, ev.TaskID)
	}
	return c.addEvent(ev.TaskID, ev.Seq, ev.Cursor)
}

// indexKey checks one index key: every key belongs to a stored task's
// entry; counters equal the tasks; message ids name the task that lists
// them.
func (c *checker) indexKey(k, v []byte) error {
	if len(k) == 0 {
		return fmt.Errorf("empty index key")
	}
	switch k[0] {
	case famCount:
		n, err := getCount(v)
		if err != nil {
			return fmt.Errorf("counter %x: %w", k, err)
		}
		if want := c.wantCounts[string(k)]; n != want {
			return fmt.Errorf("counter %x is %d, the tasks say %d", k, n, want)
		}
		delete(c.wantCounts, string(k))
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
		if c.owned[m] != id {
			return fmt.Errorf("message %q names task %q, which does not list it", m, id)
		}
		delete(c.owned, m)
		return nil
	}
	c.indexKeys++
	id, err := indexKeyTask(k)
	if err != nil {
		return fmt.Errorf("index key %x: %w", k, err)
	}
	tv := c.b.tasks.Get(idKey(id))
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
}

// logEntry checks that a log entry covers events at their cursors, each
// once.
func (c *checker) logEntry(k, v []byte) error {
	if len(k) != 8 {
		return fmt.Errorf("log key %x is not a cursor", k)
	}
	first := binary.BigEndian.Uint64(k)
	id, seq, n, err := splitLogValue(v)
	if err != nil {
		return fmt.Errorf("log entry %d: %w", first, err)
	}
	for i := range uint64(n) {
		ref, ok := c.eventAt[first+i]
		if !ok || ref.id != id || ref.seq != seq+i {
			return fmt.Errorf("log entry %d: cursor %d should be event %d of task %q, the tasks say %+v", first, first+i, seq+i, id, ref)
		}
		delete(c.eventAt, first+i)
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
