package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/internal/taskzip"
)

// memStore is the in-memory Store: a map of tasks plus ordered indexes for
// List (every task, per state, per context id) and the global event log.
//
// The List indexes are append-mostly logs of (updated, id, version) keys in
// ascending order: a commit appends the task's new key (times almost always
// grow, so appending keeps the order; an older time is inserted by binary
// search), and the task's previous key becomes stale. Readers skip stale keys
// (their version differs from the task's), and an index is compacted when
// stale keys outnumber live ones. Paging walks an index backwards from the
// token's key, so the first page costs the same with a thousand tasks or a
// million.
//
// Finished tasks are frozen: once memHotTerminal newer terminal tasks have
// been committed after it, a terminal task's record and events are kept
// as one compressed value (see freeze) instead of as Go objects, and
// decoded when read. Measured with BenchmarkMemoryStoreBytesPerTask (echo
// tasks through the engine, 100k tasks): 2,617 bytes of live heap per task
// when every task stayed decoded, 1,016 frozen (the compressed value is
// about 300 of them; the rest is the maps, the index keys and the log).
// `a2atop serve --db :memory:` (server/loadbench BenchmarkStoredTasks):
// 2,302 bytes of RSS per echo task at 100k instead of 6,080; the a2a-go
// server took 3,107 in the same run. The price is CPU: freezing costs
// about 50 µs per task (JSON, then DEFLATE, where the compressor's reset
// of its hash tables and the Huffman tables of a small input cost as much
// as the compression itself, at every level: see taskzip's
// BenchmarkLevels), spent by the committer that pushes the task out of
// the ring, outside the lock; the same run filled the store at 7,171
// sends/s instead of 11,320. Since then the JSON is written by hand
// (wire.AppendTaskV10) and taskzip compresses small inputs with its own
// encoder, which skips that reset: BenchmarkFreezeEcho went from 49-62
// µs and 42 allocations to 15-18 µs and 3 (278 bytes kept instead of
// 285). Compressing several tasks per stream would share what is left
// of the fixed part (the Huffman tables). Unfinished
// tasks and the newest terminal ones (a dashboard's first page, the tasks
// clients are still reading) stay decoded.
type memStore struct {
	mu         sync.RWMutex
	tasks      map[string]*memTask
	unfinished map[string]*memTask
	messages   map[string]string // message id -> task id
	all        *memIndex
	byState    map[a2a.TaskState]*memIndex
	byContext  map[string]*memIndex
	// byID is every task by id ascending, for ListQuery.ByCreated (the
	// engine's UUIDv7 ids come in ascending order: an append). Sweep
	// drops the deleted.
	byID     []*memTask
	log      []memRun // every kept event, by cursor
	lastCur  uint64
	terminal int // terminal tasks kept, for Sweep's count limit
	version  uint64
	closed   bool
	// hot holds the latest memHotTerminal terminal commits, oldest first
	// from hotNext (a ring): the task of the commit that falls out is
	// frozen unless it changed since.
	hot     []hotEntry
	hotNext int
	hotCap  int
	// frozenBufs pools encodeFrozen's working buffers (*frozenBufs).
	frozenBufs sync.Pool
}

// memHotTerminal is how many of the latest terminal commits keep their
// tasks decoded.
const memHotTerminal = 1024

type hotEntry struct {
	task    *memTask
	version uint64
}

type memTask struct {
	id      string
	deleted bool // swept; its keys are stale
	version uint64
	// state and contextID are the record's, also while it is frozen.
	state     a2a.TaskState
	contextID string
	// rec is replaced, never modified, on commit: List hands it out as is.
	// rec and events are nil while the task is frozen.
	rec    *Record
	events []LoggedEvent
	// frozen is the record and events of a frozen task (see freeze).
	frozen []byte
	msgIDs []string
}

// memRun is a run of a task's events whose cursors step by one: the
// events task.events[first:first+n], the first at cursor.
type memRun struct {
	cursor uint64
	task   *memTask
	first  int32
	n      int32
}

func (r memRun) last() uint64 { return r.cursor + uint64(r.n) - 1 }

type memKey struct {
	updated int64
	id      string
	version uint64
	// task saves a map lookup per key when walking an index.
	task *memTask
}

func (a memKey) less(b memKey) bool {
	if a.updated != b.updated {
		return a.updated < b.updated
	}
	return a.id < b.id
}

