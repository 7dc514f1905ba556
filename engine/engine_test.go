package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/testkit"
	"github.com/google/uuid"
)

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		exec      engine.ExecutorFunc
		wantState a2a.TaskState
		wantText  string
		wantArts  int
	}{
		{"artifact and complete", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			if err := pub.Status(ctx, "thinking"); err != nil {
				return err
			}
			if err := pub.Artifact(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart("out")}}); err != nil {
				return err
			}
			return pub.Complete(ctx, "all done")
		}, a2a.StateCompleted, "all done", 1},
		{"return nil completes", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			return nil
		}, a2a.StateCompleted, "", 0},
		{"error fails with its text", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			return errors.New("disk on fire")
		}, a2a.StateFailed, "disk on fire", 0},
		{"fail", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			return pub.Fail(ctx, "bad input")
		}, a2a.StateFailed, "bad input", 0},
		{"reject", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			return pub.Reject(ctx, "not my job")
		}, a2a.StateRejected, "not my job", 0},
		{"panic fails", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			panic("boom")
		}, a2a.StateFailed, "executor panicked: boom", 0},
		{"input required", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			return pub.InputRequired(ctx, "which date?")
		}, a2a.StateInputRequired, "which date?", 0},
		{"auth required", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			return pub.AuthRequired(ctx, "log in please")
		}, a2a.StateAuthRequired, "log in please", 0},
		{"chunks", func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
			for i, last := range []bool{false, false, true} {
				if err := pub.ArtifactChunk(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart(fmt.Sprint(i))}}, last); err != nil {
					return err
				}
			}
			return nil
		}, a2a.StateCompleted, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t, tc.exec, engine.Options{})
			task := send(t, e, textMsg("hello"))
			if task.Status.State != tc.wantState {
				t.Fatalf("state = %s (%q), want %s", task.Status.State, statusText(task), tc.wantState)
			}
			if got := statusText(task); got != tc.wantText {
				t.Errorf("status text = %q, want %q", got, tc.wantText)
			}
			if len(task.Artifacts) != tc.wantArts {
				t.Errorf("artifacts = %d, want %d", len(task.Artifacts), tc.wantArts)
			}
			if _, err := uuid.Parse(task.ID); err != nil || uuid.MustParse(task.ID).Version() != 7 {
				t.Errorf("task id %q is not a uuid v7", task.ID)
			}
			tl := timelineTexts(t, e, task.ID)
			if len(tl) < 2 || !strings.HasPrefix(tl[0], "submitted") || !strings.HasPrefix(tl[1], "working") {
				t.Errorf("timeline = %q, want submitted then working first", tl)
			}
			if got := get(t, e, task.ID); got.Status.State != tc.wantState {
				t.Errorf("Get state = %s", got.Status.State)
			}
		})
	}
}

func TestChunksAppendToOneArtifact(t *testing.T) {
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		for _, s := range []string{"a", "b", "c"} {
			if err := pub.ArtifactChunk(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart(s)}}, s == "c"); err != nil {
				return err
			}
		}
		return pub.Artifact(ctx, a2a.Artifact{ID: "fixed", Parts: []a2a.Part{a2a.TextPart("x")}})
	}), engine.Options{})
	task := send(t, e, textMsg("go"))
	if len(task.Artifacts) != 2 {
		t.Fatalf("artifacts = %+v", task.Artifacts)
	}
	if got := a2a.PartsText(task.Artifacts[0].Parts); got != "a\nb\nc" {
		t.Errorf("chunked artifact = %q", got)
	}
	if _, err := uuid.Parse(task.Artifacts[0].ID); err != nil {
		t.Errorf("generated artifact id %q: %v", task.Artifacts[0].ID, err)
	}
	if task.Artifacts[1].ID != "fixed" {
		t.Errorf("explicit artifact id = %q", task.Artifacts[1].ID)
	}
}

func TestPublisherRefusesAfterTerminal(t *testing.T) {
	errs := make(chan error, 3)
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if err := pub.Complete(ctx, "done"); err != nil {
			return err
		}
		errs <- pub.Status(ctx, "more")
		errs <- pub.Artifact(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart("late")}})
		errs <- pub.Fail(ctx, "late failure")
		return nil
	}), engine.Options{})
	task := send(t, e, textMsg("x"))
	for range 3 {
		if err := <-errs; !errors.Is(err, engine.ErrTaskClosed) {
			t.Errorf("publish after complete = %v, want ErrTaskClosed", err)
		}
	}
	if got := get(t, e, task.ID); got.Status.State != a2a.StateCompleted || len(got.Artifacts) != 0 {
		t.Errorf("task changed after terminal: %s, %d artifacts", got.Status.State, len(got.Artifacts))
	}
}

