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

var (
	_ Publisher  = (*publisher)(nil)
	_ PartsAsker = (*publisher)(nil)
)

// emit sequences the events build returns, under the task's lock, unless
// the attempt may no longer publish, and hands them to the task's flusher
// (see Engine.enqueue). A publish that leaves the task terminal or waiting
// for its user returns once its events are persisted; progress returns at
// once, unless maxUnpersisted events already wait for the store.
func (p *publisher) emit(ctx context.Context, build func(t *a2a.Task) (change, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	en := p.en
	en.mu.Lock()
	// Back-pressure when the store is behind; and a writer draining the
	// pipeline goes first.
	for (en.unpersisted >= maxUnpersisted && en.flushing) || en.draining > 0 {
		en.flushed.Wait()
	}
	g, err := p.sequence(build)
	en.mu.Unlock()
	if err != nil || g.done == nil {
		return err
	}
	<-g.done
	return g.err
}

// sequence checks the publish's rules and enqueues its events. Caller
// holds en.mu.
func (p *publisher) sequence(build func(t *a2a.Task) (change, error)) (*pendingGroup, error) {
	en := p.en
	if p.ex.closed || p.e.closed.Load() {
		return nil, ErrTaskClosed
	}
	if en.flushErr != nil {
		return nil, fmt.Errorf("an earlier event of this execution was lost: %w", en.flushErr)
	}
	t := en.tip().Task
	st := t.Status.State
	if st.Terminal() {
		return nil, ErrTaskClosed
	}
	// After AuthRequired the execution that asked may carry on (credentials
	// arrive out of band: A2A v1.0 §7.6.1 "The agent MAY immediately
	// continue Task processing after receiving the credential"); after
	// InputRequired it must return.
	carryOn := st == a2a.StateAuthRequired && p.ex.interrupted
	if st.Interrupted() && !carryOn {
		return nil, fmt.Errorf("%w: the task waits for its user (%s); the execution should have returned", ErrTaskClosed, st)
	}
	c, err := build(t)
	if err != nil {
		return nil, err
	}
	final := false
	if n := len(c.events); n > 0 {
		if su, ok := c.events[n-1].(*a2a.StatusUpdateEvent); ok {
			final = su.Status.State.Terminal() || su.Status.State.Interrupted()
		}
	}
	g, err := p.e.enqueue(en, c, final)
	if err != nil {
		return nil, err
	}
	en.sawExec = true
	p.ex.interrupted = en.tip().Task.Status.State.Interrupted()
	return g, nil
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

// Ask is InputRequired or AuthRequired with a message of any parts as
// the status message.
func (p *publisher) Ask(ctx context.Context, state a2a.TaskState, parts ...a2a.Part) error {
	if !state.Interrupted() {
		return fmt.Errorf("ask: state %q does not ask the user (use input-required or auth-required)", state)
	}
	if len(parts) == 0 {
		return errors.New("ask: no parts")
	}
	return p.emit(ctx, func(t *a2a.Task) (change, error) {
		if err := validateParts(parts); err != nil {
			return change{}, fmt.Errorf("ask: %w", err)
		}
		ev := p.e.status(t, state, "", "")
		ev.Status.Message = &a2a.Message{ID: p.e.newID(), Role: a2a.RoleAgent, Parts: parts, TaskID: t.ID, ContextID: t.ContextID}
		return change{events: []a2a.Event{ev}}, nil
	})
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
		msg := &a2a.Message{ID: p.e.newID(), Role: a2a.RoleAgent, Parts: parts, TaskID: t.ID, ContextID: t.ContextID}
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
			art.ID = p.e.newID()
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
				art.ID = p.e.newID()
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
