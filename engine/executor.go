package engine

import (
	"context"
	"errors"

	"github.com/a2atop/a2atop/a2a"
)

// Executor is an agent's logic. The engine calls Execute once per attempt
// and once per answer to an input-required or auth-required question.
//
// ctx is canceled when the task is canceled or the engine stops; an
// executor should return promptly then (the engine ends the task as
// canceled after a grace period even if it does not).
//
// Returning nil after a terminal or interrupted event is the normal end.
// Returning nil without one completes the task. Returning an error fails
// the task with the error's text, unless the error is Retryable and attempts
// remain, in which case the engine runs Execute again after a backoff.
type Executor interface {
	Execute(ctx context.Context, req *Request, pub Publisher) error
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, req *Request, pub Publisher) error

func (f ExecutorFunc) Execute(ctx context.Context, req *Request, pub Publisher) error {
	return f(ctx, req, pub)
}

// Describer is implemented by executors that describe themselves for the
// agent card (name, description, skills).
type Describer interface {
	Card() a2a.AgentCard
}

// Request is what an executor is given.
type Request struct {
	// Task is a snapshot of the stored task, with its history and metadata.
	// It must not be modified.
	Task *a2a.Task
	// Message is the message that started this execution: the first message
	// of a new task, or the user's answer to a question.
	Message *a2a.Message
	// Attempt counts executions for this Message, from 1; retries and
	// restarts raise it, and an answer to a question starts again at 1.
	Attempt int
	// MaxAttempts is the engine's limit on attempts (Options.MaxAttempts),
	// so an executor that plans its failures can tell when the plan cannot
	// succeed; 0 when unknown.
	MaxAttempts int
	// Resumed is set when an earlier execution of this attempt was stopped
	// part-way by a clean engine Close (a2atop quit, or handed its store to
	// another a2atop): the work may have been partly done already, so an
	// executor whose work is not safe to repeat should not simply redo it.
	Resumed bool
}

// Publisher is how an executor reports progress. Every method checks the
// event against the task at once and returns an error once the task is
// terminal, waits for its user, or was canceled (ErrTaskClosed), or when
// the event breaks a rule; an executor should stop when a publish fails.
//
// Durability: the methods that end the task or ask its user (Complete,
// Fail, Reject, Reply, InputRequired, AuthRequired) return after the event
// is persisted. Progress (Status, Artifact, ArtifactChunk) returns once the
// event is checked and numbered; the engine persists the task's pending
// events together, in one store commit, in order, and shows them to
// readers only after that. At most 1024 events of a task wait for the
// store; a progress publish beyond that waits. If the store fails to
// persist events, they are lost (never shown), every later publish of
// that attempt returns the error (the ending publish itself if it was in
// the failed commit), and when the executor returns the task ends failed
// ("events of this execution were lost: ...") if the store works again.
// A clean engine Close persists the events already published.
//
// Status texts of one execution share one message id, so each replaces the
// last as the status message instead of piling up in the task's history;
// the timeline (Engine.Timeline) keeps them all.
type Publisher interface {
	// Status sets the task working (if it is not) with a status message.
	Status(ctx context.Context, text string) error
	// Artifact adds or replaces a whole artifact. An empty ID gets a new one.
	Artifact(ctx context.Context, art a2a.Artifact) error
	// ArtifactChunk appends parts to the artifact with art.ID (creating it on
	// the first chunk); last marks the final chunk.
	ArtifactChunk(ctx context.Context, art a2a.Artifact, last bool) error
	// InputRequired asks the user a question; the execution should return
	// after it. The answer starts a new execution.
	InputRequired(ctx context.Context, question string) error
	// AuthRequired tells the user the task needs credentials or an
	// approval (A2A v1.0 §7.6). Unlike InputRequired the execution may
	// either return (then a message from the user starts a new execution,
	// as an answer does) or carry on, waiting for credentials that arrive
	// out of band: its next publish continues the task (Status sets it
	// working again) and streams stay open meanwhile. A message that
	// arrives while it carries on cancels its context and starts a new
	// execution with the message.
	AuthRequired(ctx context.Context, text string) error
	// Complete ends the task successfully, with an optional final text.
	Complete(ctx context.Context, text string) error
	// Fail ends the task as failed with a reason.
	Fail(ctx context.Context, reason string) error
	// Reject ends the task as rejected with a reason.
	Reject(ctx context.Context, reason string) error
	// Reply answers without a task when called before any other event of a
	// new task: the send returns this Message (a stream is just this
	// Message). The task record is kept, completed with the reply as its
	// status message, so the message id stays idempotent and the dashboard
	// shows it. Called later, Reply completes the task with the message.
	Reply(ctx context.Context, parts ...a2a.Part) error
}

// PartsAsker is implemented by the engine's Publisher: it asks the user
// with a whole message rather than a line of text, e.g. a question with a
// data part that lists options to choose from or a form to fill in.
// state is a2a.StateInputRequired or a2a.StateAuthRequired, with the
// same rules as InputRequired and AuthRequired.
type PartsAsker interface {
	Ask(ctx context.Context, state a2a.TaskState, parts ...a2a.Part) error
}

// ErrTaskClosed is returned by a Publisher once its task is terminal or its
// execution was canceled.
var ErrTaskClosed = errors.New("task is closed: no more events are accepted")

// retryableError marks an error as worth another attempt.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// Retryable marks err so that the engine retries the execution (with
// backoff, up to the configured attempts) instead of failing the task.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryableError{err: err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}
