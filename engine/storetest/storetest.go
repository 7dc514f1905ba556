// Package storetest is a conformance suite for engine.Store
// implementations: every store a2atop ships runs it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// Run runs the suite; open returns a new, empty store for each subtest (the
// suite closes it).
func Run(t *testing.T, open func(t *testing.T) engine.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s engine.Store)
	}{
		{"CommitGet", testCommitGet},
		{"GetUnknown", testGetUnknown},
		{"Events", testEvents},
		{"ListOrderAndPaging", testListOrderAndPaging},
		{"ListFilters", testListFilters},
		{"ListInvalidToken", testListInvalidToken},
		{"ListReverse", testListReverse},
		{"ListByCreated", testListByCreated},
		{"LogAndLastCursor", testLogAndLastCursor},
		{"LogOutOfOrderCommits", testLogOutOfOrderCommits},
		{"ConcurrentCommits", testConcurrentCommits},
		{"TaskForMessage", testTaskForMessage},
		{"Unfinished", testUnfinished},
		{"SweepAge", testSweepAge},
		{"SweepCount", testSweepCount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.run(t, s)
		})
	}
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture builds commits with consistent seq and cursor numbers.
type fixture struct {
	t      *testing.T
	s      engine.Store
	cursor uint64
	seq    map[string]uint64
	recs   map[string]*engine.Record
}

func newFixture(t *testing.T, s engine.Store) *fixture {
	return &fixture{t: t, s: s, seq: map[string]uint64{}, recs: map[string]*engine.Record{}}
}

type change struct {
	id, contextID string
	state         a2a.TaskState
	text          string
	at            time.Time
	meta          a2a.Metadata
	msgIDs        []string
	running       bool
	stopped       bool
}

// commit stores one status change of a task as one event.
func (f *fixture) commit(c change) *engine.Record {
	f.t.Helper()
	if c.contextID == "" {
		c.contextID = "ctx-" + c.id
	}
	status := a2a.TaskStatus{State: c.state, Timestamp: c.at}
	if c.text != "" {
		status.Message = &a2a.Message{ID: fmt.Sprintf("%s-m%d", c.id, f.seq[c.id]+1), Role: a2a.RoleAgent,
			Parts: []a2a.Part{a2a.TextPart(c.text)}, TaskID: c.id, ContextID: c.contextID}
	}
	task := &a2a.Task{ID: c.id, ContextID: c.contextID, Status: status, Metadata: c.meta}
	prev := f.recs[c.id]
	rec := &engine.Record{Task: task, Created: c.at, Updated: c.at, Running: c.running, Stopped: c.stopped, Attempts: 1}
	if prev != nil {
		rec.Created = prev.Created
	}
	f.seq[c.id]++
	f.cursor++
	rec.LastSeq = f.seq[c.id]
	var ev a2a.Event = task
	if prev != nil {
		ev = &a2a.StatusUpdateEvent{TaskID: c.id, ContextID: c.contextID, Status: status}
	}
	err := f.s.Commit(context.Background(), &engine.Commit{
		Record:     rec,
		Events:     []engine.LoggedEvent{{TaskID: c.id, Seq: rec.LastSeq, Cursor: f.cursor, Time: c.at, Event: ev}},
		MessageIDs: c.msgIDs,
	})
	if err != nil {
		f.t.Fatalf("commit %s: %v", c.id, err)
	}
	f.recs[c.id] = rec
	return rec
}

