package a2a

import "fmt"

// Apply folds one event into a task and returns the result; t is never
// modified, so snapshots handed to other readers stay valid. t may be nil
// when the first event is not a Task snapshot (a v0.3 resubscribe sends
// none): the task is then started from the event's ids.
//
// The rules, shared by every layer of a2atop:
//   - a Task replaces what was known;
//   - a status update replaces the status; the message of the status it
//     replaces moves into the history (as a2a-go does), once;
//   - a Message with the task's id joins the history, once;
//   - an artifact update replaces the artifact with the same id, or with
//     Append adds its parts to it; an unknown id adds a new artifact.
func Apply(t *Task, ev Event) (*Task, error) {
	switch ev := ev.(type) {
	case *Task:
		if ev == nil {
			return nil, fmt.Errorf("apply: nil task")
		}
		if err := checkIDs(t, ev.ID, ev.ContextID); err != nil {
			return nil, err
		}
		return ev, nil
	case *StatusUpdateEvent:
		if ev == nil {
			return nil, fmt.Errorf("apply: nil status update")
		}
		if err := checkIDs(t, ev.TaskID, ev.ContextID); err != nil {
			return nil, err
		}
		out := startFrom(t, ev.TaskID, ev.ContextID)
		if prev := out.Status.Message; prev != nil && (ev.Status.Message == nil || ev.Status.Message.ID != prev.ID) {
			out.History = appendMessageOnce(out.History, *prev)
		}
		out.Status = ev.Status
		return out, nil
	case *ArtifactUpdateEvent:
		if ev == nil {
			return nil, fmt.Errorf("apply: nil artifact update")
		}
		if err := checkIDs(t, ev.TaskID, ev.ContextID); err != nil {
			return nil, err
		}
		out := startFrom(t, ev.TaskID, ev.ContextID)
		out.Artifacts = applyArtifact(out.Artifacts, ev)
		return out, nil
	case *Message:
		if ev == nil {
			return nil, fmt.Errorf("apply: nil message")
		}
		if t == nil || ev.TaskID == "" {
			// A message outside a task changes no task.
			return t, nil
		}
		if err := checkIDs(t, ev.TaskID, ev.ContextID); err != nil {
			return nil, err
		}
		out := t.Clone()
		out.History = appendMessageOnce(out.History, *ev)
		return out, nil
	case nil:
		return nil, fmt.Errorf("apply: nil event")
	default:
		return nil, fmt.Errorf("apply: unknown event type %T", ev)
	}
}

// Fold applies events in order, starting from t.
func Fold(t *Task, events ...Event) (*Task, error) {
	for i, ev := range events {
		var err error
		if t, err = Apply(t, ev); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
	}
	return t, nil
}

func checkIDs(t *Task, taskID, contextID string) error {
	if t == nil {
		if taskID == "" {
			return fmt.Errorf("apply: event has no task id")
		}
		return nil
	}
	if taskID != t.ID {
		return fmt.Errorf("apply: event for task %q applied to task %q", taskID, t.ID)
	}
	if contextID != "" && t.ContextID != "" && contextID != t.ContextID {
		return fmt.Errorf("apply: event for context %q applied to task in context %q", contextID, t.ContextID)
	}
	return nil
}

func startFrom(t *Task, taskID, contextID string) *Task {
	if t == nil {
		return &Task{ID: taskID, ContextID: contextID, Status: TaskStatus{State: StateUnknown}}
	}
	out := t.Clone()
	if out.ContextID == "" {
		out.ContextID = contextID
	}
	return out
}

func appendMessageOnce(history []Message, m Message) []Message {
	if m.ID != "" {
		for i := range history {
			if history[i].ID == m.ID {
				return history
			}
		}
	}
	return append(history, m)
}

// applyArtifact returns arts with ev applied; arts is already a private
// copy, but the Parts slices inside it are shared and must not be appended
// to in place.
func applyArtifact(arts []Artifact, ev *ArtifactUpdateEvent) []Artifact {
	for i := range arts {
		if arts[i].ID != ev.Artifact.ID {
			continue
		}
		if !ev.Append {
			arts[i] = ev.Artifact
			return arts
		}
		merged := arts[i]
		parts := make([]Part, 0, len(merged.Parts)+len(ev.Artifact.Parts))
		parts = append(parts, merged.Parts...)
		merged.Parts = append(parts, ev.Artifact.Parts...)
		if ev.Artifact.Name != "" {
			merged.Name = ev.Artifact.Name
		}
		if ev.Artifact.Description != "" {
			merged.Description = ev.Artifact.Description
		}
		if ev.Artifact.Metadata != nil {
			merged.Metadata = ev.Artifact.Metadata
		}
		arts[i] = merged
		return arts
	}
	return append(arts, ev.Artifact)
}