type memIndex struct {
	keys []memKey
	live int
}

// NewMemoryStore returns a Store that keeps everything in memory, for tests
// and `--db :memory:`.
func NewMemoryStore() Store { return newMemoryStore(memHotTerminal) }

// newMemoryStore keeps the tasks of the latest hot terminal commits
// decoded (tests freeze more often than the default).
func newMemoryStore(hot int) *memStore {
	return &memStore{
		hotCap:     max(hot, 0),
		tasks:      map[string]*memTask{},
		unfinished: map[string]*memTask{},
		messages:   map[string]string{},
		all:        &memIndex{},
		byState:    map[a2a.TaskState]*memIndex{},
		byContext:  map[string]*memIndex{},
		hot:        make([]hotEntry, 0, max(hot, 0)),
	}
}

var errStoreClosed = fmt.Errorf("memory store is closed")

func (s *memStore) Commit(ctx context.Context, c *Commit) error {
	if c == nil || c.Record == nil || c.Record.Task == nil || c.Record.Task.ID == "" {
		return fmt.Errorf("memory store: commit needs a record with a task id")
	}
	victim, err := s.commit(c)
	if err != nil {
		return err
	}
	if victim.task != nil {
		s.freeze(victim)
	}
	return nil
}

// commit stores c and returns the hot entry it pushed out, if any.
func (s *memStore) commit(c *Commit) (hotEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return hotEntry{}, errStoreClosed
	}
	id := c.Record.Task.ID
	mt := s.tasks[id]
	if mt == nil {
		mt = &memTask{id: id}
		s.tasks[id] = mt
		s.addByID(mt)
	} else {
		if err := s.thaw(mt); err != nil {
			return hotEntry{}, err
		}
		s.unindex(mt)
	}
	rec := *c.Record
	mt.rec = &rec
	mt.state, mt.contextID = rec.Task.Status.State, rec.Task.ContextID
	s.version++
	mt.version = s.version
	s.index(id, mt)
	first := len(mt.events)
	mt.events = append(mt.events, c.Events...)
	s.appendLog(mt, first)
	for _, m := range c.MessageIDs {
		if _, ok := s.messages[m]; !ok {
			s.messages[m] = id
			mt.msgIDs = append(mt.msgIDs, m)
		}
	}
	if !mt.state.Terminal() {
		return hotEntry{}, nil
	}
	e := hotEntry{task: mt, version: mt.version}
	switch {
	case s.hotCap == 0:
		return e, nil
	case len(s.hot) < s.hotCap:
		s.hot = append(s.hot, e)
		return hotEntry{}, nil
	}
	victim := s.hot[s.hotNext]
	s.hot[s.hotNext] = e
	s.hotNext = (s.hotNext + 1) % s.hotCap
	return victim, nil
}

// appendLog adds the task's events from events[first] to the log, in
// cursor order: commits of different tasks may arrive in a different
// order than their cursors were assigned.
func (s *memStore) appendLog(mt *memTask, first int) {
	for i := first; i < len(mt.events); i++ {
		cur := mt.events[i].Cursor
		if n := len(s.log); n > 0 && s.log[n-1].task == mt && s.log[n-1].last()+1 == cur && int(s.log[n-1].first+s.log[n-1].n) == i && i > first {
			s.log[n-1].n++
		} else {
			s.log = append(s.log, memRun{cursor: cur, task: mt, first: int32(i), n: 1})
			for j := len(s.log) - 1; j > 0 && s.log[j-1].cursor > s.log[j].cursor; j-- {
				s.log[j-1], s.log[j] = s.log[j], s.log[j-1]
			}
		}
		if cur > s.lastCur {
			s.lastCur = cur
		}
	}
}

func (s *memStore) index(id string, mt *memTask) {
	key := memKey{updated: mt.rec.Updated.UnixNano(), id: id, version: mt.version, task: mt}
	state := mt.state
	s.all.add(key)
	six := s.byState[state]
	if six == nil {
		six = &memIndex{}
		s.byState[state] = six
	}
	six.add(key)
	if cid := mt.rec.Task.ContextID; cid != "" {
		ix := s.byContext[cid]
		if ix == nil {
			ix = &memIndex{}
			s.byContext[cid] = ix
		}
		ix.add(key)
	}
	if state.Terminal() {
		s.terminal++
		delete(s.unfinished, id)
	} else {
		s.unfinished[id] = mt
	}
}