func ids(recs []*engine.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Task.ID
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testCommitGet(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	f.commit(change{id: "a", state: a2a.StateSubmitted, at: base, meta: a2a.Metadata{"k": "v"}})
	f.commit(change{id: "a", state: a2a.StateWorking, text: "busy", at: base.Add(time.Second), running: true})
	got, err := s.Get(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Task.Status.State != a2a.StateWorking || got.Task.Status.Message.Text() != "busy" {
		t.Errorf("status = %+v, want working/busy", got.Task.Status)
	}
	if !got.Created.Equal(base) || !got.Updated.Equal(base.Add(time.Second)) {
		t.Errorf("created/updated = %v/%v", got.Created, got.Updated)
	}
	if got.LastSeq != 2 || !got.Running || got.Stopped || got.Attempts != 1 {
		t.Errorf("bookkeeping = seq %d running %v stopped %v attempts %d", got.LastSeq, got.Running, got.Stopped, got.Attempts)
	}
	// A clean Close's stop is kept for the next engine.
	f.commit(change{id: "a", state: a2a.StateSubmitted, at: base.Add(2 * time.Second), stopped: true})
	if got, err = s.Get(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if got.Running || !got.Stopped {
		t.Errorf("after a stop: running %v stopped %v, want false true", got.Running, got.Stopped)
	}
}

func testGetUnknown(t *testing.T, s engine.Store) {
	_, err := s.Get(context.Background(), "nope")
	if !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("Get unknown = %v, want ErrTaskNotFound", err)
	}
}

func testEvents(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	f.commit(change{id: "a", state: a2a.StateSubmitted, at: base})
	f.commit(change{id: "b", state: a2a.StateSubmitted, at: base})
	f.commit(change{id: "a", state: a2a.StateWorking, at: base.Add(time.Second)})
	f.commit(change{id: "a", state: a2a.StateCompleted, at: base.Add(2 * time.Second)})
	evs, err := s.Events(context.Background(), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("events = %d, want 3", len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) || ev.TaskID != "a" {
			t.Errorf("event %d = seq %d task %s", i, ev.Seq, ev.TaskID)
		}
	}
	if _, ok := evs[0].Event.(*a2a.Task); !ok {
		t.Errorf("first event is %T, want *a2a.Task", evs[0].Event)
	}
	if su, ok := evs[2].Event.(*a2a.StatusUpdateEvent); !ok || su.Status.State != a2a.StateCompleted {
		t.Errorf("last event = %#v, want completed status", evs[2].Event)
	}
	if !evs[2].Time.Equal(base.Add(2 * time.Second)) {
		t.Errorf("time = %v", evs[2].Time)
	}
	after, err := s.Events(context.Background(), "a", 2)
	if err != nil || len(after) != 1 || after[0].Seq != 3 {
		t.Errorf("Events after 2 = %v, %v; want seq 3 only", after, err)
	}
}

func listAll(t *testing.T, s engine.Store, q engine.ListQuery) ([]string, []int) {
	t.Helper()
	var out []string
	var totals []int
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("paging does not end")
		}
		res, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatalf("List %+v: %v", q, err)
		}
		if q.PageSize > 0 && len(res.Records) > q.PageSize {
			t.Fatalf("page has %d records, page size %d", len(res.Records), q.PageSize)
		}
		out = append(out, ids(res.Records)...)
		totals = append(totals, res.TotalSize)
		if res.NextPageToken == "" {
			return out, totals
		}
		if len(res.Records) == 0 {
			t.Fatal("empty page with a next page token")
		}
		q.PageToken = res.NextPageToken
	}
}

func testListOrderAndPaging(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	// t0..t9 created in order; t3 is updated last, so it comes first.
	for i := range 10 {
		f.commit(change{id: fmt.Sprintf("t%d", i), state: a2a.StateSubmitted, at: base.Add(time.Duration(i) * time.Second)})
	}
	f.commit(change{id: "t3", state: a2a.StateWorking, at: base.Add(time.Minute)})
	// Two tasks with the same time order by id, descending.
	f.commit(change{id: "u1", state: a2a.StateSubmitted, at: base.Add(-time.Hour)})
	f.commit(change{id: "u2", state: a2a.StateSubmitted, at: base.Add(-time.Hour)})
	want := []string{"t3", "t9", "t8", "t7", "t6", "t5", "t4", "t2", "t1", "t0", "u2", "u1"}
	for _, size := range []int{1, 3, 5, 12, 50} {
		got, totals := listAll(t, s, engine.ListQuery{PageSize: size})
		if !equalStrings(got, want) {
			t.Errorf("page size %d: order = %v, want %v", size, got, want)
		}
		if totals[0] != len(want) {
			t.Errorf("page size %d: total = %d, want %d", size, totals[0], len(want))
		}
	}
	res, err := s.List(context.Background(), engine.ListQuery{PageSize: 12})
	if err != nil || res.NextPageToken != "" {
		t.Errorf("exact last page: token %q err %v, want none", res.NextPageToken, err)
	}
}

