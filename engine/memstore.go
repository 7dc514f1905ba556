package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
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
type memStore struct {
	mu         sync.RWMutex
	tasks      map[string]*memTask
	unfinished map[string]*memTask
	messages   map[string]string // message id -> task id
	all        *memIndex
	byState    map[a2a.TaskState]*memIndex
	byContext  map[string]*memIndex
	log        []*LoggedEvent // every kept event, by cursor
	lastCur    uint64
	terminal   int // terminal tasks kept, for Sweep's count limit
	version    uint64
	closed     bool
}

type memTask struct {
	deleted bool // swept; its keys are stale
	// rec is replaced, never modified, on commit: List hands it out as is.
	rec     *Record
	version uint64
	events  []*LoggedEvent
	msgIDs  []string
}

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
func NewMemoryStore() Store {
	return &memStore{
		tasks:      map[string]*memTask{},
		unfinished: map[string]*memTask{},
		messages:   map[string]string{},
		all:        &memIndex{},
		byState:    map[a2a.TaskState]*memIndex{},
		byContext:  map[string]*memIndex{},
	}
}

var errStoreClosed = fmt.Errorf("memory store is closed")

func (s *memStore) Commit(ctx context.Context, c *Commit) error {
	if c == nil || c.Record == nil || c.Record.Task == nil || c.Record.Task.ID == "" {
		return fmt.Errorf("memory store: commit needs a record with a task id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStoreClosed
	}
	id := c.Record.Task.ID
	mt := s.tasks[id]
	if mt == nil {
		mt = &memTask{}
		s.tasks[id] = mt
	} else {
		s.unindex(mt)
	}
	rec := *c.Record
	mt.rec = &rec
	s.version++
	mt.version = s.version
	s.index(id, mt)
	for i := range c.Events {
		ev := c.Events[i]
		mt.events = append(mt.events, &ev)
		s.appendLog(&ev)
	}
	for _, m := range c.MessageIDs {
		if _, ok := s.messages[m]; !ok {
			s.messages[m] = id
			mt.msgIDs = append(mt.msgIDs, m)
		}
	}
	return nil
}

// appendLog keeps the log in cursor order: commits of different tasks may
// arrive in a different order than their cursors were assigned.
func (s *memStore) appendLog(ev *LoggedEvent) {
	s.log = append(s.log, ev)
	for i := len(s.log) - 1; i > 0 && s.log[i-1].Cursor > s.log[i].Cursor; i-- {
		s.log[i-1], s.log[i] = s.log[i], s.log[i-1]
	}
	if ev.Cursor > s.lastCur {
		s.lastCur = ev.Cursor
	}
}

func (s *memStore) index(id string, mt *memTask) {
	key := memKey{updated: mt.rec.Updated.UnixNano(), id: id, version: mt.version, task: mt}
	state := mt.rec.Task.Status.State
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
	state := mt.rec.Task.Status.State
	s.all.live--
	if ix := s.byState[state]; ix != nil {
		ix.live--
	}
	if cid := mt.rec.Task.ContextID; cid != "" {
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
	rec := *mt.rec
	return &rec, nil
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
	i := sort.Search(len(mt.events), func(i int) bool { return mt.events[i].Seq > afterSeq })
	out := make([]LoggedEvent, 0, len(mt.events)-i)
	for _, ev := range mt.events[i:] {
		out = append(out, *ev)
	}
	return out, nil
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
	end := len(ix.keys)
	if hasFrom {
		end = sort.Search(len(ix.keys), func(i int) bool { return !ix.keys[i].less(from) })
	}
	text := strings.ToLower(q.Text)
	res := &ListResult{TotalSize: total, Records: make([]*Record, 0, min(size, ix.live))}
	var last memKey
	for i := end - 1; i >= 0; i-- {
		k := ix.keys[i]
		if !s.liveKey(k) {
			continue
		}
		mt := k.task
		if !q.UpdatedAfter.IsZero() && !mt.rec.Updated.After(q.UpdatedAfter) {
			break // keys are in update order: nothing older can match
		}
		if !matches(mt.rec, q, text) {
			continue
		}
		if len(res.Records) == size {
			res.NextPageToken = encodeMemToken(last)
			break
		}
		res.Records = append(res.Records, mt.rec)
		last = k
	}
	return res, nil
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
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].Cursor > after })
	n := len(s.log) - i
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]LoggedEvent, n)
	for j := range out {
		out[j] = *s.log[i+j]
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
		rec := *mt.rec
		out = append(out, &rec)
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
	deleted := map[string]bool{}
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
		if !mt.rec.Task.Status.State.Terminal() {
			continue
		}
		s.unindex(mt)
		mt.deleted = true
		delete(s.tasks, k.id)
		for _, m := range mt.msgIDs {
			delete(s.messages, m)
		}
		deleted[k.id] = true
	}
	if len(deleted) == 0 {
		return 0, nil
	}
	kept := s.log[:0]
	for _, ev := range s.log {
		if !deleted[ev.TaskID] {
			kept = append(kept, ev)
		}
	}
	clear(s.log[len(kept):])
	s.log = kept
	s.compact(s.all)
	for _, ix := range s.byState {
		s.compact(ix)
	}
	return len(deleted), nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
