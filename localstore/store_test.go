package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/storetest"
)

// openTemp opens a new store in a temporary directory, closed at cleanup.
func openTemp(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "tasks.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checked fails the test if the store's Check fails at cleanup.
func checked(t *testing.T, s *Store) {
	t.Cleanup(func() {
		if err := s.Check(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Check: %v", err)
		}
	})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store {
		return checkOnClose{t: t, Store: openTemp(t, Options{})}
	})
}

// checkOnClose runs Check before the suite closes the store.
type checkOnClose struct {
	t *testing.T
	*Store
}

func (c checkOnClose) Close() error {
	if err := c.Check(); err != nil {
		c.t.Errorf("Check after %s: %v", c.t.Name(), err)
	}
	return c.Store.Close()
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)

// richTask is a task with every kind of part, history and artifacts.
func richTask(id, contextID string, state a2a.TaskState, at time.Time) *a2a.Task {
	data, _ := a2a.DataPart(map[string]any{"n": 1.5, "s": "x"})
	return &a2a.Task{
		ID:        id,
		ContextID: contextID,
		Status: a2a.TaskStatus{State: state, Timestamp: at, Message: &a2a.Message{
			ID: id + "-status", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("step 2/3")}, TaskID: id, ContextID: contextID,
		}},
		History: []a2a.Message{{
			ID: id + "-m1", Role: a2a.RoleUser, TaskID: id, ContextID: contextID,
			Parts:    []a2a.Part{a2a.TextPart("héllo \u2603"), data, a2a.FileBytesPart("a.bin", "application/octet-stream", []byte{0, 1, 2, 255})},
			Metadata: a2a.Metadata{"priority": "high"},
		}},
		Artifacts: []a2a.Artifact{{ID: "art-1", Name: "out", Parts: []a2a.Part{a2a.FileURIPart("r.txt", "text/plain", "https://example.com/r.txt")}}},
		Metadata:  a2a.Metadata{"team": "blue", "nested": map[string]any{"k": "v"}},
	}
}

func commitOne(t testing.TB, s *Store, rec *engine.Record, cursor uint64, events ...a2a.Event) {
	t.Helper()
	c := &engine.Commit{Record: rec}
	for i, ev := range events {
		c.Events = append(c.Events, engine.LoggedEvent{TaskID: rec.Task.ID, Seq: rec.LastSeq - uint64(len(events)-1-i), Cursor: cursor + uint64(i), Time: rec.Updated, Event: ev})
	}
	if err := s.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := richTask("t1", "c1", a2a.StateSubmitted, t0)
	rec := &engine.Record{Task: task, Created: t0, Updated: t0, Attempts: 2, Priority: engine.PriorityHigh, LastSeq: 1, Running: true}
	commitOne(t, s, rec, 1, task)
	working := &a2a.StatusUpdateEvent{TaskID: "t1", ContextID: "c1", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: t0.Add(time.Second)}, Metadata: a2a.Metadata{"x": "y"}}
	chunk := &a2a.ArtifactUpdateEvent{TaskID: "t1", ContextID: "c1", Artifact: a2a.Artifact{ID: "art-1", Parts: []a2a.Part{a2a.TextPart("more")}}, Append: true, LastChunk: true}
	msg := &a2a.Message{ID: "m2", Role: a2a.RoleUser, TaskID: "t1", ContextID: "c1", Parts: []a2a.Part{a2a.TextPart("answer")}}
	task2, err := a2a.Fold(task, working, chunk, msg)
	if err != nil {
		t.Fatal(err)
	}
	rec2 := &engine.Record{Task: task2, Created: t0, Updated: t0.Add(time.Second), Attempts: 2, Priority: engine.PriorityHigh, LastSeq: 4}
	c := &engine.Commit{Record: rec2, MessageIDs: []string{"m1", "m2"}}
	for i, ev := range []a2a.Event{working, chunk, msg} {
		c.Events = append(c.Events, engine.LoggedEvent{Seq: uint64(2 + i), Cursor: uint64(2 + i), Time: t0.Add(time.Duration(i+1) * time.Second), Event: ev})
	}
	if err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checked(t, s)
	got, err := s.Get(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffRecord(got, rec2); diff != "" {
		t.Errorf("record after reopen: %s", diff)
	}
	evs, err := s.Events(ctx, "t1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("timeline has %d events, want 4", len(evs))
	}
	wantTimes := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(3 * time.Second)}
	wantEvents := []a2a.Event{task, working, chunk, msg}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) || ev.Cursor != uint64(i+1) || ev.TaskID != "t1" || !ev.Time.Equal(wantTimes[i]) {
			t.Errorf("event %d: seq %d cursor %d task %q time %v", i, ev.Seq, ev.Cursor, ev.TaskID, ev.Time)
		}
		if fmt.Sprintf("%T", ev.Event) != fmt.Sprintf("%T", wantEvents[i]) {
			t.Errorf("event %d is %T, want %T", i, ev.Event, wantEvents[i])
		}
	}
	if su := evs[1].Event.(*a2a.StatusUpdateEvent); su.Status.State != a2a.StateWorking || su.Metadata["x"] != "y" {
		t.Errorf("status event = %+v", su)
	}
	if au := evs[2].Event.(*a2a.ArtifactUpdateEvent); !au.Append || !au.LastChunk || au.Artifact.Parts[0].Text != "more" {
		t.Errorf("artifact event = %+v", au)
	}
	if id, ok, err := s.TaskForMessage(ctx, "m2"); err != nil || !ok || id != "t1" {
		t.Errorf("TaskForMessage after reopen = %q %v %v", id, ok, err)
	}
	if cur, err := s.LastCursor(ctx); err != nil || cur != 4 {
		t.Errorf("LastCursor after reopen = %d, %v", cur, err)
	}
	res, err := s.List(ctx, engine.ListQuery{State: a2a.StateWorking})
	if err != nil || len(res.Records) != 1 || res.TotalSize != 1 {
		t.Errorf("List working after reopen = %+v, %v", res, err)
	}
}

