package a2a

import "strings"

// TaskState is where a task is in its lifecycle. The zero value is
// StateUnknown's spelling-free twin and is treated as unknown.
//
// The canonical spelling is the v0.3 wire form ("input-required"); the v1.0
// codec maps it to and from TASK_STATE_* names.
type TaskState string

const (
	StateUnknown       TaskState = "unknown"
	StateSubmitted     TaskState = "submitted"
	StateWorking       TaskState = "working"
	StateInputRequired TaskState = "input-required"
	StateAuthRequired  TaskState = "auth-required"
	StateCompleted     TaskState = "completed"
	StateFailed        TaskState = "failed"
	StateCanceled      TaskState = "canceled"
	StateRejected      TaskState = "rejected"
)

// States lists every state in lifecycle order, for filters and legends.
func States() []TaskState {
	return []TaskState{
		StateSubmitted, StateWorking, StateInputRequired, StateAuthRequired,
		StateCompleted, StateFailed, StateCanceled, StateRejected, StateUnknown,
	}
}

// ParseState accepts both dialects' spellings, in any case, with either
// "canceled" or "cancelled", and with '_' or '-' between words. Anything it
// does not recognise is StateUnknown: an agent from the future must not break
// a reader from today.
func ParseState(s string) TaskState {
	norm := strings.ToLower(strings.TrimSpace(s))
	norm = strings.TrimPrefix(norm, "task_state_")
	norm = strings.ReplaceAll(norm, "_", "-")
	switch norm {
	case "submitted":
		return StateSubmitted
	case "working":
		return StateWorking
	case "input-required":
		return StateInputRequired
	case "auth-required":
		return StateAuthRequired
	case "completed":
		return StateCompleted
	case "failed":
		return StateFailed
	case "canceled", "cancelled":
		return StateCanceled
	case "rejected":
		return StateRejected
	default:
		return StateUnknown
	}
}

// Terminal reports whether no further change can happen to a task in this state.
func (s TaskState) Terminal() bool {
	switch s {
	case StateCompleted, StateFailed, StateCanceled, StateRejected:
		return true
	}
	return false
}

// Interrupted reports whether the task waits on its user (an answer or credentials).
func (s TaskState) Interrupted() bool {
	return s == StateInputRequired || s == StateAuthRequired
}

// Active reports whether the task is neither finished nor waiting on its user.
func (s TaskState) Active() bool {
	return s == StateSubmitted || s == StateWorking
}

// Known reports whether s is one of the named states other than unknown.
func (s TaskState) Known() bool {
	return ParseState(string(s)) != StateUnknown
}

// String returns the canonical spelling; the empty state reads as "unknown".
func (s TaskState) String() string {
	if s == "" {
		return string(StateUnknown)
	}
	return string(s)
}
