package agents

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// recorder is a Publisher that keeps what an executor published and, like
// the engine, refuses events after a terminal or interrupted one. It tests
// an executor's own logic; the engine tests run the same behaviours for real.
type recorder struct {
	mu     sync.Mutex
	events []string
	arts   map[string][]a2a.Part
	final  string // completed, failed, rejected, input-required, reply
	reason string
}

func (r *recorder) add(ctx context.Context, ev string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.final != "" {
		return engine.ErrTaskClosed
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) end(ctx context.Context, state, reason string) error {
	if err := r.add(ctx, state+": "+reason); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.final, r.reason = state, reason
	return nil
}

func (r *recorder) Status(ctx context.Context, text string) error {
	return r.add(ctx, "status: "+text)
}

func (r *recorder) Artifact(ctx context.Context, art a2a.Artifact) error {
	return r.artifact(ctx, art, false)
}

func (r *recorder) ArtifactChunk(ctx context.Context, art a2a.Artifact, last bool) error {
	return r.artifact(ctx, art, true)
}

func (r *recorder) artifact(ctx context.Context, art a2a.Artifact, appendParts bool) error {
	if err := r.add(ctx, fmt.Sprintf("artifact %s (%d parts)", art.Name, len(art.Parts))); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.arts == nil {
		r.arts = map[string][]a2a.Part{}
	}
	key := art.ID
	if key == "" {
		key = art.Name
	}
	if appendParts {
		r.arts[key] = append(r.arts[key], art.Parts...)
	} else {
		r.arts[key] = art.Parts
	}
	return nil
}

func (r *recorder) InputRequired(ctx context.Context, q string) error {
	return r.end(ctx, "input-required", q)
}
func (r *recorder) AuthRequired(ctx context.Context, q string) error {
	return r.end(ctx, "auth-required", q)
}
func (r *recorder) Complete(ctx context.Context, text string) error {
	return r.end(ctx, "completed", text)
}
func (r *recorder) Fail(ctx context.Context, reason string) error {
	return r.end(ctx, "failed", reason)
}
func (r *recorder) Reject(ctx context.Context, reason string) error {
	return r.end(ctx, "rejected", reason)
}
func (r *recorder) Reply(ctx context.Context, parts ...a2a.Part) error {
	return r.end(ctx, "reply", a2a.PartsText(parts))
}

func (r *recorder) artifactText(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, p := range r.arts[key] {
		b.WriteString(p.Text)
	}
	return b.String()
}

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

func (r *recorder) outcome() (string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.final, r.reason
}

// request builds an execution request for a new task with text.
func request(text string, attempt int) *engine.Request {
	msg := a2a.Message{ID: "m1", Role: a2a.RoleUser, TaskID: "t1", ContextID: "c1", Parts: []a2a.Part{a2a.TextPart(text)}}
	task := &a2a.Task{ID: "t1", ContextID: "c1", Status: a2a.TaskStatus{State: a2a.StateSubmitted}, History: []a2a.Message{msg}}
	return &engine.Request{Task: task, Message: &msg, Attempt: attempt}
}