func testListFilters(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	f.commit(change{id: "a", contextID: "c1", state: a2a.StateCompleted, at: base.Add(1 * time.Second), text: "Deploy DONE"})
	f.commit(change{id: "b", contextID: "c1", state: a2a.StateWorking, at: base.Add(2 * time.Second)})
	f.commit(change{id: "c", contextID: "c2", state: a2a.StateCompleted, at: base.Add(3 * time.Second), meta: a2a.Metadata{"team": "Blue"}})
	f.commit(change{id: "d", contextID: "c2", state: a2a.StateFailed, at: base.Add(4 * time.Second)})
	f.commit(change{id: "e", contextID: "c1", state: a2a.StateCompleted, at: base.Add(5 * time.Second)})
	tests := []struct {
		name  string
		q     engine.ListQuery
		want  []string
		total int // -1: do not check
	}{
		{"state", engine.ListQuery{State: a2a.StateCompleted}, []string{"e", "c", "a"}, 3},
		{"context", engine.ListQuery{ContextID: "c2"}, []string{"d", "c"}, 2},
		{"state and context", engine.ListQuery{State: a2a.StateCompleted, ContextID: "c1"}, []string{"e", "a"}, -1},
		{"updated after", engine.ListQuery{UpdatedAfter: base.Add(3 * time.Second)}, []string{"e", "d"}, -1},
		{"text in status", engine.ListQuery{Text: "deploy done"}, []string{"a"}, -1},
		{"text in metadata", engine.ListQuery{Text: "blue"}, []string{"c"}, -1},
		{"text in id", engine.ListQuery{Text: "D"}, []string{"d", "a"}, -1},
		{"no match", engine.ListQuery{State: a2a.StateRejected}, nil, 0},
		{"state paged", engine.ListQuery{State: a2a.StateCompleted, PageSize: 1}, []string{"e", "c", "a"}, 3},
		{"text paged", engine.ListQuery{Text: "d", PageSize: 1}, []string{"d", "a"}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, totals := listAll(t, s, tc.q)
			if !equalStrings(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
			if tc.total >= 0 && totals[0] != tc.total {
				t.Errorf("total = %d, want %d", totals[0], tc.total)
			}
			if tc.total < 0 && totals[0] != -1 && totals[0] != len(tc.want) {
				t.Errorf("total = %d, want -1 or %d", totals[0], len(tc.want))
			}
		})
	}
	// A task moved to another state leaves the old state's listing.
	f.commit(change{id: "b", contextID: "c1", state: a2a.StateCompleted, at: base.Add(6 * time.Second)})
	got, _ := listAll(t, s, engine.ListQuery{State: a2a.StateWorking})
	if len(got) != 0 {
		t.Errorf("working after update = %v, want none", got)
	}
	got, _ = listAll(t, s, engine.ListQuery{State: a2a.StateCompleted})
	if !equalStrings(got, []string{"b", "e", "c", "a"}) {
		t.Errorf("completed after update = %v", got)
	}
}

