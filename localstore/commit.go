package localstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/a2atop/a2atop/internal/taskcodec"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// Group commit. One writer goroutine owns every write transaction. It takes
// a commit request, then every request already waiting, applies them all in
// one transaction and answers each after the fsync. A lone committer thus
// waits for its own fsync only, and committers that arrive during an fsync
// share the next one.
//
// bolt.DB.Batch would group too, but it holds a batch open for
// MaxBatchDelay (10 ms by default) unless MaxBatchSize calls arrive, which
// caps a single committer at about 100 commits/s (measured when
// BenchmarkCommit compared the two: the comparison is gone with the code).
//
// A group costs one fdatasync, of its record in the redo log (redo.go);
// bbolt itself commits without syncing. Measured with BenchmarkEchoTaskBytes
// and strace before the log: bbolt's two fdatasyncs per commit (the pages,
// then the meta page) with its write lock held, 2.0 per blocking echo send
// at concurrency 1. Sweep's transactions go through the writer too, so
// that the log holds every change since its checkpoint.
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
	// write, when set instead of prepared, is a write transaction of its
	// own (Sweep's), applied alone.
	write func(txBuckets) error
	done  chan error
}

// prepared is a commit ready to apply: the task and every event encoded.
// What depends on the stored version of the task (the record's inline
// events, its message ids) is completed by apply.
type prepared struct {
	id     string
	header header
	task   []byte
	events []preparedEvent
	// runs are the log entries of the events (see layout.go).
	runs     []logRun
	messages []string
	// fresh is the record value when the task is new and every message id
	// is unclaimed (the common case, encoded outside the transaction);
	// nil when the events do not fit inline.
	fresh []byte
	// base and updated, when both are set: the stored record this commit
	// was encoded against and the record after it (see Store.encodeUpdate),
	// used by apply when the stored record is still base.
	base, updated []byte
	// maxCursor is the highest cursor among the events (0 without events).
	maxCursor uint64
	size      int
}

type preparedEvent struct {
	body   []byte // codec byte + JSON
	cursor uint64
	seq    uint64
	time   time.Time
}

// logRun is a run of a commit's events whose cursors and seqs both step
// by one: one log entry.
type logRun struct {
	cursor, seq uint64
	n           int
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
	if !p.creates() {
		s.encodeUpdate(p)
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
	task, err := taskcodec.EncodeTask(r.Task)
	if err != nil {
		return nil, fmt.Errorf("commit task %q: %w: encode task: %v", id, a2a.ErrInvalidParams, err)
	}
	p := &prepared{id: id, header: headerOf(r), task: task, size: len(task)}
	var prevSeq, prevCursor uint64
	for i, ev := range c.Events {
		if ev.TaskID != "" && ev.TaskID != id {
			return nil, fmt.Errorf("commit task %q: %w: event %d belongs to task %q", id, a2a.ErrInvalidParams, i, ev.TaskID)
		}
		if ev.Seq == 0 || ev.Seq <= prevSeq || ev.Cursor == 0 || ev.Cursor <= prevCursor {
			return nil, fmt.Errorf("commit task %q: %w: event %d has seq %d and cursor %d; both must start at 1 and increase", id, a2a.ErrInvalidParams, i, ev.Seq, ev.Cursor)
		}
		if n := len(p.runs); n > 0 && p.runs[n-1].cursor+uint64(p.runs[n-1].n) == ev.Cursor && p.runs[n-1].seq+uint64(p.runs[n-1].n) == ev.Seq {
			p.runs[n-1].n++
		} else {
			p.runs = append(p.runs, logRun{cursor: ev.Cursor, seq: ev.Seq, n: 1})
		}
		prevSeq, prevCursor = ev.Seq, ev.Cursor
		body, err := taskcodec.EncodeEvent(ev.Event)
		if err != nil {
			return nil, fmt.Errorf("commit task %q: %w: encode event %d: %v", id, a2a.ErrInvalidParams, ev.Seq, err)
		}
		p.events = append(p.events, preparedEvent{body: body, cursor: ev.Cursor, seq: ev.Seq, time: ev.Time})
		p.size += len(body)
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
			if !slices.Contains(p.messages, m) {
				p.messages = append(p.messages, m)
			}
		}
	}
	if p.creates() {
		p.encodeFresh()
	}
	return p, nil
}