// unindex marks the task's current keys stale (they stay in the slices until
// compaction) and updates the counters.
func (s *memStore) unindex(mt *memTask) {
	state := mt.state
	s.all.live--
	if ix := s.byState[state]; ix != nil {
		ix.live--
	}
	if cid := mt.contextID; cid != "" {
		if ix := s.byContext[cid]; ix != nil {
			ix.live--
			if ix.live == 0 {
				delete(s.byContext, cid)
			}
		}
	}
	if state.Terminal() {
		s.terminal--
	}
}

// addByID inserts a new task in byID.
func (s *memStore) addByID(mt *memTask) {
	n := len(s.byID)
	if n == 0 || s.byID[n-1].id < mt.id {
		s.byID = append(s.byID, mt)
		return
	}
	i := sort.Search(n, func(i int) bool { return mt.id < s.byID[i].id })
	s.byID = slices.Insert(s.byID, i, mt)
}

func (ix *memIndex) add(k memKey) {
	ix.live++
	n := len(ix.keys)
	if n == 0 || ix.keys[n-1].less(k) {
		ix.keys = append(ix.keys, k)
		return
	}
	i := sort.Search(n, func(i int) bool { return k.less(ix.keys[i]) })
	ix.keys = append(ix.keys, memKey{})
	copy(ix.keys[i+1:], ix.keys[i:])
	ix.keys[i] = k
}

// compact drops stale keys once they outnumber live ones.
func (s *memStore) compact(ix *memIndex) {
	if len(ix.keys) < 2*ix.live+1024 {
		return
	}
	kept := ix.keys[:0]
	for _, k := range ix.keys {
		if s.liveKey(k) {
			kept = append(kept, k)
		}
	}
	clear(ix.keys[len(kept):])
	ix.keys = kept
}

func (s *memStore) liveKey(k memKey) bool {
	return !k.task.deleted && k.task.version == k.version
}

