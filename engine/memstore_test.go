package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/loadgen"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return engine.NewMemoryStore() })
}

// TestMemoryStoreFrozenConformance runs the suite on stores that freeze
// finished tasks at once, or after one newer terminal commit, so that
// every read meets frozen tasks (the default keeps the latest 1,024
// decoded, more than the suite commits).
func TestMemoryStoreFrozenConformance(t *testing.T) {
	for _, hot := range []int{0, 1} {
		t.Run(fmt.Sprintf("hot=%d", hot), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) engine.Store { return engine.NewMemoryStoreHot(hot) })
		})
	}
}

// BenchmarkMemoryStoreBytesPerTask fills a memory store through the engine
// and the demo agent with blocking "echo" sends (64 at a time), as `a2atop
// serve --db :memory:` stores them, and reports the live Go heap each
// stored task holds (after a GC), at 10k and 100k tasks. ns/op means
// nothing: it runs once whatever b.N is. The server's resident set, what
// issue 17 compares with the a2a-go server, is about heap × (1 +
// GOGC/100) at its peak; server/loadbench's BenchmarkStoredTasks reports it.
//
//	go test -run '^$' -bench MemoryStoreBytesPerTask -benchtime 1x ./engine
func BenchmarkMemoryStoreBytesPerTask(b *testing.B) {
	ctx := context.Background()
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	stored := 0
	for _, count := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("tasks=%d", count), func(b *testing.B) {
			if _, err := loadgen.Run(ctx, 64, count-stored, func(ctx context.Context) error {
				res, err := eng.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}}})
				if err == nil && (res.Task == nil || res.Task.Status.State != a2a.StateCompleted) {
					err = fmt.Errorf("echo answered %+v", res)
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
			stored = count
			b.ReportMetric(float64(heap()-base)/float64(count), "heap-bytes/task")
		})
	}
}

// TestMemoryStoreFrozenRoundTrip commits the same tasks to a store that
// freezes every finished task at once and to one that keeps them decoded,
// and checks that every read gives the same records and events: what
// freezing keeps (the bookkeeping, times to the nanosecond, the zero time,
// every kind of event) comes back.
func TestMemoryStoreFrozenRoundTrip(t *testing.T) {
	ctx := context.Background()
	frozen, plain := engine.NewMemoryStoreHot(0), engine.NewMemoryStore()
	base := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	cursor := uint64(0)
	for i := range 6 {
		id := fmt.Sprintf("task-%d", i)
		at := base.Add(time.Duration(i) * 1500 * time.Millisecond)
		user := a2a.Message{ID: id + "-u", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo  hi " + id)}, TaskID: id, ContextID: "ctx"}
		data, err := a2a.DataPart(map[string]any{"n": float64(i)})
		if err != nil {
			t.Fatal(err)
		}
		art := a2a.Artifact{ID: id + "-a", Name: "echo", Parts: []a2a.Part{a2a.TextPart("hi"), data}, Metadata: a2a.Metadata{"k": "v"}}
		state := []a2a.TaskState{a2a.StateCompleted, a2a.StateFailed, a2a.StateCanceled, a2a.StateRejected, a2a.StateCompleted, a2a.StateWorking}[i]
		done := a2a.TaskStatus{State: state, Timestamp: at.Add(time.Millisecond), Message: &a2a.Message{ID: id + "-r", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("done")}, TaskID: id, ContextID: "ctx"}}
		task := &a2a.Task{ID: id, ContextID: "ctx", Status: done, History: []a2a.Message{user}, Artifacts: []a2a.Artifact{art}, Metadata: a2a.Metadata{"priority": "high", "i": float64(i)}}
		submitted := &a2a.Task{ID: id, ContextID: "ctx", Status: a2a.TaskStatus{State: a2a.StateSubmitted}, History: []a2a.Message{user}}
		events := []a2a.Event{
			submitted,
			&a2a.StatusUpdateEvent{TaskID: id, ContextID: "ctx", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: at}},
			&a2a.ArtifactUpdateEvent{TaskID: id, ContextID: "ctx", Artifact: art, LastChunk: true},
			&a2a.StatusUpdateEvent{TaskID: id, ContextID: "ctx", Status: done, Final: state.Terminal()},
		}
		c := &engine.Commit{
			Record:     &engine.Record{Task: task, Created: at, Updated: at.Add(time.Millisecond), Attempts: i, Priority: engine.Priority(i%3 - 1), LastSeq: uint64(len(events)), Running: i == 5, Stopped: i == 4},
			MessageIDs: []string{user.ID},
		}
		for j, ev := range events {
			cursor++
			when := at.Add(time.Duration(j) * time.Microsecond)
			if j == 1 {
				when = time.Time{} // the zero time survives too
			}
			c.Events = append(c.Events, engine.LoggedEvent{TaskID: id, Seq: uint64(j + 1), Cursor: cursor, Time: when, Event: ev})
		}
		for _, s := range []engine.Store{frozen, plain} {
			if err := s.Commit(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A commit to a frozen task thaws it.
	for _, s := range []engine.Store{frozen, plain} {
		rec, err := s.Get(ctx, "task-0")
		if err != nil {
			t.Fatal(err)
		}
		next := *rec
		next.LastSeq++
		next.Updated = next.Updated.Add(time.Second)
		cursor := uint64(100)
		if err := s.Commit(ctx, &engine.Commit{Record: &next, Events: []engine.LoggedEvent{{TaskID: "task-0", Seq: next.LastSeq, Cursor: cursor, Time: next.Updated, Event: &a2a.StatusUpdateEvent{TaskID: "task-0", ContextID: "ctx", Status: next.Task.Status, Final: true}}}}); err != nil {
			t.Fatal(err)
		}
	}
	same := func(what string, a, b any) {
		t.Helper()
		ja, jb := render(t, a), render(t, b)
		if ja != jb {
			t.Errorf("%s differs:\nfrozen %s\nplain  %s", what, ja, jb)
		}
	}
	for i := range 6 {
		id := fmt.Sprintf("task-%d", i)
		fr, err1 := frozen.Get(ctx, id)
		pr, err2 := plain.Get(ctx, id)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		same("Get "+id, fr, pr)
		fe, err1 := frozen.Events(ctx, id, 1)
		pe, err2 := plain.Events(ctx, id, 1)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		same("Events "+id, fe, pe)
	}
	for _, q := range []engine.ListQuery{{}, {PageSize: 2}, {State: a2a.StateCompleted}, {ContextID: "ctx", State: a2a.StateFailed}, {Text: "HIGH"}} {
		fl, err1 := frozen.List(ctx, q)
		pl, err2 := plain.List(ctx, q)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		same(fmt.Sprintf("List %+v", q), fl, pl)
	}
	for _, after := range []uint64{0, 5, 23} {
		fl, err1 := frozen.Log(ctx, after, 7)
		pl, err2 := plain.Log(ctx, after, 7)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		same(fmt.Sprintf("Log after %d", after), fl, pl)
	}
	fu, err1 := frozen.Unfinished(ctx)
	pu, err2 := plain.Unfinished(ctx)
	if err1 != nil || err2 != nil || len(fu) != 1 {
		t.Fatal(len(fu), err1, err2)
	}
	same("Unfinished", fu, pu)
	for _, s := range []engine.Store{frozen, plain} {
		if n, err := s.Sweep(ctx, base.Add(time.Hour), 0); err != nil || n != 5 {
			t.Fatalf("Sweep = %d, %v; want the 5 finished tasks", n, err)
		}
	}
	fl, _ := frozen.Log(ctx, 0, 0)
	pl, _ := plain.Log(ctx, 0, 0)
	same("Log after Sweep", fl, pl)
}

// render prints records and events in full, times as RFC 3339 with
// nanoseconds, events and tasks in v1.0 JSON.
func render(t *testing.T, v any) string {
	t.Helper()
	codec := wire.V10()
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case *engine.Record:
			task, err := codec.EncodeTask(v.Task)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "record{%s %s %d %d %d %v %v %s}\n", v.Created.Format(time.RFC3339Nano), v.Updated.Format(time.RFC3339Nano), v.Attempts, v.Priority, v.LastSeq, v.Running, v.Stopped, task)
		case []*engine.Record:
			for _, r := range v {
				walk(r)
			}
		case *engine.ListResult:
			fmt.Fprintf(&b, "list{total %d next %q}\n", v.TotalSize, v.NextPageToken)
			walk(v.Records)
		case []engine.LoggedEvent:
			for _, ev := range v {
				body, err := codec.EncodeEvent(ev.Event)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "event{%s %d %d %s %s}\n", ev.TaskID, ev.Seq, ev.Cursor, ev.Time.Format(time.RFC3339Nano), body)
			}
		default:
			t.Fatalf("render %T", v)
		}
	}
	walk(v)
	return b.String()
}