func TestProgressTextsDoNotFillHistory(t *testing.T) {
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		for i := range 50 {
			if err := pub.Status(ctx, fmt.Sprintf("step %d", i)); err != nil {
				return err
			}
		}
		return pub.Complete(ctx, "done")
	}), engine.Options{})
	task := send(t, e, textMsg("x"))
	// The user's message and the last progress text.
	if len(task.History) != 2 {
		t.Errorf("history has %d messages, want 2", len(task.History))
	}
	if tl := timelineTexts(t, e, task.ID); !containsLine(tl, "step 0") || !containsLine(tl, "step 49") {
		t.Errorf("timeline lost progress texts: %q", tl)
	}
}

func TestReplyIsTheSendResult(t *testing.T) {
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		return pub.Reply(ctx, a2a.TextPart("commands: echo, ask"))
	}), engine.Options{})
	msg := textMsg("help")
	msg.ContextID = "ctx-1"
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	if res.Message == nil || res.Task != nil {
		t.Fatalf("result = %+v, want a message", res)
	}
	if res.Message.Text() != "commands: echo, ask" || res.Message.Role != a2a.RoleAgent || res.Message.ContextID != "ctx-1" || res.Message.TaskID != "" {
		t.Errorf("reply = %+v", res.Message)
	}
	// The record stays, completed with the reply.
	page, err := e.List(context.Background(), a2a.ListRequest{})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].Status.State != a2a.StateCompleted {
		t.Fatalf("List = %+v, %v", page, err)
	}
	// A stream is the one Message.
	s, err := e.Stream(context.Background(), &a2a.SendRequest{Message: textMsg("help")})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, s)
	if err != nil || len(evs) != 1 {
		t.Fatalf("stream = %d events, %v", len(evs), err)
	}
	if m, ok := evs[0].Event.(*a2a.Message); !ok || m.Text() != "commands: echo, ask" {
		t.Errorf("stream event = %#v", evs[0].Event)
	}
}

func TestStreamOrder(t *testing.T) {
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if err := pub.Status(ctx, "step 1"); err != nil {
			return err
		}
		if err := pub.Artifact(ctx, a2a.Artifact{ID: "a", Parts: []a2a.Part{a2a.TextPart("x")}}); err != nil {
			return err
		}
		return pub.Complete(ctx, "ok")
	}), engine.Options{})
	s, err := e.Stream(context.Background(), &a2a.SendRequest{Message: textMsg("go")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := drain(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i, ev := range evs {
		switch x := ev.Event.(type) {
		case *a2a.Task:
			kinds = append(kinds, "task:"+string(x.Status.State))
		case *a2a.StatusUpdateEvent:
			kinds = append(kinds, "status:"+string(x.Status.State))
		case *a2a.ArtifactUpdateEvent:
			kinds = append(kinds, "artifact")
		default:
			kinds = append(kinds, fmt.Sprintf("%T", x))
		}
		if ev.Seq != uint64(i+1) {
			t.Errorf("event %d seq %d", i, ev.Seq)
		}
	}
	want := "task:submitted status:working status:working artifact status:completed"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("stream = %s\nwant     %s", got, want)
	}
}

func TestInputRequiredResume(t *testing.T) {
	var calls atomic.Int32
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		calls.Add(1)
		if req.Task.Status.State == a2a.StateWorking && len(req.Task.History) == 1 {
			return pub.InputRequired(ctx, "What is the target date?")
		}
		if req.Message.Text() == "auth" {
			return pub.AuthRequired(ctx, "sign in")
		}
		return pub.Complete(ctx, "target: "+req.Message.Text())
	}), engine.Options{})
	task := send(t, e, textMsg("plan"))
	if task.Status.State != a2a.StateInputRequired || statusText(task) != "What is the target date?" {
		t.Fatalf("first answer = %s %q", task.Status.State, statusText(task))
	}
	answer := textMsg("auth")
	answer.TaskID = task.ID
	task = send(t, e, answer)
	if task.Status.State != a2a.StateAuthRequired {
		t.Fatalf("after auth answer = %s", task.Status.State)
	}
	answer = textMsg("friday")
	answer.TaskID = task.ID
	task = send(t, e, answer)
	if task.Status.State != a2a.StateCompleted || statusText(task) != "target: friday" {
		t.Fatalf("resumed = %s %q", task.Status.State, statusText(task))
	}
	if calls.Load() != 3 {
		t.Errorf("Execute calls = %d, want 3", calls.Load())
	}
	// The whole conversation is in the history.
	var texts []string
	for _, m := range task.History {
		texts = append(texts, m.Text())
	}
	for _, want := range []string{"plan", "What is the target date?", "auth", "sign in", "friday"} {
		if !containsLine(texts, want) {
			t.Errorf("history %q lacks %q", texts, want)
		}
	}
}