// diffRecord compares records field by field (times with Equal).
func diffRecord(got, want *engine.Record) string {
	var d []string
	if !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
		d = append(d, fmt.Sprintf("times %v/%v, want %v/%v", got.Created, got.Updated, want.Created, want.Updated))
	}
	if got.Attempts != want.Attempts || got.Priority != want.Priority || got.LastSeq != want.LastSeq || got.Running != want.Running {
		d = append(d, fmt.Sprintf("bookkeeping %d/%d/%d/%v, want %d/%d/%d/%v", got.Attempts, got.Priority, got.LastSeq, got.Running,
			want.Attempts, want.Priority, want.LastSeq, want.Running))
	}
	g, w := taskString(got.Task), taskString(want.Task)
	if g != w {
		d = append(d, fmt.Sprintf("task\n got %s\nwant %s", g, w))
	}
	return strings.Join(d, "; ")
}

// taskString renders a task as JSON with times in UTC, for comparisons.
func taskString(t *a2a.Task) string {
	c := *t
	c.Status.Timestamp = c.Status.Timestamp.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestCommitValidation(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{})
	checked(t, s)
	task := &a2a.Task{ID: "a", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateSubmitted}}
	good := engine.LoggedEvent{TaskID: "a", Seq: 1, Cursor: 1, Time: t0, Event: task}
	rec := &engine.Record{Task: task, Updated: t0, LastSeq: 1}
	bad := []struct {
		name string
		c    *engine.Commit
	}{
		{"nil commit", nil},
		{"no record", &engine.Commit{}},
		{"no task", &engine.Commit{Record: &engine.Record{}}},
		{"no id", &engine.Commit{Record: &engine.Record{Task: &a2a.Task{}}}},
		{"other task's event", &engine.Commit{Record: rec, Events: []engine.LoggedEvent{{TaskID: "b", Seq: 1, Cursor: 1, Event: task}}}},
		{"seq zero", &engine.Commit{Record: rec, Events: []engine.LoggedEvent{{Seq: 0, Cursor: 1, Event: task}}}},
		{"cursor zero", &engine.Commit{Record: rec, Events: []engine.LoggedEvent{{Seq: 1, Cursor: 0, Event: task}}}},
		{"seq not increasing", &engine.Commit{Record: &engine.Record{Task: task, LastSeq: 2}, Events: []engine.LoggedEvent{{Seq: 2, Cursor: 1, Event: task}, {Seq: 1, Cursor: 2, Event: task}}}},
		{"LastSeq below events", &engine.Commit{Record: &engine.Record{Task: task, LastSeq: 0}, Events: []engine.LoggedEvent{good}}},
		{"nil event", &engine.Commit{Record: rec, Events: []engine.LoggedEvent{{Seq: 1, Cursor: 1}}}},
		{"typed nil event", &engine.Commit{Record: rec, Events: []engine.LoggedEvent{{Seq: 1, Cursor: 1, Event: (*a2a.Task)(nil)}}}},
	}
	for _, tc := range bad {
		if err := s.Commit(ctx, tc.c); !errors.Is(err, a2a.ErrInvalidParams) {
			t.Errorf("%s: Commit = %v, want ErrInvalidParams", tc.name, err)
		}
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("a refused commit stored something: %v", err)
	}
	if err := s.Commit(ctx, &engine.Commit{Record: rec, Events: []engine.LoggedEvent{good}}); err != nil {
		t.Fatal(err)
	}
	// Replaying a stored seq, or reusing a cursor, is refused and changes nothing.
	rec2 := &engine.Record{Task: task, Updated: t0.Add(time.Hour), LastSeq: 2}
	again := []*engine.Commit{
		{Record: rec, Events: []engine.LoggedEvent{good}},
		{Record: rec2, Events: []engine.LoggedEvent{{Seq: 2, Cursor: 1, Event: task}}},
	}
	for i, c := range again {
		if err := s.Commit(ctx, c); !errors.Is(err, a2a.ErrInvalidParams) {
			t.Errorf("replay %d: Commit = %v, want ErrInvalidParams", i, err)
		}
	}
	got, err := s.Get(ctx, "a")
	if err != nil || !got.Updated.Equal(t0) || got.LastSeq != 1 {
		t.Errorf("after refused replays: %+v, %v", got, err)
	}
}

