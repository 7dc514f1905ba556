package agents

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/choice"
)

// readStream reads a stream to its end (io.EOF), with the states it saw.
func readStream(t *testing.T, st a2a.Stream, stop func(a2a.TaskState) bool) (states []a2a.TaskState, taskID string, ended bool) {
	t.Helper()
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return states, taskID, true
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		var s a2a.TaskState
		switch x := ev.Event.(type) {
		case *a2a.Task:
			s, taskID = x.Status.State, x.ID
		case *a2a.StatusUpdateEvent:
			s, taskID = x.Status.State, x.TaskID
		default:
			continue
		}
		states = append(states, s)
		if stop != nil && stop(s) {
			return states, taskID, false
		}
	}
}

func streamOf(t *testing.T, svc a2a.Service, text string) a2a.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	st, err := svc.Stream(ctx, &a2a.SendRequest{Message: userMessage("", text)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func contains(states []a2a.TaskState, want a2a.TaskState) bool {
	for _, s := range states {
		if s == want {
			return true
		}
	}
	return false
}

// auth carries on in the same execution after auth-required, and the
// stream follows it to the end instead of closing at auth-required.
func TestDemoAuthCarriesOnInOneStream(t *testing.T) {
	eng := startEngine(t, &Demo{AuthWait: time.Millisecond})
	states, id, ended := readStream(t, streamOf(t, eng, "auth"), nil)
	if !ended || !contains(states, a2a.StateAuthRequired) || states[len(states)-1] != a2a.StateCompleted {
		t.Fatalf("states %v (ended %v), want auth-required then completed in one stream", states, ended)
	}
	task, err := eng.Get(context.Background(), a2a.GetRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if artifactText(task, "auth") == "" || statusText(task) != "authorized out of band; done" {
		t.Fatalf("task %s %q, artifacts %v", task.Status.State, statusText(task), task.Artifacts)
	}
}

// A message while auth waits ends the wait: the stream that followed the
// task keeps going and ends completed by the answer's execution.
func TestDemoAuthMessageEndsTheWait(t *testing.T) {
	eng := startEngine(t, &Demo{AuthWait: time.Hour})
	st := streamOf(t, eng, "auth")
	states, id, ended := readStream(t, st, func(s a2a.TaskState) bool { return s == a2a.StateAuthRequired })
	if ended || !contains(states, a2a.StateAuthRequired) {
		t.Fatalf("states %v, ended %v", states, ended)
	}
	// A blocking send to an auth-required task returns its answer's end.
	res := send(t, eng, id, "bob")
	if res.Task == nil || res.Task.Status.State != a2a.StateCompleted || statusText(res.Task) != "signed in as bob" {
		t.Fatalf("answer: %+v", res.Task)
	}
	rest, _, ended := readStream(t, st, nil)
	if !ended || rest[len(rest)-1] != a2a.StateCompleted {
		t.Fatalf("the first stream went on with %v (ended %v), want it to follow to completed", rest, ended)
	}
}

// A blocking send returns at auth-required (an interrupted state) even
// while the execution carries on.
func TestDemoAuthBlockingSendReturnsAtAuthRequired(t *testing.T) {
	eng := startEngine(t, &Demo{AuthWait: time.Hour})
	task := sendTask(t, eng, "auth 5")
	if task.Status.State != a2a.StateAuthRequired {
		t.Fatalf("state %s, want auth-required", task.Status.State)
	}
	// Subscribe while the execution carries on: the stream stays open and
	// sees the answer's outcome.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := eng.Subscribe(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first, _, ended := readStream(t, sub, func(s a2a.TaskState) bool { return s == a2a.StateAuthRequired })
	if ended || len(first) != 1 {
		t.Fatalf("subscribe: %v ended %v, want the auth-required snapshot and an open stream", first, ended)
	}
	send(t, eng, task.ID, "alice")
	rest, _, ended := readStream(t, sub, nil)
	if !ended || rest[len(rest)-1] != a2a.StateCompleted {
		t.Fatalf("subscription went on with %v (ended %v)", rest, ended)
	}
}

// login ends its execution in auth-required: its stream closes there, and
// a message resumes the task like an answer to input-required.
func TestDemoLoginEndsTheRun(t *testing.T) {
	eng := startEngine(t, NewDemo())
	states, id, ended := readStream(t, streamOf(t, eng, "login"), nil)
	if !ended || states[len(states)-1] != a2a.StateAuthRequired {
		t.Fatalf("states %v (ended %v), want the stream to end at auth-required", states, ended)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := eng.Subscribe(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, ended := readStream(t, sub, nil); !ended || len(got) != 1 {
		t.Fatalf("subscribe to a login that ended its run: %v ended %v, want the snapshot then EOF", got, ended)
	}
	res := send(t, eng, id, "carol")
	if res.Task.Status.State != a2a.StateCompleted || statusText(res.Task) != "signed in as carol" {
		t.Fatalf("answer: %s %q", res.Task.Status.State, statusText(res.Task))
	}
}

// A stream following an auth-required task ends when the execution that
// carried on returns with the task still waiting.
func TestAuthFollowerEndsWhenTheRunReturns(t *testing.T) {
	release := make(chan struct{})
	exec := engine.ExecutorFunc(func(ctx context.Context, _ *engine.Request, pub engine.Publisher) error {
		if err := pub.AuthRequired(ctx, "sign in"); err != nil {
			return err
		}
		<-release
		return nil // ends the run, still waiting
	})
	eng := startEngine(t, exec)
	st := streamOf(t, eng, "x")
	if _, _, ended := readStream(t, st, func(s a2a.TaskState) bool { return s == a2a.StateAuthRequired }); ended {
		t.Fatal("ended at auth-required while the run carried on")
	}
	close(release)
	rest, _, ended := readStream(t, st, nil)
	if !ended || len(rest) != 0 {
		t.Fatalf("after the run returned: %v ended %v, want a plain end", rest, ended)
	}
}

func TestDemoChooseOffersOptions(t *testing.T) {
	eng := startEngine(t, NewDemo())
	for _, tt := range []struct {
		cmd    string
		pick   int
		asData bool
		want   string
	}{
		{"choose", 1, false, "colour chosen: green"},
		{"choose data", 2, true, "colour chosen: blue"},
	} {
		task := sendTask(t, eng, tt.cmd)
		if task.Status.State != a2a.StateInputRequired {
			t.Fatalf("%s: state %s", tt.cmd, task.Status.State)
		}
		form, ok := choice.FromMessage(task.Status.Message)
		if !ok || len(form.Options) != 3 || form.AsData != tt.asData || form.Question == "" {
			t.Fatalf("%s: form %+v ok %v", tt.cmd, form, ok)
		}
		ans := form.Answer(tt.pick)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := eng.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: task.ID + "-a", Role: a2a.RoleUser, TaskID: task.ID, Parts: []a2a.Part{ans}}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if res.Task.Status.State != a2a.StateCompleted || statusText(res.Task) != tt.want {
			t.Fatalf("%s: %s %q", tt.cmd, res.Task.Status.State, statusText(res.Task))
		}
	}
	// A wrong answer asks again, with the options.
	task := sendTask(t, eng, "choose")
	res := send(t, eng, task.ID, "purple")
	if res.Task.Status.State != a2a.StateInputRequired {
		t.Fatalf("wrong answer: %s", res.Task.Status.State)
	}
	if _, ok := choice.FromMessage(res.Task.Status.Message); !ok {
		t.Fatal("the second question has no options")
	}
}