func TestSendErrors(t *testing.T) {
	g := newGate()
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		switch req.Message.Text() {
		case "block":
			return g.wait(ctx, "block")
		}
		return nil
	}), engine.Options{})
	t.Cleanup(g.open)
	done := send(t, e, textMsg("quick"))
	working := sendNoWait(t, e, textMsg("block"))
	<-g.entered
	big := strings.Repeat("x", 10<<20)
	tests := []struct {
		name    string
		msg     a2a.Message
		want    error
		wantSub string
	}{
		{"no parts", a2a.Message{Role: a2a.RoleUser}, a2a.ErrInvalidParams, "no parts"},
		{"invalid utf-8", textMsg("bad \xff\xfe"), a2a.ErrInvalidParams, "UTF-8"},
		{"10 MiB", textMsg(big), a2a.ErrInvalidParams, "8 MiB"},
		{"unknown task", a2a.Message{TaskID: "nope", Parts: []a2a.Part{a2a.TextPart("x")}}, a2a.ErrTaskNotFound, "nope"},
		{"terminal task", a2a.Message{TaskID: done.ID, Parts: []a2a.Part{a2a.TextPart("x")}}, a2a.ErrUnsupported, "finished"},
		{"working task", a2a.Message{TaskID: working.ID, Parts: []a2a.Part{a2a.TextPart("x")}}, a2a.ErrInvalidParams, "waits for input"},
		{"file part without file", a2a.Message{Parts: []a2a.Part{{Kind: a2a.PartFile}}}, a2a.ErrInvalidParams, "file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Send(context.Background(), &a2a.SendRequest{Message: tc.msg})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.wantSub)
			}
		})
	}
	page, _ := e.List(context.Background(), a2a.ListRequest{})
	if len(page.Tasks) != 2 {
		t.Errorf("bad sends stored tasks: %d tasks", len(page.Tasks))
	}
}

func TestIdempotentSend(t *testing.T) {
	var calls atomic.Int32
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		calls.Add(1)
		return pub.Complete(ctx, "ok")
	}), engine.Options{})
	msg := textMsg("once")
	msg.ID = "msg-1"
	first := send(t, e, msg)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, err := e.Send(context.Background(), &a2a.SendRequest{Message: msg})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = res.Task.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != first.ID {
			t.Errorf("resend returned task %s, want %s", id, first.ID)
		}
	}
	// Concurrent first sends of one new id create one task.
	msg.ID = "msg-2"
	var wg2 sync.WaitGroup
	seen := make([]string, 8)
	for i := range seen {
		wg2.Go(func() {
			res, err := e.Send(context.Background(), &a2a.SendRequest{Message: msg})
			if err == nil {
				seen[i] = res.Task.ID
			}
		})
	}
	wg2.Wait()
	for _, id := range seen {
		if id != seen[0] || id == "" {
			t.Fatalf("concurrent sends got tasks %v", seen)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("Execute ran %d times, want 2", calls.Load())
	}
}

func TestBlockingSendRespectsContext(t *testing.T) {
	g := newGate()
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		return g.wait(ctx, "x")
	}), engine.Options{})
	t.Cleanup(g.open)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := e.Send(ctx, &a2a.SendRequest{Message: textMsg("wait")})
		errc <- err
	}()
	<-g.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Send after cancel = %v, want context.Canceled", err)
	}
	page, _ := e.List(context.Background(), a2a.ListRequest{})
	if len(page.Tasks) != 1 || page.Tasks[0].Status.State != a2a.StateWorking {
		t.Errorf("the task should keep running: %+v", page.Tasks)
	}
}

// An answer that arrives before the asking execution returned waits for it:
// one execution per task at a time, and the old one cannot end the task.
func TestAnswerBeforeAskerReturns(t *testing.T) {
	g := newGate()
	t.Cleanup(g.open)
	var calls, concurrent, maxConcurrent atomic.Int32
	e, _ := newEngine(t, engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		calls.Add(1)
		n := concurrent.Add(1)
		defer concurrent.Add(-1)
		if n > maxConcurrent.Load() {
			maxConcurrent.Store(n)
		}
		if req.Message.Text() == "start" {
			if err := pub.InputRequired(ctx, "?"); err != nil {
				return err
			}
			<-g.ch // still busy after asking
			return nil
		}
		return pub.Complete(ctx, "answered "+req.Message.Text())
	}), engine.Options{})
	task := sendNoWait(t, e, textMsg("start"))
	waitState(t, e, task.ID, a2a.StateInputRequired)
	answer := textMsg("now")
	answer.TaskID = task.ID
	done := make(chan *a2a.Task, 1)
	go func() {
		res, err := e.Send(context.Background(), &a2a.SendRequest{Message: answer})
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		done <- res.Task
	}()
	testkit.Eventually(t, "the answer to be recorded", func() bool { return get(t, e, task.ID).Status.State != a2a.StateInputRequired })
	g.open()
	got := <-done
	if got == nil || got.Status.State != a2a.StateCompleted || statusText(got) != "answered now" {
		t.Fatalf("result = %+v", got)
	}
	if calls.Load() != 2 || maxConcurrent.Load() != 1 {
		t.Errorf("calls %d, max concurrent %d; want 2 and 1", calls.Load(), maxConcurrent.Load())
	}
}
