package a2a

import (
	"context"
	"time"
)

// TimelineSource is an optional capability of a Service: it keeps every
// event of a task (the local engine does; a remote agent does not), so the
// dashboard's timeline shows all of them with their times, not only what
// it saw live. Wrappers that pass a service on must keep it; each declares
// `var _ a2a.TimelineSource = ...` so forgetting it fails to compile.
type TimelineSource interface {
	// Timeline returns the task's events in order. An unknown task is
	// ErrTaskNotFound.
	Timeline(ctx context.Context, taskID string) ([]TimelineEvent, error)
}

// TimelineEvent is one event of a task's log.
type TimelineEvent struct {
	// Seq numbers the task's events from 1.
	Seq uint64
	// Time is when the source recorded the event.
	Time time.Time
	// Event is a *Task, *Message, *StatusUpdateEvent or *ArtifactUpdateEvent.
	Event Event
}