// A failing commit in a group does not fail the others.
func TestGroupWithFailingCommit(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{NoSync: true})
	checked(t, s)
	mk := func(id string, cursor uint64) *engine.Commit {
		task := &a2a.Task{ID: id, Status: a2a.TaskStatus{State: a2a.StateWorking}}
		return &engine.Commit{Record: &engine.Record{Task: task, Updated: t0, LastSeq: 1},
			Events: []engine.LoggedEvent{{Seq: 1, Cursor: cursor, Event: task}}}
	}
	// Applied directly as one group: the middle one reuses cursor 1.
	var reqs []*commitRequest
	for i, c := range []*engine.Commit{mk("a", 1), mk("b", 1), mk("c", 3)} {
		p, err := prepare(c)
		if err != nil {
			t.Fatal(i, err)
		}
		reqs = append(reqs, &commitRequest{prepared: p, done: make(chan error, 1)})
	}
	s.applyGroup(reqs)
	for i, want := range []bool{true, false, true} {
		err := <-reqs[i].done
		if (err == nil) != want {
			t.Errorf("request %d: %v", i, err)
		}
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": true} {
		_, err := s.Get(ctx, id)
		if (err == nil) != want {
			t.Errorf("Get %s: %v", id, err)
		}
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	task := &a2a.Task{ID: "a", Status: a2a.TaskStatus{State: a2a.StateWorking}}
	if err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: task}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v", err)
	}
	if _, err := s.List(ctx, engine.ListQuery{}); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := openTemp(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	task := &a2a.Task{ID: "a", Status: a2a.TaskStatus{State: a2a.StateWorking}}
	if err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: task}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit = %v", err)
	}
	if _, err := s.List(ctx, engine.ListQuery{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List = %v", err)
	}
	if _, err := s.Get(context.Background(), "a"); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Errorf("a canceled commit was stored: %v", err)
	}
}

// Ids with NUL bytes and other unusual characters list in id-descending
// order and round-trip.
func TestOddIDs(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{})
	checked(t, s)
	ids := []string{"a", "a\x00", "a\x00\x00", "a\u00ff", "ab", "\uffff", "\x00", "b", "😀"}
	for i, id := range ids {
		task := &a2a.Task{ID: id, ContextID: "ctx\x00\u00ff", Status: a2a.TaskStatus{State: a2a.StateInputRequired}}
		commitOne(t, s, &engine.Record{Task: task, Updated: t0, LastSeq: 1}, uint64(i+1), task)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	slices.Reverse(want)
	for _, q := range []engine.ListQuery{{}, {ContextID: "ctx\x00\u00ff"}, {State: a2a.StateInputRequired}, {ContextID: "ctx\x00\u00ff", State: a2a.StateInputRequired}} {
		var got []string
		for {
			res, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				got = append(got, r.Task.ID)
			}
			if res.NextPageToken == "" {
				break
			}
			q.PageToken = res.NextPageToken
			q.PageSize = 3
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("query %+v: ids %q, want %q", q, got, want)
		}
	}
	recs, err := s.Unfinished(ctx)
	if err != nil || len(recs) != len(ids) {
		t.Errorf("Unfinished = %d records, %v", len(recs), err)
	}
}

