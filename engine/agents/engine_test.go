package agents

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// These tests run the executors the way a2atop does: inside a real engine
// over the memory store.

func startEngine(t *testing.T, exec engine.Executor) *engine.Engine {
	t.Helper()
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, exec, engine.Options{RetryBackoff: time.Millisecond, MaxAttempts: 4, CancelGrace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Error(err)
		}
		store.Close()
	})
	return eng
}

func userMessage(taskID, text string) a2a.Message {
	return a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, TaskID: taskID, Parts: []a2a.Part{a2a.TextPart(text)}}
}

func send(t *testing.T, svc a2a.Service, taskID, text string) *a2a.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := svc.Send(ctx, &a2a.SendRequest{Message: userMessage(taskID, text)})
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	return res
}

func sendTask(t *testing.T, svc a2a.Service, text string) *a2a.Task {
	t.Helper()
	res := send(t, svc, "", text)
	if res.Task == nil {
		t.Fatalf("send %q: no task, message %q", text, res.Message.Text())
	}
	return res.Task
}

func artifactText(task *a2a.Task, name string) string {
	for _, a := range task.Artifacts {
		if a.Name == name {
			var b strings.Builder
			for _, p := range a.Parts {
				b.WriteString(p.Text)
			}
			return b.String()
		}
	}
	return ""
}

func statusText(task *a2a.Task) string { return task.Status.Message.Text() }

