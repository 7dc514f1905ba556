package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/testkit"
)

func TestCancel(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	exec := engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		switch req.Message.Text() {
		case "obedient":
			return g.wait(ctx, "obedient")
		case "stubborn":
			g.entered <- "stubborn"
			<-g.ch // ignores ctx
			return pub.Complete(context.Background(), "too late")
		case "ask":
			return pub.InputRequired(ctx, "?")
		case "done":
			return nil
		case "fail":
			return errors.New("no")
		}
		return nil
	})
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *engine.Engine) string
		wantErr    error
		wantState  a2a.TaskState
		wantReason string
	}{
		{"running, executor stops", func(t *testing.T, e *engine.Engine) string {
			id := sendNoWait(t, e, textMsg("obedient")).ID
			<-g.entered
			return id
		}, nil, a2a.StateCanceled, engine.ReasonCanceled},
		{"running, executor ignores ctx", func(t *testing.T, e *engine.Engine) string {
			id := sendNoWait(t, e, textMsg("stubborn")).ID
			<-g.entered
			return id
		}, nil, a2a.StateCanceled, "did not stop within"},
		{"input required", func(t *testing.T, e *engine.Engine) string {
			return send(t, e, textMsg("ask")).ID
		}, nil, a2a.StateCanceled, engine.ReasonCanceled},
		{"queued", func(t *testing.T, e *engine.Engine) string {
			sendNoWait(t, e, textMsg("obedient"))
			<-g.entered
			id := sendNoWait(t, e, textMsg("done")).ID
			if st := get(t, e, id).Status.State; st != a2a.StateSubmitted {
				t.Fatalf("second task is %s, want queued", st)
			}
			return id
		}, nil, a2a.StateCanceled, engine.ReasonCanceled},
		{"completed", func(t *testing.T, e *engine.Engine) string {
			return send(t, e, textMsg("done")).ID
		}, a2a.ErrNotCancelable, "", ""},
		{"failed", func(t *testing.T, e *engine.Engine) string {
			return send(t, e, textMsg("fail")).ID
		}, a2a.ErrNotCancelable, "", ""},
		{"unknown", func(t *testing.T, e *engine.Engine) string { return "nope" }, a2a.ErrTaskNotFound, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t, exec, engine.Options{MaxRunning: 1, CancelGrace: 50 * time.Millisecond})
			id := tc.setup(t, e)
			task, err := e.Cancel(context.Background(), id)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Cancel = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			if task.Status.State != tc.wantState || !strings.Contains(statusText(task), tc.wantReason) {
				t.Fatalf("after cancel: %s %q, want %s with %q", task.Status.State, statusText(task), tc.wantState, tc.wantReason)
			}
			// Canceling again is harmless and returns the task.
			again, err := e.Cancel(context.Background(), id)
			if err != nil || again.Status.State != a2a.StateCanceled {
				t.Errorf("second cancel = %v, %v", again, err)
			}
			if got := get(t, e, id); got.Status.State != a2a.StateCanceled {
				t.Errorf("stored state = %s", got.Status.State)
			}
		})
	}
}

func TestCancelFreesSlotOfStubbornExecutor(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if req.Message.Text() == "stubborn" {
			g.entered <- "stubborn"
			<-g.ch
		}
		return nil
	}), engine.Options{MaxRunning: 1, CancelGrace: 20 * time.Millisecond})
	stuck := sendNoWait(t, e, textMsg("stubborn"))
	<-g.entered
	next := sendNoWait(t, e, textMsg("quick"))
	if _, err := e.Cancel(context.Background(), stuck.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, next.ID, a2a.StateCompleted)
}