// Invalid UTF-8 in anything a key is built from, and states the codec does
// not keep, are refused, since the stored task could not give the same
// string back.
func TestUnstorableKeysRefused(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{})
	checked(t, s)
	for _, task := range []*a2a.Task{
		{ID: "a\xff"},
		{ID: "a", ContextID: "\xc3("},
		{ID: "a", Status: a2a.TaskStatus{State: "\xfe"}},
		{ID: "a", Status: a2a.TaskStatus{State: "paused"}},
		{ID: "a", Status: a2a.TaskStatus{State: ""}},
	} {
		err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: task, LastSeq: 1}, Events: []engine.LoggedEvent{{Seq: 1, Cursor: 1, Event: task}}})
		if !errors.Is(err, a2a.ErrInvalidParams) {
			t.Errorf("task %+v: Commit = %v, want ErrInvalidParams", task, err)
		}
	}
	task := &a2a.Task{ID: "a", Status: a2a.TaskStatus{State: a2a.StateWorking}}
	err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: task}, MessageIDs: []string{"m\xff"}})
	if !errors.Is(err, a2a.ErrInvalidParams) {
		t.Errorf("message id: Commit = %v, want ErrInvalidParams", err)
	}
	// Text with invalid UTF-8 is stored (JSON replaces the bad bytes).
	task = &a2a.Task{ID: "b", Status: a2a.TaskStatus{State: a2a.StateWorking, Message: &a2a.Message{ID: "m", Parts: []a2a.Part{a2a.TextPart("bad \xff text")}}}}
	if err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: task}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "b"); err != nil || !strings.HasPrefix(got.Task.Status.Message.Text(), "bad ") {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

func TestPageTokenChecks(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{})
	for i := range 3 {
		task := &a2a.Task{ID: fmt.Sprintf("t%d", i), ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking}}
		commitOne(t, s, &engine.Record{Task: task, Updated: t0.Add(time.Duration(i)), LastSeq: 1}, uint64(i+1), task)
	}
	res, err := s.List(ctx, engine.ListQuery{PageSize: 1, State: a2a.StateWorking})
	if err != nil || res.NextPageToken == "" {
		t.Fatalf("List = %+v, %v", res, err)
	}
	// A token of one query is refused by a query with other filters.
	if _, err := s.List(ctx, engine.ListQuery{PageSize: 1, PageToken: res.NextPageToken}); !errors.Is(err, a2a.ErrInvalidParams) {
		t.Errorf("token of another query: %v", err)
	}
	// A token whose task changed since still continues the listing.
	task := &a2a.Task{ID: "t2", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking}}
	commitOne(t, s, &engine.Record{Task: task, Updated: t0.Add(time.Hour), LastSeq: 2}, 4, &a2a.StatusUpdateEvent{TaskID: "t2", Status: task.Status})
	next, err := s.List(ctx, engine.ListQuery{PageSize: 5, State: a2a.StateWorking, PageToken: res.NextPageToken})
	if err != nil || len(next.Records) != 2 || next.Records[0].Task.ID != "t1" {
		t.Errorf("continued page = %+v, %v", next, err)
	}
}