// freeze encodes the task of a hot entry that fell out of the ring, and
// keeps the encoding instead of the objects unless the task changed in
// the meantime. The encoding runs outside the lock: a committed record
// and the events before len(events) are never modified.
func (s *memStore) freeze(e hotEntry) {
	s.mu.RLock()
	mt := e.task
	if mt.deleted || mt.version != e.version || mt.rec == nil {
		s.mu.RUnlock()
		return
	}
	rec, events := mt.rec, mt.events[:len(mt.events):len(mt.events)]
	s.mu.RUnlock()
	bufs, _ := s.frozenBufs.Get().(*frozenBufs)
	if bufs == nil {
		bufs = &frozenBufs{}
	}
	frozen, err := encodeFrozen(bufs, rec, events)
	if bufs.small() {
		s.frozenBufs.Put(bufs)
	}
	if err != nil {
		return // it stays decoded: correct, only bigger
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mt.deleted || mt.version != e.version || mt.rec != rec || len(mt.events) != len(events) {
		return
	}
	mt.frozen = frozen
	mt.rec, mt.events = nil, nil
}

// thaw decodes a frozen task in place (a commit to a finished task).
// The caller holds the write lock.
func (s *memStore) thaw(mt *memTask) error {
	if mt.rec != nil {
		return nil
	}
	rec, events, err := decodeFrozen(mt.id, mt.frozen, true)
	if err != nil {
		return err
	}
	mt.rec, mt.events, mt.frozen = rec, events, nil
	return nil
}

// record returns the task's record, decoding a frozen one.
func (mt *memTask) record() (*Record, error) {
	if mt.rec != nil {
		return mt.rec, nil
	}
	rec, _, err := decodeFrozen(mt.id, mt.frozen, false)
	return rec, err
}

// loggedEvents returns the task's events, decoding a frozen task's; the
// caller must not modify them.
func (mt *memTask) loggedEvents() ([]LoggedEvent, error) {
	if mt.rec != nil {
		return mt.events, nil
	}
	_, events, err := decodeFrozen(mt.id, mt.frozen, true)
	return events, err
}

// A frozen task is:
//
//	created                 frozenTime (base 0)
//	updated                 frozenTime (base created)
//	attempts, priority      varint
//	lastSeq                 uvarint
//	flags                   byte: 1 running, 2 stopped
//	events                  uvarint count, then per event uvarint seq,
//	                        uvarint cursor, frozenTime (base updated)
//	body                    taskzip of: uvarint len + the task's v1.0
//	                        JSON, then per event uvarint len + its v1.0
//	                        JSON (the stream-result wrapper)
//
// v1.0 JSON keeps every field of the model except
// StatusUpdateEvent.Final, which it derives from the state (the bbolt
// store keeps tasks the same way).
var frozenCodec = wire.V10()

// maxFrozenBody bounds what a frozen body may inflate to.
const maxFrozenBody = 1 << 30

const (
	frozenRunning = 1 << 0
	frozenStopped = 1 << 1
)

// frozenBufs are encodeFrozen's working buffers: the JSON of each value,
// the framed body, the frozen value before its exact copy. All are
// garbage once the task is frozen, so the store reuses them.
type frozenBufs struct {
	scratch, raw, out []byte
}

// maxPooledFrozen: buffers that grew past it (a task with a large
// artifact) are left to the collector rather than kept in the pool.
const maxPooledFrozen = 64 << 10

func (b *frozenBufs) small() bool {
	return cap(b.scratch)+cap(b.raw)+cap(b.out) <= maxPooledFrozen
}

// encodeFrozen returns the frozen form of a task, working in bufs.
func encodeFrozen(bufs *frozenBufs, rec *Record, events []LoggedEvent) ([]byte, error) {
	// Each value is encoded into one scratch buffer, then framed into
	// raw: the encoders append (wire.AppendTaskV10), nothing is allocated
	// per event.
	scratch, err := wire.AppendTaskV10(bufs.scratch[:0], rec.Task)
	if err != nil {
		return nil, err
	}
	raw := binary.AppendUvarint(bufs.raw[:0], uint64(len(scratch)))
	raw = append(raw, scratch...)
	for _, ev := range events {
		if ev.Event == nil || (ev.TaskID != "" && ev.TaskID != rec.Task.ID) {
			return nil, errors.New("an event the codec cannot keep")
		}
		if scratch, err = wire.AppendEventV10(scratch[:0], ev.Event); err != nil {
			return nil, err
		}
		raw = binary.AppendUvarint(raw, uint64(len(scratch)))
		raw = append(raw, scratch...)
	}
	bufs.scratch, bufs.raw = scratch, raw
	out := bufs.out[:0]
	out = appendFrozenTime(out, rec.Created, 0)
	out = appendFrozenTime(out, rec.Updated, rec.Created.Unix())
	out = binary.AppendVarint(out, int64(rec.Attempts))
	out = binary.AppendVarint(out, int64(rec.Priority))
	out = binary.AppendUvarint(out, rec.LastSeq)
	var flags byte
	if rec.Running {
		flags |= frozenRunning
	}
	if rec.Stopped {
		flags |= frozenStopped
	}
	out = append(out, flags)
	out = binary.AppendUvarint(out, uint64(len(events)))
	for _, ev := range events {
		out = binary.AppendUvarint(out, ev.Seq)
		out = binary.AppendUvarint(out, ev.Cursor)
		out = appendFrozenTime(out, ev.Time, rec.Updated.Unix())
	}
	out = taskzip.Append(out, raw)
	bufs.out = out
	// Keep exactly what is used: the slack of a growing slice would cost
	// as much as the compression saves on small tasks.
	return append(make([]byte, 0, len(out)), out...), nil
}

// appendFrozenTime appends t as uvarint(nanoseconds + 1), 0 for the zero
// time, then varint(seconds - baseSec): a few bytes for the times of one
// task, exact for every time.
func appendFrozenTime(b []byte, t time.Time, baseSec int64) []byte {
	if t.IsZero() {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(t.Nanosecond())+1)
	return binary.AppendVarint(b, t.Unix()-baseSec)
}

var errFrozen = errors.New("damaged frozen task")

type frozenReader struct {
	b   []byte
	err error
}

func (r *frozenReader) uvarint() uint64 {
	v, w := binary.Uvarint(r.b)
	if w <= 0 {
		r.err, r.b = errFrozen, nil
		return 0
	}
	r.b = r.b[w:]
	return v
}

func (r *frozenReader) varint() int64 {
	v, w := binary.Varint(r.b)
	if w <= 0 {
		r.err, r.b = errFrozen, nil
		return 0
	}
	r.b = r.b[w:]
	return v
}

func (r *frozenReader) time(baseSec int64) time.Time {
	ns := r.uvarint()
	if ns == 0 || r.err != nil {
		return time.Time{}
	}
	return time.Unix(r.varint()+baseSec, int64(ns-1)).UTC()
}

func (r *frozenReader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.err, r.b = errFrozen, nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// decodeFrozen decodes a frozen task; its events only when withEvents.
func decodeFrozen(id string, b []byte, withEvents bool) (*Record, []LoggedEvent, error) {
	fail := func(err error) (*Record, []LoggedEvent, error) {
		return nil, nil, fmt.Errorf("memory store: task %q: %w", id, err)
	}
	r := &frozenReader{b: b}
	rec := &Record{}
	rec.Created = r.time(0)
	rec.Updated = r.time(rec.Created.Unix())
	rec.Attempts = int(r.varint())
	rec.Priority = Priority(r.varint())
	rec.LastSeq = r.uvarint()
	flags := r.bytes(1)
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		return fail(errFrozen)
	}
	rec.Running = flags[0]&frozenRunning != 0
	rec.Stopped = flags[0]&frozenStopped != 0
	var events []LoggedEvent
	if withEvents {
		events = make([]LoggedEvent, n)
	}
	for i := range n {
		seq, cursor := r.uvarint(), r.uvarint()
		at := r.time(rec.Updated.Unix())
		if withEvents {
			events[i] = LoggedEvent{TaskID: id, Seq: seq, Cursor: cursor, Time: at}
		}
	}
	if r.err != nil {
		return fail(r.err)
	}
	raw, err := taskzip.Inflate(r.b, maxFrozenBody)
	if err != nil {
		return fail(err)
	}
	body := &frozenReader{b: raw}
	task, err := frozenCodec.DecodeTask(body.bytes(body.uvarint()))
	if body.err != nil {
		err = body.err
	}
	if err != nil {
		return fail(err)
	}
	rec.Task = task
	if !withEvents {
		return rec, nil, nil
	}
	for i := range events {
		ev, err := frozenCodec.DecodeEvent(body.bytes(body.uvarint()))
		if body.err != nil {
			err = body.err
		}
		if err != nil {
			return fail(err)
		}
		events[i].Event = ev
	}
	return rec, events, nil
}

func (s *memStore) Get(ctx context.Context, taskID string) (*Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	mt := s.tasks[taskID]
	if mt == nil {
		return nil, a2a.NewError(a2a.ErrTaskNotFound, "task %q not found", taskID)
	}
	rec, err := mt.record()
	if err != nil {
		return nil, err
	}
	cp := *rec
	return &cp, nil
}

func (s *memStore) Events(ctx context.Context, taskID string, afterSeq uint64) ([]LoggedEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	mt := s.tasks[taskID]
	if mt == nil {
		return nil, a2a.NewError(a2a.ErrTaskNotFound, "task %q not found", taskID)
	}
	events, err := mt.loggedEvents()
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(events), func(i int) bool { return events[i].Seq > afterSeq })
	return append(make([]LoggedEvent, 0, len(events)-i), events[i:]...), nil
}