func TestQueueOrderAndPositions(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	var mu sync.Mutex
	var order []string
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		name := req.Message.Text()
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		if name == "first" {
			return g.wait(ctx, name)
		}
		return nil
	}), engine.Options{MaxRunning: 1, HighReserve: -1}) // no reserve: high waits its turn in the queue
	sendNoWait(t, e, textMsg("first"))
	<-g.entered
	prio := func(text, p string) a2a.Message {
		m := textMsg(text)
		if p != "" {
			m.Metadata = a2a.Metadata{"priority": p}
		}
		return m
	}
	ids := map[string]string{}
	for _, m := range []a2a.Message{prio("low1", "low"), prio("norm1", ""), prio("high1", "high"), prio("norm2", "normal")} {
		ids[m.Text()] = sendNoWait(t, e, m).ID
	}
	// Priority in the request's metadata counts too.
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: textMsg("high2"), Metadata: a2a.Metadata{"priority": "high"},
		Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	ids["high2"] = res.Task.ID
	want := map[string]int{"high1": 1, "high2": 2, "norm1": 3, "norm2": 4, "low1": 5}
	for name, pos := range want {
		text := fmt.Sprintf("queued (position %d)", pos)
		testkit.Eventually(t, name+" to show "+text, func() bool {
			task := get(t, e, ids[name])
			return task.Status.State == a2a.StateSubmitted && statusText(task) == text
		})
	}
	g.open()
	for name := range want {
		waitState(t, e, ids[name], a2a.StateCompleted)
	}
	mu.Lock()
	got := strings.Join(order, " ")
	mu.Unlock()
	if got != "first high1 high2 norm1 norm2 low1" {
		t.Errorf("execution order = %s", got)
	}
	// low1 moved back to position 5 as higher priorities arrived, then
	// only forward; each published position differs from the one before.
	tl := timelineTexts(t, e, ids["low1"])
	var positions []int
	for _, line := range tl {
		if i := strings.Index(line, "position "); i >= 0 {
			p, _ := strconv.Atoi(strings.TrimSuffix(line[i+len("position "):], ")"))
			positions = append(positions, p)
		}
	}
	at5 := -1
	for i, p := range positions {
		if i > 0 && p == positions[i-1] {
			t.Errorf("position %d published twice in a row: %v", p, positions)
		}
		if p == 5 {
			at5 = i
		}
	}
	if at5 < 0 {
		t.Fatalf("low1 never showed position 5: %q", tl)
	}
	for i := at5 + 1; i < len(positions); i++ {
		if positions[i] >= positions[i-1] {
			t.Errorf("positions after 5 not decreasing: %v", positions)
		}
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		failures   int // retryable failures before success
		plain      bool
		wantState  a2a.TaskState
		wantCalls  int32
		wantText   string
		wantInTime string
	}{
		{"succeeds on third attempt", 2, false, a2a.StateCompleted, 3, "", "attempt 3/3 after error: flaky 2"},
		{"exhausted", 5, false, a2a.StateFailed, 3, "flaky 3", "attempt 2/3 after error: flaky 1"},
		{"not retryable", 5, true, a2a.StateFailed, 1, "flaky 1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var attempts []int
			var mu sync.Mutex
			e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
				n := calls.Add(1)
				mu.Lock()
				attempts = append(attempts, req.Attempt)
				mu.Unlock()
				if int(n) <= tc.failures {
					err := fmt.Errorf("flaky %d", n)
					if tc.plain {
						return err
					}
					return engine.Retryable(err)
				}
				return nil
			}), engine.Options{RetryBackoff: time.Millisecond})
			task := send(t, e, textMsg("x"))
			if task.Status.State != tc.wantState || statusText(task) != tc.wantText {
				t.Fatalf("end = %s %q, want %s %q", task.Status.State, statusText(task), tc.wantState, tc.wantText)
			}
			if calls.Load() != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tc.wantCalls)
			}
			mu.Lock()
			for i, a := range attempts {
				if a != i+1 {
					t.Errorf("attempt numbers = %v", attempts)
					break
				}
			}
			mu.Unlock()
			if tc.wantInTime != "" {
				if tl := timelineTexts(t, e, task.ID); !containsLine(tl, tc.wantInTime) {
					t.Errorf("timeline %q lacks %q", tl, tc.wantInTime)
				}
			}
		})
	}
}

