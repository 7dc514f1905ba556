package a2a

import "fmt"

// Apply folds one event into a task and returns the result; t is never
// modified, so snapshots handed to other readers stay valid. t may be nil
// when the first event is not a Task snapshot (a v0.3 resubscribe sends
// none): the task is then started from the event's ids.
//
// The rules, shared by every layer of a2atop, follow what a2a-go v2.4.0's
// task manager stores (checked against its GetTask in a2a/wire's transcript
// tests):
//   - a Task replaces what was known;
//   - a status update replaces the status; the message of the status it
//     replaces moves into the history (as a2a-go does), once: a message
//     whose id is already there is not added again (a2a-js puts status
//     messages into the history itself); the update's metadata is merged
//     into the task's;
//   - a Message with the task's id joins the history, once;
//   - an artifact update replaces the artifact with the same id, or with
//     Append adds its parts to it and merges its metadata (the first
//     chunk's name and description stay, as in a2a-go); an unknown id adds
//     a new artifact, even with Append (a2a-go refuses that, but a client
//     that joined mid-stream must not lose the chunks it did see);
//   - LastChunk changes nothing in the task: the artifact is complete
//     either way, and only the event says that no more chunks follow.
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
		if len(ev.Metadata) > 0 {
			out.Metadata = mergeMetadata(out.Metadata, ev.Metadata)
		}
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
		// The agent's current status message (a question, say) came
		// before this message: file it first, so the history reads in
		// conversation order (user, agent, user) rather than waiting for
		// the next status to move it. Its id keeps it from being filed
		// twice.
		if prev := out.Status.Message; prev != nil && prev.ID != "" && prev.ID != ev.ID {
			out.History = appendMessageOnce(out.History, *prev)
		}
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
		if merged.Name == "" {
			merged.Name = ev.Artifact.Name
		}
		if merged.Description == "" {
			merged.Description = ev.Artifact.Description
		}
		if len(ev.Artifact.Metadata) > 0 {
			merged.Metadata = mergeMetadata(merged.Metadata, ev.Artifact.Metadata)
		}
		arts[i] = merged
		return arts
	}
	return append(arts, ev.Artifact)
}

// mergeMetadata returns a new map with the keys of base overwritten by
// those of update; neither input is modified.
func mergeMetadata(base, update Metadata) Metadata {
	out := make(Metadata, len(base)+len(update))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range update {
		out[k] = v
	}
	return out
}
