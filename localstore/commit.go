package localstore

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Group commit. One writer goroutine owns every write transaction. It takes
// a commit request, then every request already waiting, applies them all in
// one transaction and answers each after the fsync. A lone committer thus
// waits for its own fsync only, and committers that arrive during an fsync
// share the next one.
//
// bolt.DB.Batch would group too, but it holds a batch open for
// MaxBatchDelay (10 ms by default) unless MaxBatchSize calls arrive, which
// caps a single committer at about 100 commits/s; BenchmarkCommit compares
// the two.
//
// A request's apply function may run more than once: when one request of
// a group fails, the transaction is rolled back and the others are applied
// again without it (bolt.DB.Batch does the same). apply therefore has no
// effect outside the transaction: everything is encoded before, and the
// in-transaction work derives from what the transaction reads.

// maxGroup bounds the requests applied in one transaction, and
// maxGroupBytes the bytes they write, so that one transaction's dirty
// pages stay small.
const (
	maxGroup      = 512
	maxGroupBytes = 32 << 20
)

type commitRequest struct {
	// prepared is the commit, encoded and validated.
	prepared *prepared
	done     chan error
}

// prepared is a commit ready to apply: every value is encoded.
type prepared struct {
	id       string
	record   []byte
	entry    indexEntry
	lastSeq  uint64
	events   []preparedEvent
	messages []string
	// maxCursor is the highest cursor among the events (0 without events).
	maxCursor uint64
	size      int
}

type preparedEvent struct {
	key, value []byte
	cursor     uint64
	seq        uint64
}