// testListReverse: Reverse lists the same tasks as the default order, in
// the opposite order (oldest first, ties by id ascending), with paging,
// filters and counts; a task updated moves to the end of the walk.
func testListReverse(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	for i := range 8 {
		st := a2a.StateCompleted
		if i%3 == 0 {
			st = a2a.StateFailed
		}
		f.commit(change{id: fmt.Sprintf("t%d", i), contextID: fmt.Sprintf("c%d", i%2), state: st, at: base.Add(time.Duration(i) * time.Second), text: fmt.Sprintf("step %d", i)})
	}
	f.commit(change{id: "u2", state: a2a.StateSubmitted, at: base.Add(-time.Hour)})
	f.commit(change{id: "u1", state: a2a.StateSubmitted, at: base.Add(-time.Hour)})
	f.commit(change{id: "t2", contextID: "c0", state: a2a.StateWorking, at: base.Add(time.Minute)})
	queries := []engine.ListQuery{
		{},
		{State: a2a.StateCompleted},
		{State: a2a.StateFailed},
		{ContextID: "c1"},
		{ContextID: "c0", State: a2a.StateFailed},
		{UpdatedAfter: base.Add(2 * time.Second)},
		{Text: "step"},
		{State: a2a.StateRejected},
	}
	for _, q := range queries {
		forward, _ := listAll(t, s, q)
		want := slices.Clone(forward)
		slices.Reverse(want)
		for _, size := range []int{1, 2, 3, 50} {
			rq := q
			rq.Reverse, rq.PageSize = true, size
			got, totals := listAll(t, s, rq)
			if !equalStrings(got, want) {
				t.Errorf("%+v: reverse order = %v, want %v", rq, got, want)
			}
			if totals[0] != -1 && totals[0] != len(want) {
				t.Errorf("%+v: total = %d, want -1 or %d", rq, totals[0], len(want))
			}
		}
	}
	got, _ := listAll(t, s, engine.ListQuery{Reverse: true, PageSize: 4})
	if want := []string{"u1", "u2", "t0", "t1", "t3", "t4", "t5", "t6", "t7", "t2"}; !equalStrings(got, want) {
		t.Errorf("reverse = %v, want %v", got, want)
	}
	res, err := s.List(context.Background(), engine.ListQuery{Reverse: true, PageSize: 10})
	if err != nil || res.NextPageToken != "" || res.TotalSize != 10 {
		t.Errorf("exact last reverse page: token %q total %d err %v, want no token, 10", res.NextPageToken, res.TotalSize, err)
	}
}

// v7ID is a canonical UUIDv7 id made at base plus ms milliseconds with
// sequence seq: the engine's kind of id, whose byte order is creation
// order.
func v7ID(ms, seq int) string {
	t := base.UnixMilli() + int64(ms)
	return fmt.Sprintf("%08x-%04x-7%03x-8000-%012x", t>>16, t&0xffff, seq, 42)
}