func TestRetention(t *testing.T) {
	var now atomic.Int64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	g := newGate()
	t.Cleanup(g.open)
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if req.Message.Text() == "ask" {
			return pub.InputRequired(ctx, "?")
		}
		return nil
	}), engine.Options{Now: clock, Retention: time.Hour, SweepInterval: time.Millisecond})
	old := send(t, e, textMsg("old"))
	waiting := send(t, e, textMsg("ask"))
	now.Add(int64(2 * time.Hour))
	fresh := send(t, e, textMsg("fresh"))
	testkit.Eventually(t, "the old task to be swept", func() bool {
		_, err := e.Get(context.Background(), a2a.GetRequest{ID: old.ID})
		return errors.Is(err, a2a.ErrTaskNotFound)
	})
	get(t, e, waiting.ID)
	get(t, e, fresh.ID)
}

func TestRetainForever(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	for _, keep := range []int{0, 2} {
		e, _ := newEngine(t, echoExec(), engine.Options{Now: clock, Retention: engine.RetainForever, RetainCount: keep, SweepInterval: time.Millisecond})
		var ids []string
		for i := range 3 {
			ids = append(ids, send(t, e, textMsg(fmt.Sprint(i))).ID)
		}
		now.Add(int64(365 * 24 * time.Hour))
		want := 3
		if keep > 0 {
			want = keep
			testkit.Eventually(t, "the count limit to sweep", func() bool {
				_, err := e.Get(context.Background(), a2a.GetRequest{ID: ids[0]})
				return errors.Is(err, a2a.ErrTaskNotFound)
			})
		} else {
			time.Sleep(50 * time.Millisecond) // many sweeps
		}
		page, err := e.List(context.Background(), a2a.ListRequest{})
		if err != nil || len(page.Tasks) != want {
			t.Fatalf("keep %d, a year later: %d tasks (%v), want %d", keep, len(page.Tasks), err, want)
		}
	}
}

func TestRetainCount(t *testing.T) {
	e, _ := newEngine(t, echoExec(), engine.Options{RetainCount: 2, SweepInterval: time.Millisecond})
	var ids []string
	for i := range 5 {
		ids = append(ids, send(t, e, textMsg(fmt.Sprint(i))).ID)
	}
	testkit.Eventually(t, "only 2 tasks to remain", func() bool {
		page, err := e.List(context.Background(), a2a.ListRequest{})
		return err == nil && len(page.Tasks) == 2
	})
	page, _ := e.List(context.Background(), a2a.ListRequest{})
	if page.Tasks[0].ID != ids[4] || page.Tasks[1].ID != ids[3] {
		t.Errorf("kept %s %s, want the newest two", page.Tasks[0].ID, page.Tasks[1].ID)
	}
}

