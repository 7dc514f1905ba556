package client

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// TestJournalIgnoresStaleStatus: a snapshot or status event that arrives
// after a newer one (a poll answered before the stream's last event) must
// not roll the task back nor add a step to its timeline. It once showed a
// completed task working again at "step 3/3".
func TestJournalIgnoresStaleStatus(t *testing.T) {
	j, err := openJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	task := func(state a2a.TaskState, at time.Time, text string) *a2a.Task {
		return &a2a.Task{ID: "t1", ContextID: "c1", Status: a2a.TaskStatus{State: state, Timestamp: at, Message: &a2a.Message{ID: "m-" + text, Role: a2a.RoleAgent, Parts: []a2a.Part{{Kind: a2a.PartText, Text: text}}}}}
	}
	for _, step := range []struct {
		task    *a2a.Task
		changed bool
	}{
		{task(a2a.StateWorking, t0, "step 1"), true},
		{task(a2a.StateWorking, t0.Add(time.Second), "step 2"), true},
		{task(a2a.StateCompleted, t0.Add(2*time.Second), ""), true},
		{task(a2a.StateWorking, t0.Add(time.Second), "step 2"), false},   // a late poll
		{task(a2a.StateWorking, t0.Add(3*time.Second), "step 9"), false}, // finished never works again
		{task(a2a.StateWorking, time.Time{}, "no timestamp"), false},     // nor without a time
		{task(a2a.StateCompleted, t0.Add(2*time.Second), ""), false},     // the same status again
	} {
		if _, changed, err := j.record(step.task); err != nil || changed != step.changed {
			t.Fatalf("record %s %v: changed %v, %v; want changed %v", step.task.Status.State, step.task.Status.Timestamp, changed, err, step.changed)
		}
	}
	if _, changed, err := j.recordStatus(&a2a.StatusUpdateEvent{TaskID: "t1", ContextID: "c1",
		Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: t0.Add(time.Second)}}); err != nil || changed {
		t.Fatalf("a late status event: changed %v, %v", changed, err)
	}
	tl, err := j.timeline("t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 3 || tl[2].State != a2a.StateCompleted {
		t.Fatalf("timeline: %+v, want working, working, completed", tl)
	}
	got, err := j.after(0)
	if err != nil || len(got) != 1 || got[0].Task.Status.State != a2a.StateCompleted {
		t.Fatalf("the snapshot was rolled back: %+v, %v", got, err)
	}
}