func TestDemoOnEngine(t *testing.T) {
	eng := startEngine(t, NewDemo())

	echo := sendTask(t, eng, "echo hello engine")
	if echo.Status.State != a2a.StateCompleted || artifactText(echo, "echo") != "hello engine" {
		t.Fatalf("echo: %s %q", echo.Status.State, artifactText(echo, "echo"))
	}

	slow := sendTask(t, eng, "slow 2")
	if slow.Status.State != a2a.StateCompleted || !strings.Contains(artifactText(slow, "result"), "last one") {
		t.Fatalf("slow: %s %+v", slow.Status.State, slow.Artifacts)
	}
	timeline, err := eng.Timeline(context.Background(), slow.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	chunks := 0
	for _, ev := range timeline {
		switch e := ev.Event.(type) {
		case *a2a.StatusUpdateEvent:
			if text := e.Status.Message.Text(); strings.HasPrefix(text, "step ") {
				steps = append(steps, text)
			}
		case *a2a.ArtifactUpdateEvent:
			chunks++
		}
	}
	if strings.Join(steps, ",") != "step 1/2,step 2/2" || chunks != 3 {
		t.Fatalf("slow timeline: steps %q, %d artifact events", steps, chunks)
	}

	ask := sendTask(t, eng, "ask")
	if ask.Status.State != a2a.StateInputRequired || statusText(ask) != askQuestion {
		t.Fatalf("ask: %s %q", ask.Status.State, statusText(ask))
	}
	answered := send(t, eng, ask.ID, "2030-01-31").Task
	if answered.Status.State != a2a.StateCompleted || artifactText(answered, "answer") != "Target date recorded: 2030-01-31" {
		t.Fatalf("answer: %s %+v", answered.Status.State, answered.Artifacts)
	}

	fail := sendTask(t, eng, "fail")
	if fail.Status.State != a2a.StateFailed || !strings.Contains(statusText(fail), "on purpose") {
		t.Fatalf("fail: %s %q", fail.Status.State, statusText(fail))
	}

	data := sendTask(t, eng, "data")
	if data.Status.State != a2a.StateCompleted || len(data.Artifacts) != 3 {
		t.Fatalf("data: %s %d artifacts", data.Status.State, len(data.Artifacts))
	}
	kinds := map[string]bool{}
	for _, a := range data.Artifacts {
		for _, p := range a.Parts {
			switch {
			case p.Kind == a2a.PartData:
				kinds["data"] = true
			case p.Kind == a2a.PartFile && len(p.File.Bytes) > 0:
				kinds["bytes"] = true
			case p.Kind == a2a.PartFile && p.File.URI != "":
				kinds["uri"] = true
			}
		}
	}
	if len(kinds) != 3 {
		t.Fatalf("data part kinds %v", kinds)
	}

	reply := send(t, eng, "", "what can you do?")
	if reply.Message == nil || !strings.Contains(reply.Message.Text(), "forever") {
		t.Fatalf("reply: %+v", reply)
	}
}

func TestDemoJunkArgumentsOnEngine(t *testing.T) {
	eng := startEngine(t, NewDemo())
	for _, text := range []string{"slow -3", "slow 1e9", "slow", "slow 601", "flaky -1", "flaky lots", "echo"} {
		task := sendTask(t, eng, text)
		if task.Status.State != a2a.StateRejected || statusText(task) == "" {
			t.Fatalf("%q: %s %q", text, task.Status.State, statusText(task))
		}
	}
}

func TestDemoFlakyRetriesOnEngine(t *testing.T) {
	eng := startEngine(t, NewDemo())
	ok := sendTask(t, eng, "flaky 2")
	if ok.Status.State != a2a.StateCompleted || !strings.Contains(statusText(ok), "attempt 3") {
		t.Fatalf("flaky 2: %s %q", ok.Status.State, statusText(ok))
	}
	// Issue 14 bug 8: more planned failures than attempts (4) used to fail
	// after every attempt although the skill promised success; the demo
	// now says at once that the engine's limit is too low.
	bad := sendTask(t, eng, "flaky 5")
	if bad.Status.State != a2a.StateRejected || !strings.Contains(statusText(bad), "engine allows 4") {
		t.Fatalf("flaky 5: %s %q", bad.Status.State, statusText(bad))
	}
	edge := sendTask(t, eng, "flaky 3")
	if edge.Status.State != a2a.StateCompleted || !strings.Contains(statusText(edge), "attempt 4") {
		t.Fatalf("flaky 3 with 4 attempts: %s %q", edge.Status.State, statusText(edge))
	}
}

func TestDemoForeverCancelOnEngine(t *testing.T) {
	eng := startEngine(t, &Demo{TickInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := eng.Stream(ctx, &a2a.SendRequest{Message: userMessage("", "forever")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var taskID string
	ticks := 0
	for ticks < 3 {
		ev, err := s.Recv()
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		switch e := ev.Event.(type) {
		case *a2a.Task:
			taskID = e.ID
		case *a2a.StatusUpdateEvent:
			if strings.HasPrefix(e.Status.Message.Text(), "tick ") {
				ticks++
			}
		}
	}
	if _, err := eng.Cancel(ctx, taskID); err != nil {
		t.Fatal(err)
	}
	final := drain(t, s)
	if final != a2a.StateCanceled {
		t.Fatalf("final state %s", final)
	}
	got, err := eng.Get(ctx, a2a.GetRequest{ID: taskID})
	if err != nil || got.Status.State != a2a.StateCanceled {
		t.Fatalf("get: %v %v", got, err)
	}
}

// drain reads a stream to its end and returns the last state it reported.
func drain(t *testing.T, s a2a.Stream) a2a.TaskState {
	t.Helper()
	var state a2a.TaskState
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return state
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		switch e := ev.Event.(type) {
		case *a2a.Task:
			state = e.Status.State
		case *a2a.StatusUpdateEvent:
			state = e.Status.State
		}
	}
}

// The demo's executions only wait and publish: the engine runs
// DemoConcurrency of them at once unless told otherwise, not its default 4.
func TestDemoRunsManyAtOnce(t *testing.T) {
	eng := startEngine(t, fastDemo())
	ctx := context.Background()
	const n = 10
	var ids []string
	for range n {
		res, err := eng.Send(ctx, &a2a.SendRequest{Message: userMessage("", "forever"), Config: a2a.SendConfig{ReturnImmediately: true}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Task.ID)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			task, err := eng.Get(ctx, a2a.GetRequest{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			if task.Status.State == a2a.StateWorking {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s is %s, want all %d forever tasks working at once", id, task.Status.State, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, id := range ids {
		if _, err := eng.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}