// seed commits a record in a given state, as a previous run would have.
func seed(t *testing.T, s engine.Store, cursor *uint64, id string, state a2a.TaskState, running bool, attempts int, created time.Time) {
	t.Helper()
	msg := a2a.Message{ID: "m-" + id, Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(id)}, TaskID: id, ContextID: "c"}
	task := &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: state, Timestamp: created}, History: []a2a.Message{msg}}
	*cursor++
	err := s.Commit(context.Background(), &engine.Commit{
		Record:     &engine.Record{Task: task, Created: created, Updated: created, Attempts: attempts, Running: running, LastSeq: 1},
		Events:     []engine.LoggedEvent{{TaskID: id, Seq: 1, Cursor: *cursor, Time: created, Event: task}},
		MessageIDs: []string{msg.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRestart(t *testing.T) {
	store := engine.NewMemoryStore()
	var cursor uint64
	base := time.Now().Add(-time.Hour)
	seed(t, store, &cursor, "queued-2", a2a.StateSubmitted, false, 0, base.Add(2*time.Second))
	seed(t, store, &cursor, "queued-1", a2a.StateSubmitted, false, 0, base.Add(1*time.Second))
	seed(t, store, &cursor, "running-retry", a2a.StateWorking, true, 1, base.Add(3*time.Second))
	seed(t, store, &cursor, "running-spent", a2a.StateWorking, true, 3, base.Add(4*time.Second))
	seed(t, store, &cursor, "waiting", a2a.StateInputRequired, false, 1, base.Add(5*time.Second))
	seed(t, store, &cursor, "done", a2a.StateCompleted, false, 1, base.Add(6*time.Second))
	var mu sync.Mutex
	var order []string
	attempts := map[string]int{}
	e, _ := newEngineOn(t, store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		mu.Lock()
		order = append(order, req.Message.Text())
		attempts[req.Task.ID] = req.Attempt
		mu.Unlock()
		return nil
	}), engine.Options{MaxRunning: 1})
	for _, id := range []string{"queued-1", "queued-2", "running-retry"} {
		waitState(t, e, id, a2a.StateCompleted)
	}
	spent := waitState(t, e, "running-spent", a2a.StateFailed)
	if statusText(spent) != engine.ReasonInterrupted {
		t.Errorf("spent task reason = %q", statusText(spent))
	}
	if st := get(t, e, "waiting").Status.State; st != a2a.StateInputRequired {
		t.Errorf("waiting task is %s", st)
	}
	if st := get(t, e, "done").Status.State; st != a2a.StateCompleted {
		t.Errorf("done task is %s", st)
	}
	mu.Lock()
	if got := strings.Join(order, " "); got != "queued-1 queued-2 running-retry" {
		t.Errorf("run order = %s, want creation order", got)
	}
	if attempts["running-retry"] != 2 || attempts["queued-1"] != 1 {
		t.Errorf("attempts = %v", attempts)
	}
	mu.Unlock()
	if tl := timelineTexts(t, e, "running-retry"); !containsLine(tl, "attempt 2/3 after restart") {
		t.Errorf("retry not visible in timeline: %q", tl)
	}
	// New events continue the cursor sequence of the old log.
	evs, err := store.Log(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Cursor != evs[i-1].Cursor+1 {
			t.Fatalf("cursor gap: %d after %d", evs[i].Cursor, evs[i-1].Cursor)
		}
	}
	// The waiting task still accepts its answer.
	answer := textMsg("later")
	answer.TaskID = "waiting"
	if task := send(t, e, answer); task.Status.State != a2a.StateCompleted {
		t.Errorf("answer after restart: %s", task.Status.State)
	}
}

// A clean Close costs no attempt: the running task goes back to the queue
// and the next engine runs it again with the same Attempt, without the
// interrupted text of a crash.
func TestCloseRequeuesRunningTasks(t *testing.T) {
	store := engine.NewMemoryStore()
	g := newGate()
	t.Cleanup(g.open)
	e, err := engine.New(store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		return g.wait(ctx, "x")
	}), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := sendNoWait(t, e, textMsg("long"))
	<-g.entered
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Send(context.Background(), &a2a.SendRequest{Message: textMsg("x")}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	rec, err := store.Get(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Running || rec.Task.Status.State != a2a.StateSubmitted || rec.Attempts != 0 {
		t.Fatalf("record after close: running %v, state %s, attempts %d; want queued with 0 attempts",
			rec.Running, rec.Task.Status.State, rec.Attempts)
	}
	if txt := rec.Task.Status.Message.Text(); !strings.HasPrefix(txt, "queued (position ") || !strings.Contains(txt, engine.ReasonStopped) {
		t.Errorf("status after close = %q", txt)
	}
	if !rec.Stopped {
		t.Errorf("record after close: Stopped not set")
	}
	reqs := make(chan engine.Request, 1)
	e2, _ := newEngineOn(t, store, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		reqs <- *req
		return pub.Complete(ctx, "done")
	}), engine.Options{})
	done := waitState(t, e2, task.ID, a2a.StateCompleted)
	if req := <-reqs; req.Attempt != 1 || !req.Resumed {
		t.Errorf("resumed with Attempt %d Resumed %v, want 1 true", req.Attempt, req.Resumed)
	}
	if rec, err := store.Get(context.Background(), task.ID); err != nil || rec.Stopped {
		t.Errorf("record after the resumed run: %v, Stopped still set", err)
	}
	for _, line := range timelineTexts(t, e2, done.ID) {
		if strings.Contains(line, "interrupted") {
			t.Errorf("timeline after a clean close mentions an interruption: %q", line)
		}
	}
}

