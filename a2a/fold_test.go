package a2a

import (
	"reflect"
	"strings"
	"testing"
)

func msg(id, text string) *Message {
	return &Message{ID: id, Role: RoleAgent, Parts: []Part{TextPart(text)}, TaskID: "t", ContextID: "c"}
}

func baseTask() *Task {
	return &Task{
		ID: "t", ContextID: "c",
		Status:    TaskStatus{State: StateWorking, Message: msg("s1", "step 1")},
		History:   []Message{{ID: "u1", Role: RoleUser, Parts: []Part{TextPart("go")}}},
		Artifacts: []Artifact{{ID: "a", Name: "out", Parts: []Part{TextPart("chunk-1 ")}, Metadata: Metadata{"x": 1.0}}},
		Metadata:  Metadata{"k": "v"},
	}
}

// deepCopy gives an independent copy to compare against after Apply.
func deepCopy(t *Task) *Task {
	c := *t
	c.History = nil
	for _, m := range t.History {
		m.Parts = append([]Part(nil), m.Parts...)
		c.History = append(c.History, m)
	}
	c.Artifacts = nil
	for _, a := range t.Artifacts {
		a.Parts = append([]Part(nil), a.Parts...)
		md := Metadata{}
		for k, v := range a.Metadata {
			md[k] = v
		}
		a.Metadata = md
		c.Artifacts = append(c.Artifacts, a)
	}
	md := Metadata{}
	for k, v := range t.Metadata {
		md[k] = v
	}
	c.Metadata = md
	return &c
}