// memPageToken is "<updated unix nanos>.<task id>" of the last task of a page.
func encodeMemToken(k memKey) string {
	return strconv.FormatInt(k.updated, 10) + "." + k.id
}

func decodeMemToken(tok string) (memKey, error) {
	ns, id, ok := strings.Cut(tok, ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return memKey{}, a2a.NewError(a2a.ErrInvalidParams, "invalid page token %q", tok)
	}
	return memKey{updated: n, id: id}, nil
}

func (s *memStore) List(ctx context.Context, q ListQuery) (*ListResult, error) {
	size := q.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	if q.ByCreated {
		return s.listByCreated(q, size)
	}
	var from memKey
	hasFrom := q.PageToken != ""
	if hasFrom {
		var err error
		if from, err = decodeMemToken(q.PageToken); err != nil {
			return nil, err
		}
	}
	s.mu.Lock() // compaction may rewrite an index
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStoreClosed
	}
	ix := s.all
	switch {
	case q.State != "":
		ix = s.byState[q.State]
	case q.ContextID != "":
		ix = s.byContext[q.ContextID]
	}
	if ix == nil {
		return &ListResult{}, nil
	}
	s.compact(ix)
	total := ix.live
	filtered := (q.State != "" && q.ContextID != "") || !q.UpdatedAfter.IsZero() || q.Text != ""
	if filtered {
		total = -1
	}
	text := strings.ToLower(q.Text)
	res := &ListResult{TotalSize: total, Records: make([]*Record, 0, min(size, ix.live))}
	var last memKey
	// The walk goes from the newest key down, or with Reverse from the
	// oldest up; a token is the last key of the previous page, excluded.
	i, step := len(ix.keys)-1, -1
	if hasFrom {
		i = sort.Search(len(ix.keys), func(i int) bool { return !ix.keys[i].less(from) }) - 1
	}
	if q.Reverse {
		i, step = 0, 1
		if hasFrom {
			i = sort.Search(len(ix.keys), func(i int) bool { return from.less(ix.keys[i]) })
		}
		if after := q.UpdatedAfter.UnixNano(); !q.UpdatedAfter.IsZero() {
			i = max(i, sort.Search(len(ix.keys), func(i int) bool { return ix.keys[i].updated > after }))
		}
	}
	for ; i >= 0 && i < len(ix.keys); i += step {
		k := ix.keys[i]
		if !s.liveKey(k) {
			continue
		}
		mt := k.task
		if !q.UpdatedAfter.IsZero() && k.updated <= q.UpdatedAfter.UnixNano() {
			if q.Reverse {
				continue // newer keys come later in this walk
			}
			break // keys are in update order: nothing older can match
		}
		if q.State != "" && mt.state != q.State {
			continue
		}
		rec, err := mt.record()
		if err != nil {
			return nil, err
		}
		if !matches(rec, q, text) {
			continue
		}
		if len(res.Records) == size {
			res.NextPageToken = encodeMemToken(last)
			break
		}
		res.Records = append(res.Records, rec)
		last = k
	}
	return res, nil
}

