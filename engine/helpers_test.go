package engine_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/testkit"
)

const waitLimit = 10 * time.Second

func newEngine(t *testing.T, exec engine.Executor, opts engine.Options) (*engine.Engine, engine.Store) {
	t.Helper()
	return newEngineOn(t, engine.NewMemoryStore(), exec, opts)
}

func newEngineOn(t *testing.T, store engine.Store, exec engine.Executor, opts engine.Options) (*engine.Engine, engine.Store) {
	t.Helper()
	e, err := engine.New(store, exec, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e, store
}

func textMsg(text string) a2a.Message {
	return a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}
}

func send(t *testing.T, e *engine.Engine, msg a2a.Message) *a2a.Task {
	t.Helper()
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: msg})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.Task == nil {
		t.Fatalf("Send returned a message, want a task: %+v", res.Message)
	}
	return res.Task
}

func sendNoWait(t *testing.T, e *engine.Engine, msg a2a.Message) *a2a.Task {
	t.Helper()
	res, err := e.Send(context.Background(), &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return res.Task
}

func get(t *testing.T, e *engine.Engine, id string) *a2a.Task {
	t.Helper()
	task, err := e.Get(context.Background(), a2a.GetRequest{ID: id})
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return task
}

func waitState(t *testing.T, e *engine.Engine, id string, want a2a.TaskState) *a2a.Task {
	t.Helper()
	var task *a2a.Task
	testkit.Eventually(t, "task "+id+" to be "+string(want), func() bool {
		task = get(t, e, id)
		return task.Status.State == want
	})
	return task
}

func statusText(t *a2a.Task) string { return t.Status.Message.Text() }

// timelineTexts lists "state: text" for every status in the task's log.
func timelineTexts(t *testing.T, e *engine.Engine, id string) []string {
	t.Helper()
	evs, err := e.Timeline(context.Background(), id)
	if err != nil {
		t.Fatalf("Timeline: %v", err)
	}
	var out []string
	for _, ev := range evs {
		switch x := ev.Event.(type) {
		case *a2a.Task:
			out = append(out, string(x.Status.State)+": "+x.Status.Message.Text())
		case *a2a.StatusUpdateEvent:
			out = append(out, string(x.Status.State)+": "+x.Status.Message.Text())
		}
	}
	return out
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// drain reads a stream to its end.
func drain(t *testing.T, s a2a.Stream) ([]a2a.StreamEvent, error) {
	t.Helper()
	var evs []a2a.StreamEvent
	for {
		ev, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return evs, nil
			}
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// gate lets a test hold executions and release them.
type gate struct {
	mu      sync.Mutex
	ch      chan struct{}
	entered chan string
}

func newGate() *gate { return &gate{ch: make(chan struct{}), entered: make(chan string, 1000)} }

func (g *gate) wait(ctx context.Context, name string) error {
	g.entered <- name
	select {
	case <-g.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.ch:
	default:
		close(g.ch)
	}
}

func echoExec() engine.Executor {
	return engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		if err := pub.Artifact(ctx, a2a.Artifact{Name: "echo", Parts: []a2a.Part{a2a.TextPart(req.Message.Text())}}); err != nil {
			return err
		}
		return pub.Complete(ctx, "")
	})
}