// TestMemoryStoreFreezeUnderLoad runs echo tasks through the engine on a
// store that freezes every finished task at once, with readers listing,
// getting and following the log meanwhile: under -race it checks that
// freezing (which encodes outside the store's lock) shares nothing
// unguarded, and that every task reads back whole.
func TestMemoryStoreFreezeUnderLoad(t *testing.T) {
	ctx := context.Background()
	store := engine.NewMemoryStoreHot(0)
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		defer close(readerErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := store.List(ctx, engine.ListQuery{PageSize: 20})
			if err == nil {
				for _, rec := range res.Records {
					if _, err = store.Events(ctx, rec.Task.ID, 0); err != nil {
						break
					}
				}
			}
			if err == nil {
				_, err = store.Log(ctx, 0, 100)
			}
			if err != nil {
				readerErr <- err
				return
			}
		}
	}()
	const sends = 200
	ids := make(chan string, sends)
	_, err = loadgen.Run(ctx, 16, sends, func(ctx context.Context) error {
		res, err := eng.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo frozen")}}})
		if err == nil && (res.Task == nil || res.Task.Status.State != a2a.StateCompleted) {
			err = fmt.Errorf("echo answered %+v", res)
		}
		if err == nil {
			ids <- res.Task.ID
		}
		return err
	})
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	close(ids)
	for id := range ids {
		rec, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Task.Status.State != a2a.StateCompleted || len(rec.Task.Artifacts) != 1 || rec.Task.Artifacts[0].Parts[0].Text != "frozen" {
			t.Fatalf("task %s read back as %+v", id, rec.Task)
		}
		evs, err := store.Events(ctx, id, 0)
		if err != nil || len(evs) == 0 || uint64(len(evs)) != rec.LastSeq {
			t.Fatalf("task %s: %d events, last seq %d, %v", id, len(evs), rec.LastSeq, err)
		}
	}
	all, err := store.Log(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Cursor <= all[i-1].Cursor {
			t.Fatalf("log out of order at %d: cursor %d after %d", i, all[i].Cursor, all[i-1].Cursor)
		}
	}
}