// A created-order page token is "c" and the id of the page's last task:
// an updated-order token starts with a digit or '-', so neither order
// takes the other's tokens.
const memCreatedToken = "c"

// listByCreated walks byID down from the newest id (up with Reverse),
// past the page token's id, applying every filter to each task: a page
// costs the tasks it skips. TotalSize is the count of the index that
// answers the filters, as for the updated order.
func (s *memStore) listByCreated(q ListQuery, size int) (*ListResult, error) {
	from, hasFrom := "", q.PageToken != ""
	if hasFrom {
		var ok bool
		if from, ok = strings.CutPrefix(q.PageToken, memCreatedToken); !ok || from == "" {
			return nil, a2a.NewError(a2a.ErrInvalidParams, "invalid page token %q: not one of a created-order listing", q.PageToken)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStoreClosed
	}
	total := s.all.live
	switch {
	case q.State != "" && q.ContextID != "", !q.UpdatedAfter.IsZero(), q.Text != "":
		total = -1
	case q.State != "":
		total = liveOf(s.byState[q.State])
	case q.ContextID != "":
		total = liveOf(s.byContext[q.ContextID])
	}
	res := &ListResult{TotalSize: total, Records: make([]*Record, 0, min(size, len(s.byID)))}
	i, step := len(s.byID)-1, -1
	if hasFrom {
		i = sort.Search(len(s.byID), func(i int) bool { return s.byID[i].id >= from }) - 1
	}
	if q.Reverse {
		i, step = 0, 1
		if hasFrom {
			i = sort.Search(len(s.byID), func(i int) bool { return s.byID[i].id > from })
		}
	}
	text := strings.ToLower(q.Text)
	for ; i >= 0 && i < len(s.byID); i += step {
		mt := s.byID[i]
		if mt.deleted || (q.State != "" && mt.state != q.State) || (q.ContextID != "" && mt.contextID != q.ContextID) {
			continue
		}
		rec, err := mt.record()
		if err != nil {
			return nil, err
		}
		if !matches(rec, q, text) || (!q.UpdatedAfter.IsZero() && !rec.Updated.After(q.UpdatedAfter)) {
			continue
		}
		if len(res.Records) == size {
			res.NextPageToken = memCreatedToken + res.Records[size-1].Task.ID
			break
		}
		res.Records = append(res.Records, rec)
	}
	return res, nil
}

func liveOf(ix *memIndex) int {
	if ix == nil {
		return 0
	}
	return ix.live
}

// matches applies the filters an index did not.
func matches(rec *Record, q ListQuery, lowerText string) bool {
	t := rec.Task
	if q.State != "" && t.Status.State != q.State {
		return false
	}
	if q.ContextID != "" && t.ContextID != q.ContextID {
		return false
	}
	if lowerText != "" && !TaskContainsText(t, lowerText) {
		return false
	}
	return true
}

// TaskContainsText reports whether the task's id, status text or metadata
// contain lowerText, which must already be lower case. Stores use it for
// ListQuery.Text so that every store filters the same way.
func TaskContainsText(t *a2a.Task, lowerText string) bool {
	if strings.Contains(strings.ToLower(t.ID), lowerText) {
		return true
	}
	if t.Status.Message != nil && strings.Contains(strings.ToLower(t.Status.Message.Text()), lowerText) {
		return true
	}
	if len(t.Metadata) > 0 {
		raw, err := json.Marshal(t.Metadata)
		if err == nil && strings.Contains(strings.ToLower(string(raw)), lowerText) {
			return true
		}
	}
	return false
}

func (s *memStore) Log(ctx context.Context, after uint64, limit int) ([]LoggedEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].last() > after })
	var out []LoggedEvent
	// A frozen task's events are decoded once per call.
	var decodedFor *memTask
	var decoded []LoggedEvent
	for ; i < len(s.log) && (limit <= 0 || len(out) < limit); i++ {
		run := s.log[i]
		events := run.task.events
		if run.task.rec == nil {
			if decodedFor != run.task {
				var err error
				if decoded, err = run.task.loggedEvents(); err != nil {
					return nil, err
				}
				decodedFor = run.task
			}
			events = decoded
		}
		for j := run.first; j < run.first+run.n && (limit <= 0 || len(out) < limit); j++ {
			if int(j) >= len(events) {
				return nil, fmt.Errorf("memory store: task %q: the log names event %d of %d", run.task.id, j, len(events))
			}
			if events[j].Cursor > after {
				out = append(out, events[j])
			}
		}
	}
	if out == nil {
		out = []LoggedEvent{}
	}
	return out, nil
}