// Many Close/New cycles (as many CLI invocations do) never fail a task,
// even one that is on its last attempt.
func TestCloseNewCyclesNeverFailTask(t *testing.T) {
	store := engine.NewMemoryStore()
	const maxAttempts = 2
	var taskID string
	for cycle := range 6 {
		entered := make(chan int, 1)
		exec := engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			if req.Attempt == 1 {
				return engine.Retryable(errors.New("first attempt fails"))
			}
			if err := pub.Status(ctx, fmt.Sprintf("attempt %d working", req.Attempt)); err != nil {
				return err
			}
			select {
			case entered <- req.Attempt:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		})
		e, err := engine.New(store, exec, engine.Options{MaxAttempts: maxAttempts, RetryBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if cycle == 0 {
			taskID = sendNoWait(t, e, textMsg("keep going")).ID
		}
		var a int
		select {
		case a = <-entered:
		case <-time.After(waitLimit):
			e.Close()
			t.Fatalf("cycle %d: the task did not run", cycle)
		}
		if a != maxAttempts {
			t.Errorf("cycle %d: running attempt %d, want %d", cycle, a, maxAttempts)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		rec, err := store.Get(context.Background(), taskID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Task.Status.State != a2a.StateSubmitted || rec.Running || rec.Attempts != maxAttempts-1 {
			t.Fatalf("cycle %d: after close the task is %s (running %v, attempts %d)", cycle, rec.Task.Status.State, rec.Running, rec.Attempts)
		}
	}
}

// A reader that falls behind the task's ring never blocks the engine and
// still gets every event, in order: it catches up from the store.
func TestSlowSubscriberCatchesUp(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	published := make(chan struct{})
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		<-g.ch
		for i := range 100 {
			if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
				return err
			}
		}
		close(published)
		return nil
	}), engine.Options{StreamBuffer: 8})
	for _, mode := range []string{"subscribe", "stream"} {
		t.Run(mode, func(t *testing.T) {
			g = newGate()
			published = make(chan struct{})
			var s a2a.Stream
			var err error
			if mode == "subscribe" {
				task := sendNoWait(t, e, textMsg("x"))
				s, err = e.Subscribe(context.Background(), task.ID)
			} else {
				s, err = e.Stream(context.Background(), &a2a.SendRequest{Message: textMsg("x")})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			g.open()
			<-published // the engine finished publishing while nobody read
			evs, err := drain(t, s)
			if err != nil {
				t.Fatalf("slow reader ended with %v", err)
			}
			var texts []string
			for i, ev := range evs {
				if i > 0 && ev.Seq != evs[i-1].Seq+1 {
					t.Fatalf("seq %d after %d: gap or duplicate", ev.Seq, evs[i-1].Seq)
				}
				if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.Status.Message != nil {
					texts = append(texts, su.Status.Message.Text())
				}
			}
			if len(texts) != 100 || texts[0] != "0" || texts[99] != "99" {
				t.Errorf("got %d progress texts (%v...), want 0..99", len(texts), texts[:min(3, len(texts))])
			}
			last := evs[len(evs)-1].Event.(*a2a.StatusUpdateEvent)
			if last.Status.State != a2a.StateCompleted {
				t.Errorf("last event %s, want completed", last.Status.State)
			}
		})
	}
}

func TestSubscribe(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if err := g.wait(ctx, "x"); err != nil {
			return err
		}
		if err := pub.Status(ctx, "later"); err != nil {
			return err
		}
		return pub.Complete(ctx, "end")
	}), engine.Options{})
	task := sendNoWait(t, e, textMsg("x"))
	<-g.entered
	s, err := e.Subscribe(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	g.open()
	evs, err := drain(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("got %d events, want snapshot, status, completed", len(evs))
	}
	if snap, ok := evs[0].Event.(*a2a.Task); !ok || snap.Status.State != a2a.StateWorking {
		t.Errorf("first event = %#v", evs[0].Event)
	}
	// A finished task: the snapshot, then EOF.
	s2, err := e.Subscribe(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	evs, err = drain(t, s2)
	if err != nil || len(evs) != 1 {
		t.Fatalf("subscribe to terminal = %d events, %v", len(evs), err)
	}
	if _, err := e.Subscribe(context.Background(), "nope"); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Errorf("subscribe unknown = %v", err)
	}
	// Close from another goroutine ends a blocked Recv.
	g2 := newGate()
	t.Cleanup(g2.open)
	e2, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		return g2.wait(ctx, "y")
	}), engine.Options{})
	task2 := sendNoWait(t, e2, textMsg("y"))
	s3, err := e2.Subscribe(context.Background(), task2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Recv(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := s3.Recv(); errc <- err }()
	s3.Close()
	if err := <-errc; err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Recv after Close = %v, want an error", err)
	}
}