// testListByCreated: ByCreated lists newest created (id) first whatever
// the tasks' updates, oldest created first with Reverse, with paging,
// filters and counts; tokens of one order are refused by the other.
func testListByCreated(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	var created []string // oldest first
	for i := range 9 {
		id := v7ID(i/2, i%2) // two per millisecond: the sequence orders them
		created = append(created, id)
		st := a2a.StateCompleted
		if i%3 == 0 {
			st = a2a.StateFailed
		}
		// Updated in an order unlike creation: the last created first.
		f.commit(change{id: id, contextID: fmt.Sprintf("c%d", i%2), state: st, at: base.Add(time.Duration(9-i) * time.Second), text: fmt.Sprintf("step %d", i)})
	}
	// The oldest task changes last: it stays the oldest created.
	f.commit(change{id: created[0], contextID: "c0", state: a2a.StateWorking, at: base.Add(time.Minute), text: "step 0"})
	newest := slices.Clone(created)
	slices.Reverse(newest)
	pick := func(keep func(i int) bool) []string {
		var out []string
		for i := len(created) - 1; i >= 0; i-- {
			if keep(i) {
				out = append(out, created[i])
			}
		}
		return out
	}
	cases := []struct {
		q     engine.ListQuery
		want  []string
		total int
	}{
		{engine.ListQuery{}, newest, 9},
		{engine.ListQuery{State: a2a.StateCompleted}, pick(func(i int) bool { return i%3 != 0 }), 6},
		{engine.ListQuery{State: a2a.StateFailed}, pick(func(i int) bool { return i%3 == 0 && i > 0 }), 2},
		{engine.ListQuery{ContextID: "c1"}, pick(func(i int) bool { return i%2 == 1 }), 4},
		{engine.ListQuery{ContextID: "c0", State: a2a.StateFailed}, pick(func(i int) bool { return i == 6 }), -1},
		{engine.ListQuery{UpdatedAfter: base.Add(5 * time.Second)}, pick(func(i int) bool { return i == 0 || 9-i > 5 }), -1},
		{engine.ListQuery{Text: "step 4"}, pick(func(i int) bool { return i == 4 }), -1},
		{engine.ListQuery{State: a2a.StateRejected}, nil, 0},
	}
	for _, tc := range cases {
		for _, size := range []int{1, 2, 3, 50} {
			q := tc.q
			q.ByCreated, q.PageSize = true, size
			got, totals := listAll(t, s, q)
			if !equalStrings(got, tc.want) {
				t.Errorf("%+v: order = %v, want %v", q, got, tc.want)
			}
			if totals[0] != -1 && totals[0] != tc.total {
				t.Errorf("%+v: total = %d, want %d", q, totals[0], tc.total)
			}
			q.Reverse = true
			want := slices.Clone(tc.want)
			slices.Reverse(want)
			if got, _ := listAll(t, s, q); !equalStrings(got, want) {
				t.Errorf("%+v: order = %v, want %v", q, got, want)
			}
		}
	}
	first, err := s.List(context.Background(), engine.ListQuery{ByCreated: true, PageSize: 2})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first created page: token %q, %v", first.NextPageToken, err)
	}
	if _, err := s.List(context.Background(), engine.ListQuery{PageToken: first.NextPageToken}); !errors.Is(err, a2a.ErrInvalidParams) {
		t.Errorf("a created-order token in the updated order: %v, want ErrInvalidParams", err)
	}
	upd, err := s.List(context.Background(), engine.ListQuery{PageSize: 2})
	if err != nil || upd.NextPageToken == "" {
		t.Fatalf("first updated page: token %q, %v", upd.NextPageToken, err)
	}
	if _, err := s.List(context.Background(), engine.ListQuery{ByCreated: true, PageToken: upd.NextPageToken}); !errors.Is(err, a2a.ErrInvalidParams) {
		t.Errorf("an updated-order token in the created order: %v, want ErrInvalidParams", err)
	}
	// A sweep leaves the walk to the tasks kept.
	if n, err := s.Sweep(context.Background(), base.Add(7*time.Second), 0); err != nil || n == 0 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	got, _ := listAll(t, s, engine.ListQuery{ByCreated: true, PageSize: 2})
	if want := pick(func(i int) bool { return i == 0 || 9-i >= 7 }); !equalStrings(got, want) {
		t.Errorf("after a sweep: %v, want %v", got, want)
	}
}

func testListInvalidToken(t *testing.T, s engine.Store) {
	for _, tok := range []string{"garbage", "!!!", "123"} {
		_, err := s.List(context.Background(), engine.ListQuery{PageToken: tok})
		if !errors.Is(err, a2a.ErrInvalidParams) {
			t.Errorf("List with token %q: %v, want ErrInvalidParams", tok, err)
		}
	}
}

func testLogAndLastCursor(t *testing.T, s engine.Store) {
	ctx := context.Background()
	if c, err := s.LastCursor(ctx); err != nil || c != 0 {
		t.Fatalf("empty LastCursor = %d, %v", c, err)
	}
	f := newFixture(t, s)
	for i := range 5 {
		f.commit(change{id: fmt.Sprintf("t%d", i%2), state: a2a.StateWorking, at: base.Add(time.Duration(i) * time.Second)})
	}
	if c, err := s.LastCursor(ctx); err != nil || c != 5 {
		t.Fatalf("LastCursor = %d, %v; want 5", c, err)
	}
	all, err := s.Log(ctx, 0, 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("Log(0, 0) = %d events, %v; want 5", len(all), err)
	}
	for i, ev := range all {
		if ev.Cursor != uint64(i+1) {
			t.Errorf("event %d cursor %d", i, ev.Cursor)
		}
	}
	page, err := s.Log(ctx, 2, 2)
	if err != nil || len(page) != 2 || page[0].Cursor != 3 || page[1].Cursor != 4 {
		t.Errorf("Log(2, 2) = %+v, %v; want cursors 3, 4", page, err)
	}
	if rest, _ := s.Log(ctx, 5, 10); len(rest) != 0 {
		t.Errorf("Log(5) = %d events, want 0", len(rest))
	}
}