func (s *memStore) LastCursor(ctx context.Context) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errStoreClosed
	}
	return s.lastCur, nil
}

func (s *memStore) TaskForMessage(ctx context.Context, messageID string) (string, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return "", false, errStoreClosed
	}
	id, ok := s.messages[messageID]
	return id, ok, nil
}

func (s *memStore) Unfinished(ctx context.Context) ([]*Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	out := make([]*Record, 0, len(s.unfinished))
	for _, mt := range s.unfinished {
		rec, err := mt.record()
		if err != nil {
			return nil, err
		}
		cp := *rec
		out = append(out, &cp)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Task.ID < out[j].Task.ID
	})
	return out, nil
}

func (s *memStore) Sweep(ctx context.Context, olderThan time.Time, keep int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errStoreClosed
	}
	cut := olderThan.UnixNano()
	deleted := 0
	// The all-index is oldest first: walk it while tasks are old enough or
	// terminal tasks are too many.
	for _, k := range s.all.keys {
		overCount := keep > 0 && s.terminal > keep
		if k.updated >= cut && !overCount {
			break
		}
		if !s.liveKey(k) {
			continue
		}
		mt := k.task
		if !mt.state.Terminal() {
			continue
		}
		s.unindex(mt)
		mt.deleted = true
		delete(s.tasks, k.id)
		for _, m := range mt.msgIDs {
			delete(s.messages, m)
		}
		// Nothing reads a deleted task: drop what it holds now.
		mt.rec, mt.events, mt.frozen = nil, nil, nil
		deleted++
	}
	if deleted == 0 {
		return 0, nil
	}
	kept := s.log[:0]
	for _, run := range s.log {
		if !run.task.deleted {
			kept = append(kept, run)
		}
	}
	clear(s.log[len(kept):])
	s.log = kept
	s.byID = slices.DeleteFunc(s.byID, func(mt *memTask) bool { return mt.deleted })
	s.compact(s.all)
	for _, ix := range s.byState {
		s.compact(ix)
	}
	return deleted, nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