func TestWatchResumeNoGapNoDup(t *testing.T) {
	const tasks, steps = 20, 30
	e, store := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		for i := range steps {
			if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
				return err
			}
		}
		return nil
	}), engine.Options{MaxRunning: 8, WatchBuffer: 16})
	ctx := context.Background()
	w, err := e.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range tasks {
		wg.Go(func() { send(t, e, textMsg(fmt.Sprint(i))) })
	}
	// Read some, stop, resume from the last cursor, while tasks run.
	var got []string
	last := ""
	for range 100 {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Cursor)
		last = ev.Cursor
	}
	w.Close()
	wg.Wait()
	total, err := store.LastCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := e.Watch(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	for len(got) < int(total) {
		ev, err := w2.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Cursor)
	}
	for i, c := range got {
		if c != strconv.Itoa(i+1) {
			t.Fatalf("event %d has cursor %s: gap or duplicate", i, c)
		}
	}
	// Each task: submitted, working, the steps, completed, plus queue
	// position updates for the tasks that waited.
	if total < tasks*(steps+3) {
		t.Errorf("log has %d events, want at least %d", total, tasks*(steps+3))
	}
}

func TestWatchFromNowAndBadCursor(t *testing.T) {
	e, _ := newEngine(t, echoExec(), engine.Options{})
	send(t, e, textMsg("before"))
	w, err := e.Watch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	task := send(t, e, textMsg("after"))
	ev, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := ev.Event.TaskInfo(); id != task.ID || ev.Seq != 1 {
		t.Errorf("first watched event is task %s seq %d, want the new task's first event", id, ev.Seq)
	}
	for _, c := range []string{"abc", "-1", "1.5", "999999"} {
		if _, err := e.Watch(context.Background(), c); !errors.Is(err, a2a.ErrInvalidParams) {
			t.Errorf("Watch(%q) = %v, want ErrInvalidParams", c, err)
		}
	}
}