// The engine assigns cursors before committing and lets different tasks
// commit concurrently, so a store may receive cursor 2 before cursor 1.
func testLogOutOfOrderCommits(t *testing.T, s engine.Store) {
	if _, ok := s.(engine.SharedLog); ok {
		t.Skip("a shared log assigns cursors itself, in commit order (see engine.SharedLog)")
	}
	ctx := context.Background()
	mk := func(id string, cursor uint64) *engine.Commit {
		task := &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateSubmitted, Timestamp: base}}
		return &engine.Commit{
			Record: &engine.Record{Task: task, Created: base, Updated: base, LastSeq: 1},
			Events: []engine.LoggedEvent{{TaskID: id, Seq: 1, Cursor: cursor, Time: base, Event: task}},
		}
	}
	for _, c := range []*engine.Commit{mk("b", 2), mk("c", 3), mk("a", 1)} {
		if err := s.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.Log(ctx, 0, 0)
	if err != nil || len(evs) != 3 {
		t.Fatalf("Log = %d events, %v", len(evs), err)
	}
	for i, want := range []string{"a", "b", "c"} {
		if evs[i].TaskID != want || evs[i].Cursor != uint64(i+1) {
			t.Errorf("log[%d] = %s@%d, want %s@%d", i, evs[i].TaskID, evs[i].Cursor, want, i+1)
		}
	}
	if c, _ := s.LastCursor(ctx); c != 3 {
		t.Errorf("LastCursor = %d, want 3", c)
	}
}