// Commit stores the commit durably (unless Options.NoSync) before it
// returns. It is validated first: a commit whose task has no id, whose state
// is not one of a2a.States, whose id, context id or message ids are not
// valid UTF-8, whose events do not
// belong to its task or cannot be encoded, or whose sequence numbers or
// cursors are zero, repeated or not increasing, is refused with an error
// wrapping a2a.ErrInvalidParams and nothing is stored. An event sequence
// number or cursor that is already stored is refused the same way.
//
// ctx bounds the wait for the writer; once the commit is handed over it is
// carried out and Commit waits for its result.
func (s *Store) Commit(ctx context.Context, c *engine.Commit) error {
	p, err := prepare(c)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.viaBoltBatch {
		return s.commitViaBatch(p)
	}
	req := &commitRequest{prepared: p, done: make(chan error, 1)}
	select {
	case s.commits <- req:
	case <-s.closing:
		return fmt.Errorf("commit task %q: %w", p.id, ErrClosed)
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

func prepare(c *engine.Commit) (*prepared, error) {
	if c == nil || c.Record == nil || c.Record.Task == nil {
		return nil, fmt.Errorf("commit: %w: no task record", a2a.ErrInvalidParams)
	}
	r := c.Record
	id := r.Task.ID
	if id == "" {
		return nil, fmt.Errorf("commit: %w: the task has no id", a2a.ErrInvalidParams)
	}
	// Keys are built from these strings and the stored task must decode to
	// the same ones, which JSON guarantees only for valid UTF-8.
	for _, f := range []struct{ name, value string }{{"id", id}, {"context id", r.Task.ContextID}, {"state", string(r.Task.Status.State)}} {
		if !utf8.ValidString(f.value) {
			return nil, fmt.Errorf("commit task %q: %w: the task's %s is not valid UTF-8", id, a2a.ErrInvalidParams, f.name)
		}
	}
	// The codec keeps the named states only (others decode as unknown), and
	// the index must hold the state the stored task gives back.
	if st := r.Task.Status.State; a2a.ParseState(string(st)) != st {
		return nil, fmt.Errorf("commit task %q: %w: %q is not a task state", id, a2a.ErrInvalidParams, st)
	}
	record, err := encodeRecord(r)
	if err != nil {
		return nil, fmt.Errorf("commit task %q: %w: %v", id, a2a.ErrInvalidParams, err)
	}
	p := &prepared{id: id, record: record, entry: entryOf(r), lastSeq: r.LastSeq, size: len(record)}
	var prevSeq, prevCursor uint64
	for i, ev := range c.Events {
		if ev.TaskID != "" && ev.TaskID != id {
			return nil, fmt.Errorf("commit task %q: %w: event %d belongs to task %q", id, a2a.ErrInvalidParams, i, ev.TaskID)
		}
		if ev.Seq == 0 || ev.Seq <= prevSeq || ev.Cursor == 0 || ev.Cursor <= prevCursor {
			return nil, fmt.Errorf("commit task %q: %w: event %d has seq %d and cursor %d; both must start at 1 and increase", id, a2a.ErrInvalidParams, i, ev.Seq, ev.Cursor)
		}
		prevSeq, prevCursor = ev.Seq, ev.Cursor
		ev.TaskID = id
		value, err := encodeEvent(ev)
		if err != nil {
			return nil, fmt.Errorf("commit task %q: %w: %v", id, a2a.ErrInvalidParams, err)
		}
		p.events = append(p.events, preparedEvent{key: eventKey(id, ev.Seq), value: value, cursor: ev.Cursor, seq: ev.Seq})
		p.size += len(value)
	}
	if prevSeq > r.LastSeq {
		return nil, fmt.Errorf("commit task %q: %w: the record's LastSeq %d is below its event seq %d", id, a2a.ErrInvalidParams, r.LastSeq, prevSeq)
	}
	p.maxCursor = prevCursor
	for _, m := range c.MessageIDs {
		if m != "" {
			if !utf8.ValidString(m) {
				return nil, fmt.Errorf("commit task %q: %w: message id %q is not valid UTF-8", id, a2a.ErrInvalidParams, m)
			}
			p.messages = append(p.messages, m)
		}
	}
	return p, nil
}

// releaseEvery is the least time between two drops of the file's pages by
// the writer (see writer).
const releaseEvery = time.Second

// writer applies commit requests in groups until the store closes.
//
// Every commit reads the pages on the paths to the keys it changes, and
// bbolt writes changed pages to new places (copy on write, reusing freed
// pages anywhere in the file), so over many commits the pages a commit
// touched cover the whole file, and the mapped file would stay resident in
// full: the process's RSS would grow with the number of stored tasks. At
// most once per releaseEvery, and once more releaseEvery after the last
// commit, the writer drops the mapping's pages (see dropPages): the few in
// use fault back in from the page cache, and the resident set stays the
// working set. Pages that reads touched go with them.
func (s *Store) writer() {
	defer close(s.writerDone)
	lastRelease := time.Now()
	// release is armed while pages written since the last release may be
	// resident, so that they are dropped also when the commits stop.
	release := time.NewTimer(releaseEvery)
	release.Stop()
	defer release.Stop()
	armed := false
	for {
		var first *commitRequest
		select {
		case first = <-s.commits:
		case <-release.C:
			armed = false
			lastRelease = time.Now()
			s.releasePages()
			continue
		case <-s.closing:
			return
		}
		group := []*commitRequest{first}
		size := first.prepared.size
	gather:
		for len(group) < maxGroup && size < maxGroupBytes {
			select {
			case req := <-s.commits:
				group = append(group, req)
				size += req.prepared.size
			default:
				break gather
			}
		}
		s.applyGroup(group)
		if since := time.Since(lastRelease); since >= releaseEvery {
			if armed && !release.Stop() {
				<-release.C
			}
			armed = false
			lastRelease = time.Now()
			s.releasePages()
		} else if !armed {
			armed = true
			release.Reset(releaseEvery - since)
		}
	}
}

// applyGroup applies the requests in one transaction and answers each. A
// request whose apply fails is answered with its error and the rest are
// retried without it.
func (s *Store) applyGroup(group []*commitRequest) {
	for len(group) > 0 {
		failed := -1
		err := s.update(func(tx *bolt.Tx) error {
			for i, req := range group {
				if err := apply(tx, req.prepared); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if err == nil || failed < 0 {
			for _, req := range group {
				req.done <- err
			}
			return
		}
		group[failed].done <- err
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// update runs a write transaction, guarded against damaged files.
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer guard(&err, s.path)()
	return s.db.Update(fn)
}

// commitViaBatch is Commit through bolt.DB.Batch, for the benchmark that
// compares it with the writer.
func (s *Store) commitViaBatch(p *prepared) error {
	err := s.db.Batch(func(tx *bolt.Tx) error { return apply(tx, p) })
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// apply writes one prepared commit. Invariants kept: the index and the
// counters hold exactly the entry of the stored version of each task; the
// meta cursor is at least every stored cursor.
func apply(tx *bolt.Tx, p *prepared) error {
	b := buckets(tx)
	old := b.tasks.Get([]byte(p.id))
	var oldEntry *indexEntry
	if old != nil {
		h, _, err := decodeHeader(p.id, old)
		if err != nil {
			return fmt.Errorf("commit task %q: corrupt stored record: %w", p.id, err)
		}
		if len(p.events) > 0 && p.events[0].seq <= h.lastSeq {
			return fmt.Errorf("commit task %q: %w: event seq %d is not after the stored last seq %d", p.id, a2a.ErrInvalidParams, p.events[0].seq, h.lastSeq)
		}
		oldEntry = &h.entry
	}
	if err := b.tasks.Put([]byte(p.id), p.record); err != nil {
		return fmt.Errorf("commit task %q: %w", p.id, err)
	}
	if oldEntry == nil || !oldEntry.same(p.entry) {
		if oldEntry != nil {
			if err := removeEntry(b, *oldEntry); err != nil {
				return fmt.Errorf("commit task %q: %w", p.id, err)
			}
		}
		if err := addEntry(b, p.entry); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
	}
	for _, ev := range p.events {
		if b.events.Get(ev.key) != nil {
			return fmt.Errorf("commit task %q: %w: event seq %d is already stored", p.id, a2a.ErrInvalidParams, ev.seq)
		}
		lk := logKey(ev.cursor)
		if b.log.Get(lk) != nil {
			return fmt.Errorf("commit task %q: %w: cursor %d is already used", p.id, a2a.ErrInvalidParams, ev.cursor)
		}
		if err := b.events.Put(ev.key, ev.value); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
		if err := b.log.Put(lk, logValue(p.id, ev.seq)); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
	}
	if p.maxCursor > 0 {
		cur, err := getU64(b.meta.Get(metaCursor))
		if err != nil {
			return fmt.Errorf("commit task %q: meta cursor: %w", p.id, err)
		}
		if p.maxCursor > cur {
			if err := b.meta.Put(metaCursor, appendU64(nil, p.maxCursor)); err != nil {
				return fmt.Errorf("commit task %q: %w", p.id, err)
			}
		}
	}
	for _, m := range p.messages {
		// The first task a message id reached keeps it: a resent message
		// must find the task it created.
		k := messageKey(m)
		if b.messages.Get(k) != nil {
			continue
		}
		if err := b.messages.Put(k, []byte(p.id)); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
		if err := b.messages.Put(messageTaskKey(p.id, m), nil); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
	}
	return nil
}

// tx's top-level buckets; Open checked that they exist.
type txBuckets struct {
	meta, tasks, events, log, index, counts, messages *bolt.Bucket
}

func buckets(tx *bolt.Tx) txBuckets {
	b := txBuckets{
		meta:     tx.Bucket(bucketMeta),
		tasks:    tx.Bucket(bucketTasks),
		events:   tx.Bucket(bucketEvents),
		log:      tx.Bucket(bucketLog),
		index:    tx.Bucket(bucketIndex),
		counts:   tx.Bucket(bucketCounts),
		messages: tx.Bucket(bucketMessages),
	}
	// Writes mostly append: cursors grow, task ids are time-ordered UUIDs,
	// index keys grow with time within their family. bbolt splits a full
	// page at FillPercent (default half), which leaves appended-to pages
	// half empty forever; filling them further roughly halves the file.
	b.log.FillPercent = 1.0
	b.tasks.FillPercent = fillPercent
	b.events.FillPercent = fillPercent
	b.index.FillPercent = fillPercent
	b.messages.FillPercent = fillPercent
	return b
}

// fillPercent is the split threshold of the buckets that are appended to
// mostly but also updated in place.
const fillPercent = 0.9

func addEntry(b txBuckets, e indexEntry) error {
	for _, k := range e.keys() {
		if err := b.index.Put(k, nil); err != nil {
			return err
		}
	}
	for _, k := range e.counterKeys() {
		if err := addCount(b.counts, k, 1); err != nil {
			return err
		}
	}
	return nil
}

func removeEntry(b txBuckets, e indexEntry) error {
	for _, k := range e.keys() {
		if err := b.index.Delete(k); err != nil {
			return err
		}
	}
	for _, k := range e.counterKeys() {
		if err := addCount(b.counts, k, -1); err != nil {
			return err
		}
	}
	return nil
}

// addCount adds delta to a counter; a counter that reaches zero is deleted
// so that contexts and states that no longer have tasks leave no keys.
func addCount(counts *bolt.Bucket, k []byte, delta int64) error {
	var n uint64
	if v := counts.Get(k); v != nil {
		var err error
		if n, err = getU64(v); err != nil {
			return fmt.Errorf("counter %x: %w", k, err)
		}
	}
	if delta < 0 && n < uint64(-delta) {
		return fmt.Errorf("counter %x would go below zero (the file is damaged)", k)
	}
	n = uint64(int64(n) + delta)
	if n == 0 {
		return counts.Delete(k)
	}
	return counts.Put(k, appendU64(nil, n))
}