// encodeFresh sets p.fresh, the record of a new task whose message ids are
// all unclaimed, unless its events do not fit inline.
func (p *prepared) encodeFresh() {
	h := p.header
	h.messages = p.messages
	if value, ok := inlineRecord(p, h, nil); ok {
		p.fresh = value
	}
}

// creates reports whether the commit is a task's first: its events start
// at seq 1. Only then is fresh worth encoding; a later commit of a task
// replaces a stored record (see encodeUpdate).
func (p *prepared) creates() bool {
	return len(p.events) > 0 && p.events[0].seq == 1
}

// encodeUpdate encodes the record p makes of the stored one, in the
// committing goroutine: inflating the stored body and compressing the new
// one would otherwise run in the writer, one commit after another
// (measured with BenchmarkCommitStreamed). The engine commits a task from
// one goroutine at a time, so the stored record rarely changes before
// apply; apply uses the result only if it has not (base) and every message
// id of p is unclaimed, and otherwise encodes the record itself. Nothing is
// set when the record must spill or cannot be read here: apply decides.
func (s *Store) encodeUpdate(p *prepared) {
	var base []byte
	if err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketTasks).Get(idKey(p.id)); v != nil {
			base = slices.Clone(v)
		}
		return nil
	}); err != nil {
		return
	}
	if base == nil {
		// Not stored yet (a task's first commit need not start at seq 1).
		p.encodeFresh()
		return
	}
	old, err := decodeFull(p.id, base)
	if err != nil || old.spilled {
		return
	}
	h := p.header
	h.messages = slices.Clone(old.messages)
	for _, m := range p.messages {
		if !slices.Contains(h.messages, m) {
			h.messages = append(h.messages, m)
		}
	}
	if value, ok := inlineRecord(p, h, old); ok {
		p.base, p.updated = base, value
	}
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
	// held is a write taken while gathering a group, applied next.
	var held *commitRequest
	for {
		first := held
		held = nil
		if first == nil {
			select {
			case first = <-s.commits:
			case <-release.C:
				armed = false
				lastRelease = time.Now()
				s.releasePages()
				s.idleCheckpoint()
				continue
			case <-s.closing:
				return
			}
		}
		if first.write != nil {
			first.done <- s.update(first.write)
		} else {
			s.applyGroup(s.gather(first, &held))
		}
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

// gather returns a group of commits: first and those already waiting. A
// write met on the way is left in held.
func (s *Store) gather(first *commitRequest, held **commitRequest) []*commitRequest {
	group := []*commitRequest{first}
	size := first.prepared.size
	for len(group) < maxGroup && size < maxGroupBytes {
		select {
		case req := <-s.commits:
			if req.write != nil {
				*held = req
				return group
			}
			group = append(group, req)
			size += req.prepared.size
		default:
			return group
		}
	}
	return group
}

// idleCheckpoint checkpoints a store that has stopped writing, so that its
// log is empty and its checkpoint's pages free again while it idles.
func (s *Store) idleCheckpoint() {
	if s.redo != nil && s.broken == nil && s.redo.off > redoRecordsAt {
		if err := s.checkpoint(); err != nil {
			_ = s.breaks(err)
		}
	}
}

// applyGroup applies the requests in one transaction and answers each. A
// request whose apply fails is answered with its error and the rest are
// retried without it.
func (s *Store) applyGroup(group []*commitRequest) {
	for len(group) > 0 {
		failed := -1
		err := s.update(func(b txBuckets) error {
			for i, req := range group {
				if err := apply(b, req.prepared); err != nil {
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

// update runs a write transaction in the writer and makes it durable:
// bbolt syncs it, or (redo mode) its record in the redo log is synced. A
// failure of the log breaks the store (see Store.broken).
func (s *Store) update(fn func(txBuckets) error) error {
	if s.broken != nil {
		return s.broken
	}
	if s.redo != nil && s.highWater > int64(s.mappedSize/2) {
		if err := s.leaveRedo(); err != nil {
			return s.breaks(err)
		}
	}
	if s.redo == nil {
		return s.updateTx(func(tx *bolt.Tx) error { return fn(buckets(tx)) })
	}
	s.ops.reset()
	pages, err := s.loggedTx(func(tx *bolt.Tx) error { return fn(recordedBuckets(tx, &s.ops)) })
	if lost := (*logLost)(nil); errors.As(err, &lost) {
		return s.breaks(err)
	}
	if err != nil {
		return err
	}
	if s.pagesSince += pages; s.pagesSince >= checkpointPages || s.redo.off-redoRecordsAt >= checkpointBytes {
		if err := s.checkpoint(); err != nil {
			return s.breaks(err)
		}
	}
	return nil
}

// breaks marks the store broken by err, a failure after a commit reached
// bbolt: the commit may not be on the disk, so nothing after it may be
// acknowledged. Open recovers the file from the log.
func (s *Store) breaks(err error) error {
	s.broken = fmt.Errorf("store %s: %w; restart a2atop", s.path, err)
	return s.broken
}

// logLost is a failure of the redo log after its transaction committed.
type logLost struct{ err error }

func (e *logLost) Error() string { return e.err.Error() }
func (e *logLost) Unwrap() error { return e.err }

// loggedTx runs fn in a bbolt write transaction, writes its record (s.ops)
// to the redo log and commits it, syncing the log meanwhile: bbolt's
// writing of the pages and the sync take about as long (at concurrency 1,
// BenchmarkDiskSync/engine-echo-bbolt), and neither needs the other. A
// record whose transaction then fails to commit is taken back. It returns
// the pages the commit wrote.
func (s *Store) loggedTx(fn func(*bolt.Tx) error) (pages int, err error) {
	defer guard(&err, s.path)()
	tx, err := s.db.Begin(true)
	if err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	s.highWater = tx.Size()
	if err := fn(tx); err != nil {
		return 0, err
	}
	if len(s.ops.buf) == 0 {
		committed = true
		return 0, tx.Commit()
	}
	at := s.redo.off
	if err := s.redo.append(s.ops.buf); err != nil {
		return 0, err
	}
	synced := make(chan error, 1)
	go func() { synced <- s.redo.sync() }()
	committed = true
	cerr := tx.Commit()
	serr := <-synced
	if cerr != nil {
		if err := s.redo.takeBack(at); err != nil {
			return 0, &logLost{fmt.Errorf("%w (and taking its record back: %w)", cerr, err)}
		}
		return 0, cerr
	}
	if serr != nil {
		return 0, &logLost{serr}
	}
	s.synced("redo")
	st := tx.Stats()
	pages = max(int(st.GetWrite()), 1)
	// The file grew by at most the pages written: the high-water mark
	// that leaveRedo is decided by, before the next commit.
	s.highWater += int64(pages) * int64(s.db.Info().PageSize)
	return pages, nil
}

// updateTx runs a bbolt write transaction, guarded against damaged files.
func (s *Store) updateTx(fn func(*bolt.Tx) error) (err error) {
	defer guard(&err, s.path)()
	return s.db.Update(fn)
}

// write runs fn in a write transaction of its own, in the writer.
func (s *Store) write(fn func(txBuckets) error) error {
	req := &commitRequest{write: fn, done: make(chan error, 1)}
	select {
	case s.commits <- req:
	case <-s.closing:
		return ErrClosed
	}
	return <-req.done
}

// apply writes one prepared commit. Invariants kept: the index and the
// counters hold exactly the entry of the stored version of each task; the
// meta cursor is at least every stored cursor; a task's events are either
// all inline in its record or (spilled) all in the events bucket.
func apply(b txBuckets, p *prepared) error {
	key := idKey(p.id)
	oldValue := b.tasks.Get(key)
	// The header first: the body is inflated only if the record must be
	// encoded here (see encodeUpdate).
	var old *decoded
	if oldValue != nil {
		h, _, err := decodeHeader(p.id, oldValue)
		if err != nil {
			return fmt.Errorf("commit task %q: corrupt stored record: %w", p.id, err)
		}
		if len(p.events) > 0 && p.events[0].seq <= h.lastSeq {
			return fmt.Errorf("commit task %q: %w: event seq %d is not after the stored last seq %d", p.id, a2a.ErrInvalidParams, p.events[0].seq, h.lastSeq)
		}
		old = &decoded{header: h}
	}
	for _, r := range p.runs {
		for c := r.cursor; c < r.cursor+uint64(r.n); c++ {
			if cursorUsed(b.log.Bucket, c) {
				return fmt.Errorf("commit task %q: %w: cursor %d is already used", p.id, a2a.ErrInvalidParams, c)
			}
		}
		if err := b.log.Put(logKey(r.cursor), logValue(p.id, r.seq, r.n)); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
	}
	// Message ids: the first task a message id reached keeps it, so that a
	// resent message finds the task it created.
	h := p.header
	if old != nil {
		h.messages = old.messages
	}
	claimedAll := true
	for _, m := range p.messages {
		k := messageKey(m)
		if owner := b.index.Get(k); owner != nil {
			claimedAll = false
			continue
		}
		if err := b.index.Put(k, idKey(p.id)); err != nil {
			return fmt.Errorf("commit task %q: %w", p.id, err)
		}
		if !slices.Contains(h.messages, m) {
			h.messages = append(h.messages, m)
		}
	}
	var value []byte
	switch {
	case old == nil && claimedAll && p.fresh != nil:
		value = p.fresh
	case old != nil && claimedAll && p.updated != nil && bytes.Equal(oldValue, p.base):
		value = p.updated
	default:
		if old != nil {
			var err error
			if old, err = decodeFull(p.id, oldValue); err != nil {
				return fmt.Errorf("commit task %q: corrupt stored record: %w", p.id, err)
			}
		}
		var err error
		if value, err = recordWithEvents(b, p, h, old); err != nil {
			return err
		}
	}
	if err := b.tasks.Put(key, value); err != nil {
		return fmt.Errorf("commit task %q: %w", p.id, err)
	}
	if old == nil || !old.entry.same(h.entry) {
		if old != nil {
			if err := removeEntry(b, old.entry); err != nil {
				return fmt.Errorf("commit task %q: %w", p.id, err)
			}
		}
		if err := addEntry(b, h.entry); err != nil {
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
	return nil
}

// recordWithEvents encodes the record of h after the commit p, keeping the
// task's events inline while they fit and otherwise moving them (the old
// inline ones too) to the events bucket.
func recordWithEvents(b txBuckets, p *prepared, h header, old *decoded) ([]byte, error) {
	spilled := old != nil && old.spilled
	if !spilled {
		if value, ok := inlineRecord(p, h, old); ok {
			return value, nil
		}
	}
	var bodies [][]byte
	if old != nil {
		bodies = append(bodies, old.events...)
	}
	for _, ev := range p.events {
		bodies = append(bodies, ev.body)
	}
	h.inline = nil
	if !spilled {
		if old != nil {
			h.inline = append(h.inline, old.inline...)
		}
		for _, ev := range p.events {
			h.inline = append(h.inline, inlineMeta{seq: ev.seq, cursor: ev.cursor, time: ev.time})
		}
	}
	// Spill: every event not yet in the events bucket goes there.
	h.spilled = true
	put := func(seq, cursor uint64, at time.Time, body []byte) error {
		k := eventKey(p.id, seq)
		if b.events.Get(k) != nil {
			return fmt.Errorf("commit task %q: %w: event seq %d is already stored", p.id, a2a.ErrInvalidParams, seq)
		}
		return b.events.Put(k, encodeSpilledEvent(cursor, at, body))
	}
	if !spilled {
		for i, m := range h.inline {
			if err := put(m.seq, m.cursor, m.time, bodies[i]); err != nil {
				return nil, err
			}
		}
	} else {
		for _, ev := range p.events {
			if err := put(ev.seq, ev.cursor, ev.time, ev.body); err != nil {
				return nil, err
			}
		}
	}
	h.inline = nil
	return encodeRecordValue(h, p.task, nil), nil
}

// inlineRecord encodes the record of h after the commit p with every
// event inline (old's, unless nil, then p's); ok is false when they do not
// fit (the task spills). old must not be spilled.
func inlineRecord(p *prepared, h header, old *decoded) (value []byte, ok bool) {
	h.inline = nil
	var bodies [][]byte
	size := 0
	if old != nil {
		h.inline = append(h.inline, old.inline...)
		bodies = append(bodies, old.events...)
	}
	for _, ev := range p.events {
		h.inline = append(h.inline, inlineMeta{seq: ev.seq, cursor: ev.cursor, time: ev.time})
		bodies = append(bodies, ev.body)
	}
	for _, body := range bodies {
		size += len(body)
	}
	if size > inlineMaxBytes {
		return nil, false
	}
	return encodeRecordValue(h, p.task, bodies), true
}

// cursorUsed reports whether a log entry covers cursor c: the entry at or
// before c, if its run reaches c.
func cursorUsed(log *bolt.Bucket, c uint64) bool {
	cur := log.Cursor()
	k, _ := cur.Seek(logKey(c))
	if k != nil && binary.BigEndian.Uint64(k) == c {
		return true
	}
	var v []byte
	if k == nil {
		k, v = cur.Last()
	} else {
		k, v = cur.Prev()
	}
	if k == nil || len(k) != 8 {
		return false
	}
	_, _, n, err := splitLogValue(v)
	return err == nil && binary.BigEndian.Uint64(k)+uint64(n) > c
}

// tx's top-level buckets; Open checked that they exist.
type txBuckets struct {
	meta, tasks, events, log, index *bucket
}

// buckets returns tx's buckets, not recorded.
func buckets(tx *bolt.Tx) txBuckets { return recordedBuckets(tx, nil) }

// recordedBuckets returns tx's buckets, recording their writes in ops
// (unless nil).
func recordedBuckets(tx *bolt.Tx, ops *opLog) txBuckets {
	b := txBuckets{
		meta:   &bucket{tx.Bucket(bucketMeta), idMeta, ops},
		tasks:  &bucket{tx.Bucket(bucketTasks), idTasks, ops},
		events: &bucket{tx.Bucket(bucketEvents), idEvents, ops},
		log:    &bucket{tx.Bucket(bucketLog), idLog, ops},
		index:  &bucket{tx.Bucket(bucketIndex), idIndex, ops},
	}
	// Writes mostly append: cursors grow, task ids are time-ordered UUIDs,
	// index keys grow with time within their family. bbolt splits a full
	// page at FillPercent (default half), which leaves appended-to pages
	// half empty forever; filling them further roughly halves the file.
	b.log.FillPercent = 1.0
	// Task records are a few hundred bytes: at 0.9 a page holds one
	// record fewer than it could (measured: 73% full), and records are
	// rarely rewritten bigger once their task is done.
	b.tasks.FillPercent = 1.0
	b.events.FillPercent = fillPercent
	b.index.FillPercent = fillPercent
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
		if err := addCount(b.index, k, 1); err != nil {
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
		if err := addCount(b.index, k, -1); err != nil {
			return err
		}
	}
	return nil
}

// addCount adds delta to a counter; a counter that reaches zero is deleted
// so that contexts and states that no longer have tasks leave no keys.
func addCount(index *bucket, k []byte, delta int64) error {
	var n uint64
	if v := index.Get(k); v != nil {
		var err error
		if n, err = getCount(v); err != nil {
			return fmt.Errorf("counter %x: %w", k, err)
		}
	}
	if delta < 0 && n < uint64(-delta) {
		return fmt.Errorf("counter %x would go below zero (the file is damaged)", k)
	}
	n = uint64(int64(n) + delta)
	if n == 0 {
		return index.Delete(k)
	}
	return index.Put(k, binary.AppendUvarint(nil, n))
}