func testConcurrentCommits(t *testing.T, s engine.Store) {
	ctx := context.Background()
	const tasks, perTask = 8, 20
	var cursor uint64
	var mu sync.Mutex
	next := func() uint64 { mu.Lock(); defer mu.Unlock(); cursor++; return cursor }
	var wg sync.WaitGroup
	errs := make(chan error, tasks)
	for i := range tasks {
		wg.Go(func() {
			id := fmt.Sprintf("task-%d", i)
			for seq := uint64(1); seq <= perTask; seq++ {
				task := &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking}}
				c := &engine.Commit{
					Record: &engine.Record{Task: task, Created: base, Updated: base.Add(time.Duration(seq)), LastSeq: seq},
					Events: []engine.LoggedEvent{{TaskID: id, Seq: seq, Cursor: next(), Time: base, Event: task}},
				}
				if err := s.Commit(ctx, c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs, err := s.Log(ctx, 0, 0)
	if err != nil || len(evs) != tasks*perTask {
		t.Fatalf("Log = %d events, %v; want %d", len(evs), err, tasks*perTask)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Cursor <= evs[i-1].Cursor {
			t.Fatalf("log not in cursor order at %d: %d after %d", i, evs[i].Cursor, evs[i-1].Cursor)
		}
	}
	for i := range tasks {
		id := fmt.Sprintf("task-%d", i)
		evs, err := s.Events(ctx, id, 0)
		if err != nil || len(evs) != perTask {
			t.Errorf("%s: %d events, %v", id, len(evs), err)
		}
	}
}

func testTaskForMessage(t *testing.T, s engine.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	f.commit(change{id: "a", state: a2a.StateSubmitted, at: base, msgIDs: []string{"m1"}})
	f.commit(change{id: "a", state: a2a.StateWorking, at: base, msgIDs: []string{"m2"}})
	for _, m := range []string{"m1", "m2"} {
		id, ok, err := s.TaskForMessage(ctx, m)
		if err != nil || !ok || id != "a" {
			t.Errorf("TaskForMessage(%s) = %q %v %v, want a", m, id, ok, err)
		}
	}
	if _, ok, err := s.TaskForMessage(ctx, "m3"); ok || err != nil {
		t.Errorf("TaskForMessage(unknown) = %v %v, want not found", ok, err)
	}
}

func testUnfinished(t *testing.T, s engine.Store) {
	f := newFixture(t, s)
	states := []a2a.TaskState{a2a.StateSubmitted, a2a.StateWorking, a2a.StateInputRequired,
		a2a.StateAuthRequired, a2a.StateCompleted, a2a.StateFailed, a2a.StateCanceled, a2a.StateRejected}
	// Created in reverse order of the state list, so the expected order is
	// auth, input, working, submitted.
	for i, st := range states {
		f.commit(change{id: "t-" + string(st), state: st, at: base.Add(-time.Duration(i) * time.Minute)})
	}
	recs, err := s.Unfinished(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t-auth-required", "t-input-required", "t-working", "t-submitted"}
	if got := ids(recs); !equalStrings(got, want) {
		t.Errorf("Unfinished = %v, want %v (by created time)", got, want)
	}
	f.commit(change{id: "t-working", state: a2a.StateCompleted, at: base.Add(time.Hour)})
	recs, _ = s.Unfinished(context.Background())
	if len(recs) != 3 {
		t.Errorf("after completing one: %v", ids(recs))
	}
}

func testSweepAge(t *testing.T, s engine.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	f.commit(change{id: "old-done", state: a2a.StateCompleted, at: base, msgIDs: []string{"m-old"}})
	f.commit(change{id: "old-failed", state: a2a.StateFailed, at: base.Add(time.Second)})
	f.commit(change{id: "old-waiting", state: a2a.StateInputRequired, at: base})
	f.commit(change{id: "old-working", state: a2a.StateWorking, at: base})
	f.commit(change{id: "new-done", state: a2a.StateCompleted, at: base.Add(time.Hour)})
	n, err := s.Sweep(ctx, base.Add(time.Minute), 0)
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	for _, id := range []string{"old-done", "old-failed"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, a2a.ErrTaskNotFound) {
			t.Errorf("%s after sweep: %v, want not found", id, err)
		}
		if _, err := s.Events(ctx, id, 0); err == nil {
			if evs, _ := s.Events(ctx, id, 0); len(evs) > 0 {
				t.Errorf("%s: events survive the sweep", id)
			}
		}
	}
	for _, id := range []string{"old-waiting", "old-working", "new-done"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("%s swept: %v", id, err)
		}
	}
	if _, ok, _ := s.TaskForMessage(ctx, "m-old"); ok {
		t.Error("message id of a swept task still resolves")
	}
	evs, _ := s.Log(ctx, 0, 0)
	for _, ev := range evs {
		if ev.TaskID == "old-done" || ev.TaskID == "old-failed" {
			t.Errorf("global log keeps swept task %s", ev.TaskID)
		}
	}
	got, totals := listAll(t, s, engine.ListQuery{})
	if !equalStrings(got, []string{"new-done", "old-working", "old-waiting"}) || totals[0] != 3 {
		t.Errorf("List after sweep = %v total %v", got, totals)
	}
	if n, err := s.Sweep(ctx, base.Add(time.Minute), 0); n != 0 || err != nil {
		t.Errorf("second Sweep = %d, %v; want 0", n, err)
	}
}

func testSweepCount(t *testing.T, s engine.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	for i := range 6 {
		f.commit(change{id: fmt.Sprintf("done-%d", i), state: a2a.StateCompleted, at: base.Add(time.Duration(i) * time.Minute)})
	}
	f.commit(change{id: "waiting", state: a2a.StateInputRequired, at: base.Add(-time.Hour)})
	n, err := s.Sweep(ctx, base.Add(-24*time.Hour), 2)
	if err != nil || n != 4 {
		t.Fatalf("Sweep keep 2 = %d, %v; want 4", n, err)
	}
	got, _ := listAll(t, s, engine.ListQuery{})
	if !equalStrings(got, []string{"done-5", "done-4", "waiting"}) {
		t.Errorf("kept = %v, want the 2 newest terminal tasks and the waiting one", got)
	}
}