// bulkCommit applies commits in one transaction, as the writer does with
// a group, to build big stores quickly.
func bulkCommit(t testing.TB, s *Store, commits []*engine.Commit) {
	t.Helper()
	var ps []*prepared
	for _, c := range commits {
		p, err := prepare(c)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	err := s.write(func(b txBuckets) error {
		for _, p := range ps {
			if err := apply(b, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Sweep removes everything of a task; Check proves nothing dangles.
func TestSweepLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{NoSync: true})
	checked(t, s)
	cursor := uint64(0)
	const n = 1400
	var commits []*engine.Commit
	for i := range n {
		id := fmt.Sprintf("t%05d", i)
		state := []a2a.TaskState{a2a.StateCompleted, a2a.StateFailed, a2a.StateCanceled, a2a.StateRejected, a2a.StateWorking}[i%5]
		task := richTask(id, fmt.Sprintf("c%d", i%7), a2a.StateSubmitted, t0)
		at := t0.Add(time.Duration(i) * time.Second)
		cursor++
		commits = append(commits, &engine.Commit{Record: &engine.Record{Task: task, Updated: at, LastSeq: 1}, MessageIDs: []string{id + "-m1"},
			Events: []engine.LoggedEvent{{Seq: 1, Cursor: cursor, Time: at, Event: task}}})
		done := task.Clone()
		done.Status = a2a.TaskStatus{State: state, Timestamp: at}
		cursor++
		commits = append(commits, &engine.Commit{Record: &engine.Record{Task: done, Updated: at, LastSeq: 2}, MessageIDs: []string{id + "-m2"},
			Events: []engine.LoggedEvent{{Seq: 2, Cursor: cursor, Time: at, Event: &a2a.StatusUpdateEvent{TaskID: id, Status: done.Status}}}})
	}
	bulkCommit(t, s, commits)
	// By age: the first 1300 tasks, of which 1040 are terminal (more than
	// one sweep transaction's worth).
	got, err := s.Sweep(ctx, t0.Add(1300*time.Second), 0)
	if err != nil || got != 1040 {
		t.Fatalf("Sweep by age = %d, %v; want 1040", got, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// By count: of the 100 tasks left, 80 are terminal; keep 10.
	got, err = s.Sweep(ctx, time.Time{}, 10)
	if err != nil || got != 70 {
		t.Fatalf("Sweep by count = %d, %v; want 70", got, err)
	}
	res, err := s.List(ctx, engine.ListQuery{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	terminal := 0
	for _, r := range res.Records {
		if r.Task.Status.State.Terminal() {
			terminal++
			if r.Updated.Before(t0.Add((n - 13) * time.Second)) {
				t.Errorf("kept an old terminal task %s", r.Task.ID)
			}
		}
	}
	if terminal != 10 || res.TotalSize != 10+n/5 {
		t.Errorf("after sweeps: %d terminal, total %d", terminal, res.TotalSize)
	}
	if _, ok, _ := s.TaskForMessage(ctx, "t00000-m2"); ok {
		t.Error("swept task's message id resolves")
	}
	if _, ok, _ := s.TaskForMessage(ctx, "t00004-m2"); !ok {
		t.Error("working task's message id was swept")
	}
	if cur, _ := s.LastCursor(ctx); cur != 2*n {
		t.Errorf("LastCursor after sweep = %d, want %d", cur, 2*n)
	}
	if evs, _ := s.Log(ctx, 0, 0); len(evs) != 2*(10+n/5) {
		t.Errorf("log holds %d events, want %d", len(evs), 2*(10+n/5))
	}
}

// A Text scan longer than releaseAfter drops the mapped pages midway and
// still reads correct data after.
func TestLongTextScan(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{NoSync: true})
	const n = releaseAfter + 500
	var commits []*engine.Commit
	for i := range n {
		id := fmt.Sprintf("t%05d", i)
		task := &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateCompleted}, Metadata: a2a.Metadata{"i": i}}
		if i == 0 || i == 7 {
			task.Metadata["needle"] = "Haystack"
		}
		commits = append(commits, &engine.Commit{Record: &engine.Record{Task: task, Updated: t0.Add(time.Duration(i) * time.Second), LastSeq: 1},
			Events: []engine.LoggedEvent{{Seq: 1, Cursor: uint64(i + 1), Event: task}}})
	}
	bulkCommit(t, s, commits)
	res, err := s.List(ctx, engine.ListQuery{Text: "haystack", PageSize: 1})
	if err != nil || len(res.Records) != 1 || res.Records[0].Task.ID != "t00007" || res.NextPageToken == "" {
		t.Fatalf("first page = %+v, %v", res, err)
	}
	res, err = s.List(ctx, engine.ListQuery{Text: "haystack", PageSize: 1, PageToken: res.NextPageToken})
	if err != nil || len(res.Records) != 1 || res.Records[0].Task.ID != "t00000" || res.NextPageToken != "" {
		t.Fatalf("second page = %+v, %v", res, err)
	}
	if res.Records[0].Task.Metadata["needle"] != "Haystack" {
		t.Errorf("metadata after the scan = %v", res.Records[0].Task.Metadata)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