func TestApplyStatusMovesMessageToHistoryOnce(t *testing.T) {
	in := baseTask()
	before := deepCopy(in)
	out, err := Apply(in, &StatusUpdateEvent{TaskID: "t", ContextID: "c", Status: TaskStatus{State: StateWorking, Message: msg("s2", "step 2")},
		Metadata: Metadata{"progress": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status.Message.ID != "s2" || len(out.History) != 2 || out.History[1].ID != "s1" {
		t.Errorf("status message must move to history: %+v", out.History)
	}
	if out.Metadata["k"] != "v" || out.Metadata["progress"] != 0.5 {
		t.Errorf("status metadata must merge into the task's: %v", out.Metadata)
	}
	if !reflect.DeepEqual(in, before) {
		t.Error("Apply modified its input task")
	}
	// The same status message again (a repeated event) is not moved twice,
	// nor is a message the history already holds (a2a-js style).
	out2, _ := Apply(out, &StatusUpdateEvent{TaskID: "t", Status: TaskStatus{State: StateWorking, Message: msg("s2", "step 2")}})
	if len(out2.History) != 2 {
		t.Errorf("a repeated status must not grow the history: %d", len(out2.History))
	}
	out2.History = append(out2.History, *msg("s3", "x"))
	out2.Status.Message = msg("s3", "x")
	out3, _ := Apply(out2, &StatusUpdateEvent{TaskID: "t", Status: TaskStatus{State: StateCompleted}})
	if len(out3.History) != 3 || out3.Status.Message != nil || out3.Status.State != StateCompleted {
		t.Errorf("a message already in history must not be added again: %d", len(out3.History))
	}
}

func TestApplyArtifacts(t *testing.T) {
	in := baseTask()
	before := deepCopy(in)
	out, err := Fold(in,
		&ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a", Name: "renamed", Parts: []Part{TextPart("chunk-2 ")}, Metadata: Metadata{"y": 2.0}}, Append: true},
		&ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a", Parts: []Part{TextPart("chunk-3")}}, Append: true, LastChunk: true},
		&ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "b", Name: "new", Parts: []Part{TextPart("B")}}},
		&ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "late", Parts: []Part{TextPart("L")}}, Append: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Artifacts) != 3 {
		t.Fatalf("want 3 artifacts, got %+v", out.Artifacts)
	}
	a := out.Artifacts[0]
	if PartsText(a.Parts) != "chunk-1 \nchunk-2 \nchunk-3" || len(a.Parts) != 3 {
		t.Errorf("append must join parts: %q", PartsText(a.Parts))
	}
	if a.Name != "out" || a.Metadata["x"] != 1.0 || a.Metadata["y"] != 2.0 {
		t.Errorf("append keeps the first name and merges metadata: %+v", a)
	}
	if out.Artifacts[1].ID != "b" || out.Artifacts[2].ID != "late" {
		t.Errorf("new ids are added in order: %+v", out.Artifacts)
	}
	if !reflect.DeepEqual(in, before) {
		t.Error("Fold modified its input task")
	}
	// Replace: same id without Append.
	rep, _ := Apply(out, &ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a", Parts: []Part{TextPart("whole")}}})
	if PartsText(rep.Artifacts[0].Parts) != "whole" || rep.Artifacts[0].Name != "" || len(rep.Artifacts) != 3 {
		t.Errorf("replace: %+v", rep.Artifacts[0])
	}
	if PartsText(out.Artifacts[0].Parts) != "chunk-1 \nchunk-2 \nchunk-3" {
		t.Error("replacing modified the earlier snapshot")
	}
}

// TestApplyDoesNotShareAppendTargets: appending to one snapshot twice must
// not make the two results share (and overwrite) a parts array.
func TestApplyDoesNotShareAppendTargets(t *testing.T) {
	in := baseTask()
	in.Artifacts[0].Parts = make([]Part, 1, 8) // room to append in place
	in.Artifacts[0].Parts[0] = TextPart("base")
	x, _ := Apply(in, &ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a", Parts: []Part{TextPart("X")}}, Append: true})
	y, _ := Apply(in, &ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a", Parts: []Part{TextPart("Y")}}, Append: true})
	if PartsText(x.Artifacts[0].Parts) != "base\nX" || PartsText(y.Artifacts[0].Parts) != "base\nY" {
		t.Errorf("snapshots share parts: %q %q", PartsText(x.Artifacts[0].Parts), PartsText(y.Artifacts[0].Parts))
	}
}

func TestApplyTaskAndMessages(t *testing.T) {
	in := baseTask()
	snap := &Task{ID: "t", ContextID: "c", Status: TaskStatus{State: StateCompleted}}
	out, err := Apply(in, snap)
	if err != nil || out != snap {
		t.Errorf("a task replaces what was known: %v", err)
	}
	m := &Message{ID: "u2", Role: RoleUser, TaskID: "t", ContextID: "c", Parts: []Part{TextPart("2026-12-01")}}
	out, _ = Fold(in, m, m)
	// The status message it follows is filed first (conversation order).
	if len(out.History) != 3 || out.History[1].ID != "s1" || out.History[2].ID != "u2" {
		t.Errorf("a task message joins the history once, after the status it follows: %+v", out.History)
	}
	free := &Message{ID: "x", Role: RoleAgent}
	if out, err := Apply(in, free); err != nil || out != in {
		t.Error("a message outside a task changes nothing")
	}
	if out, err := Apply(nil, m); err != nil || out != nil {
		t.Error("a message with no task to join changes nothing")
	}
}

func TestApplyStartsFromNil(t *testing.T) {
	out, err := Fold(nil,
		&StatusUpdateEvent{TaskID: "t", ContextID: "c", Status: TaskStatus{State: StateWorking}},
		&ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a", Parts: []Part{TextPart("x")}}},
	)
	if err != nil || out.ID != "t" || out.ContextID != "c" || out.Status.State != StateWorking || len(out.Artifacts) != 1 {
		t.Errorf("fold from nil: %+v, %v", out, err)
	}
	out, _ = Apply(nil, &ArtifactUpdateEvent{TaskID: "t", Artifact: Artifact{ID: "a"}})
	if out.Status.State != StateUnknown {
		t.Errorf("a task started from an artifact has an unknown state: %q", out.Status.State)
	}
}

func TestApplyErrors(t *testing.T) {
	in := baseTask()
	for name, ev := range map[string]Event{
		"other task":      &StatusUpdateEvent{TaskID: "u", Status: TaskStatus{State: StateWorking}},
		"other context":   &ArtifactUpdateEvent{TaskID: "t", ContextID: "d"},
		"other task snap": &Task{ID: "u"},
		"other task msg":  &Message{ID: "m", TaskID: "u"},
		"nil event":       nil,
		"nil status":      (*StatusUpdateEvent)(nil),
		"nil artifact":    (*ArtifactUpdateEvent)(nil),
		"nil task":        (*Task)(nil),
		"nil message":     (*Message)(nil),
	} {
		if _, err := Apply(in, ev); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := Apply(nil, &StatusUpdateEvent{Status: TaskStatus{State: StateWorking}}); err == nil {
		t.Error("an event without a task id cannot start a task")
	}
	_, err := Fold(in, &StatusUpdateEvent{TaskID: "t"}, &StatusUpdateEvent{TaskID: "zzz"})
	if err == nil || !strings.Contains(err.Error(), "event 1") {
		t.Errorf("Fold names the failing event: %v", err)
	}
}

// Issue 14 bug 7: an answer was filed before the question it answers, so
// the history read user, user, agent.
func TestFoldHistoryInConversationOrder(t *testing.T) {
	u1 := Message{ID: "u1", Role: RoleUser, TaskID: "t", ContextID: "c", Parts: []Part{TextPart("ask")}}
	q := &Message{ID: "q", Role: RoleAgent, TaskID: "t", ContextID: "c", Parts: []Part{TextPart("which date?")}}
	u2 := &Message{ID: "u2", Role: RoleUser, TaskID: "t", ContextID: "c", Parts: []Part{TextPart("friday")}}
	done := &Message{ID: "d", Role: RoleAgent, TaskID: "t", ContextID: "c", Parts: []Part{TextPart("booked")}}
	got, err := Fold(&Task{ID: "t", ContextID: "c", Status: TaskStatus{State: StateSubmitted}, History: []Message{u1}},
		&StatusUpdateEvent{TaskID: "t", ContextID: "c", Status: TaskStatus{State: StateInputRequired, Message: q}},
		u2,
		&StatusUpdateEvent{TaskID: "t", ContextID: "c", Status: TaskStatus{State: StateWorking}},
		&StatusUpdateEvent{TaskID: "t", ContextID: "c", Status: TaskStatus{State: StateCompleted, Message: done}},
	)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got.History {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "u1,q,u2" {
		t.Fatalf("history %v, want u1,q,u2", ids)
	}
}