func TestList(t *testing.T) {
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if err := pub.Artifact(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart("a")}}); err != nil {
			return err
		}
		if strings.HasPrefix(req.Message.Text(), "ask") {
			return pub.InputRequired(ctx, "which one?")
		}
		return pub.Complete(ctx, "finished "+req.Message.Text())
	}), engine.Options{})
	var ids []string
	for i := range 120 {
		text := fmt.Sprint("job ", i)
		if i%10 == 0 {
			text = fmt.Sprint("ask ", i)
		}
		ids = append(ids, send(t, e, textMsg(text)).ID)
	}
	ctx := context.Background()
	zero, two := 0, 2
	tests := []struct {
		name      string
		req       a2a.ListRequest
		wantN     int
		wantNext  bool
		wantTotal int
		check     func(t *testing.T, p *a2a.ListPage)
	}{
		{"default page", a2a.ListRequest{}, 50, true, 120, func(t *testing.T, p *a2a.ListPage) {
			if p.Tasks[0].ID != ids[119] {
				t.Errorf("newest first: got %s", p.Tasks[0].ID)
			}
			if len(p.Tasks[0].Artifacts) != 0 {
				t.Error("artifacts not stripped")
			}
		}},
		{"page size clamped", a2a.ListRequest{PageSize: 500}, 100, true, 120, nil},
		{"state filter", a2a.ListRequest{State: a2a.StateInputRequired}, 12, false, 12, nil},
		{"text filter", a2a.ListRequest{Text: "FINISHED JOB 11"}, 10, false, -1, nil},
		{"no history", a2a.ListRequest{PageSize: 1, HistoryLength: &zero, IncludeArtifacts: true}, 1, true, 120, func(t *testing.T, p *a2a.ListPage) {
			if len(p.Tasks[0].History) != 0 || len(p.Tasks[0].Artifacts) != 1 {
				t.Errorf("history %d artifacts %d", len(p.Tasks[0].History), len(p.Tasks[0].Artifacts))
			}
		}},
		{"history 2", a2a.ListRequest{PageSize: 1, HistoryLength: &two}, 1, true, 120, func(t *testing.T, p *a2a.ListPage) {
			if len(p.Tasks[0].History) > 2 {
				t.Errorf("history %d", len(p.Tasks[0].History))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.List(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Tasks) != tc.wantN || (p.NextPageToken != "") != tc.wantNext || p.TotalSize != tc.wantTotal {
				t.Errorf("got %d tasks, next %q, total %d; want %d, %v, %d", len(p.Tasks), p.NextPageToken, p.TotalSize, tc.wantN, tc.wantNext, tc.wantTotal)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
	// Paging visits every task once.
	seen := map[string]bool{}
	req := a2a.ListRequest{PageSize: 7}
	for {
		p, err := e.List(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range p.Tasks {
			if seen[task.ID] {
				t.Fatalf("task %s listed twice", task.ID)
			}
			seen[task.ID] = true
		}
		if p.NextPageToken == "" {
			break
		}
		req.PageToken = p.NextPageToken
	}
	if len(seen) != 120 {
		t.Errorf("paging saw %d tasks", len(seen))
	}
}

func TestBadQueries(t *testing.T) {
	e, _ := newEngine(t, echoExec(), engine.Options{})
	ctx := context.Background()
	neg := -1
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"list bad token", second(e.List(ctx, a2a.ListRequest{PageToken: "garbage"})), a2a.ErrInvalidParams},
		{"list negative size", second(e.List(ctx, a2a.ListRequest{PageSize: -3})), a2a.ErrInvalidParams},
		{"list bad state", second(e.List(ctx, a2a.ListRequest{State: "sleeping"})), a2a.ErrInvalidParams},
		{"get negative history", second(e.Get(ctx, a2a.GetRequest{ID: "x", HistoryLength: &neg})), a2a.ErrInvalidParams},
		{"get unknown", second(e.Get(ctx, a2a.GetRequest{ID: "nope"})), a2a.ErrTaskNotFound},
		{"get empty id", second(e.Get(ctx, a2a.GetRequest{})), a2a.ErrInvalidParams},
		{"cancel unknown", second(e.Cancel(ctx, "nope")), a2a.ErrTaskNotFound},
		{"timeline unknown", second(e.Timeline(ctx, "nope")), a2a.ErrTaskNotFound},
		{"send nil", second(e.Send(ctx, nil)), a2a.ErrInvalidParams},
		{"send negative history", second(e.Send(ctx, &a2a.SendRequest{Message: textMsg("x"), Config: a2a.SendConfig{HistoryLength: &neg}})), a2a.ErrInvalidParams},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestSlowWatchCatchesUpFromStore(t *testing.T) {
	e, store := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		for i := range 50 {
			if err := pub.Status(ctx, fmt.Sprint(i)); err != nil {
				return err
			}
		}
		return nil
	}), engine.Options{WatchBuffer: 4})
	w, err := e.Watch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 10 {
		send(t, e, textMsg(fmt.Sprint(i))) // the watcher reads nothing meanwhile
	}
	total, _ := store.LastCursor(context.Background())
	for want := uint64(1); want <= total; want++ {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Cursor != strconv.FormatUint(want, 10) {
			t.Fatalf("got cursor %s, want %d", ev.Cursor, want)
		}
	}
}

// Close ends readers that are waiting for events.
func TestCloseEndsReaders(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	e, err := engine.New(engine.NewMemoryStore(), engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		return g.wait(ctx, "x")
	}), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := sendNoWait(t, e, textMsg("x"))
	<-g.entered
	sub, err := e.Subscribe(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	sub.Recv() // the snapshot
	w, err := e.Watch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { _, err := sub.Recv(); errs <- err }()
	go func() { _, err := w.Recv(); errs <- err }()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, engine.ErrClosed) {
			t.Errorf("reader after Close: %v, want ErrClosed", err)
		}
	}
}
