package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/a2atop/a2atop/a2a"
)

// publisher is the Publisher of one attempt. It builds every event itself,
// so task and context ids always match the task.
type publisher struct {
	e  *Engine
	en *taskEntry
	ex *execution
}

var _ Publisher = (*publisher)(nil)

// emit commits the events build returns, under the task's lock, unless the
// attempt may no longer publish.
func (p *publisher) emit(ctx context.Context, build func(t *a2a.Task) (change, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	en := p.en
	en.mu.Lock()
	defer en.mu.Unlock()
	if p.ex.closed || p.e.closed.Load() {
		return ErrTaskClosed
	}
	st := en.rec.Task.Status.State
	if st.Terminal() {
		return ErrTaskClosed
	}
	if st.Interrupted() {
		return fmt.Errorf("%w: the task waits for its user (%s); the execution should have returned", ErrTaskClosed, st)
	}
	c, err := build(en.rec.Task)
	if err != nil {
		return err
	}
	if err := p.e.commit(ctx, en, c); err != nil {
		return err
	}
	en.sawExec = true
	if en.rec.Task.Status.State.Interrupted() {
		p.ex.interrupted = true
	}
	return nil
}

func (p *publisher) statusChange(ctx context.Context, state a2a.TaskState, msgID, text string) error {
	return p.emit(ctx, func(t *a2a.Task) (change, error) {
		if err := checkText(text); err != nil {
			return change{}, err
		}
		return change{events: []a2a.Event{p.e.status(t, state, msgID, text)}}, nil
	})
}

func (p *publisher) Status(ctx context.Context, text string) error {
	return p.statusChange(ctx, a2a.StateWorking, p.ex.progressID, text)
}

func (p *publisher) InputRequired(ctx context.Context, question string) error {
	return p.statusChange(ctx, a2a.StateInputRequired, "", question)
}

func (p *publisher) AuthRequired(ctx context.Context, text string) error {
	return p.statusChange(ctx, a2a.StateAuthRequired, "", text)
}

func (p *publisher) Complete(ctx context.Context, text string) error {
	return p.statusChange(ctx, a2a.StateCompleted, "", text)
}

func (p *publisher) Fail(ctx context.Context, reason string) error {
	return p.statusChange(ctx, a2a.StateFailed, "", reason)
}

func (p *publisher) Reject(ctx context.Context, reason string) error {
	return p.statusChange(ctx, a2a.StateRejected, "", reason)
}

// Reply before any other event of a new task makes the send's result this
// Message. The task record is still kept, as completed with the reply as
// its status message: the message id stays idempotent, the reply shows in
// the dashboard and the timeline, and Watch readers see how it ended. Later,
// Reply just completes the task with the message.
func (p *publisher) Reply(ctx context.Context, parts ...a2a.Part) error {
	if len(parts) == 0 {
		return errors.New("reply: no parts")
	}
	return p.emit(ctx, func(t *a2a.Task) (change, error) {
		msg := &a2a.Message{ID: newID(), Role: a2a.RoleAgent, Parts: parts, TaskID: t.ID, ContextID: t.ContextID}
		if err := validateParts(msg.Parts); err != nil {
			return change{}, fmt.Errorf("reply: %w", err)
		}
		ev := p.e.status(t, a2a.StateCompleted, "", "")
		ev.Status.Message = msg
		c := change{events: []a2a.Event{ev}}
		if p.ex.replyOK && !p.en.sawExec {
			out := *msg
			out.TaskID = ""
			c.reply = &out
		}
		return c, nil
	})
}

func (p *publisher) Artifact(ctx context.Context, art a2a.Artifact) error {
	return p.emit(ctx, func(t *a2a.Task) (change, error) {
		if err := validateParts(art.Parts); err != nil {
			return change{}, fmt.Errorf("artifact: %w", err)
		}
		if art.ID == "" {
			art.ID = newID()
		}
		return change{events: []a2a.Event{&a2a.ArtifactUpdateEvent{TaskID: t.ID, ContextID: t.ContextID,
			Artifact: art, LastChunk: true}}}, nil
	})
}

// ArtifactChunk with an empty id continues the chunked artifact this
// execution has open, or opens a new one.
func (p *publisher) ArtifactChunk(ctx context.Context, art a2a.Artifact, last bool) error {
	return p.emit(ctx, func(t *a2a.Task) (change, error) {
		if err := validateParts(art.Parts); err != nil {
			return change{}, fmt.Errorf("artifact chunk: %w", err)
		}
		if art.ID == "" {
			art.ID = p.ex.chunkID
			if art.ID == "" {
				art.ID = newID()
			}
		}
		exists := false
		for i := range t.Artifacts {
			if t.Artifacts[i].ID == art.ID {
				exists = true
				break
			}
		}
		if last {
			p.ex.chunkID = ""
		} else {
			p.ex.chunkID = art.ID
		}
		return change{events: []a2a.Event{&a2a.ArtifactUpdateEvent{TaskID: t.ID, ContextID: t.ContextID,
			Artifact: art, Append: exists, LastChunk: last}}}, nil
	})
}
