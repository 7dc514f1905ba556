package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// chooseTask is a task whose question lists options in a data part, as
// the demo's `choose` asks; asData makes it want a data answer.
func chooseTask(id string, asData bool) *a2a.Task {
	t := task(id, a2a.StateInputRequired, "Which colour should the report use?", 5*time.Second)
	form := map[string]any{
		"question": "Which colour should the report use?",
		"options": []any{
			map[string]string{"value": "red", "label": "Red", "description": "warm and loud"},
			map[string]string{"value": "green", "label": "Green\x1b]0;pwned\x07\x1b[2J", "description": "calm"},
			"blue",
		},
	}
	if asData {
		form["answer"], form["field"] = "data", "colour"
	}
	data, _ := a2a.DataPart(form)
	t.Status.Message.Parts = append(t.Status.Message.Parts, data)
	return t
}

func seededWithChoice(t *testing.T, w, h int, asData bool) (*fakeService, *Model) {
	t.Helper()
	f, _ := seeded(t, w, h)
	f.tasks["task-choose-8"] = chooseTask("task-choose-8", asData)
	m := newTestModel(t, f, w, h)
	drain(t, m, m.Init(), nil)
	selectID(t, m, "task-choose-8")
	return f, m
}

func TestAnswerPicksAnOptionAsText(t *testing.T) {
	f, m := seededWithChoice(t, 80, 24, false)
	press(t, m, "a")
	if m.dialogs.open != dialogAnswer || m.dialogs.answer.field != fieldOptions {
		t.Fatalf("dialog %v field %d, want the answer dialog on its options", m.dialogs.open, m.dialogs.answer.field)
	}
	typeText(t, m, "x") // the list takes no typing
	press(t, m, "down", "down", "down", "up")
	if m.dialogs.answer.picker.cursor != 1 {
		t.Fatalf("cursor %d, want 1 (clamped at the last option, then up)", m.dialogs.answer.picker.cursor)
	}
	press(t, m, "enter")
	if len(f.sent) != 1 {
		t.Fatalf("sent %d", len(f.sent))
	}
	msg := f.sent[0].Message
	if msg.TaskID != "task-choose-8" || len(msg.Parts) != 1 || msg.Parts[0].Kind != a2a.PartText || msg.Parts[0].Text != "green" {
		t.Fatalf("sent %+v", msg)
	}
}

func TestAnswerPicksAnOptionAsData(t *testing.T) {
	f, m := seededWithChoice(t, 80, 24, true)
	press(t, m, "a", "down", "down", "enter")
	if len(f.sent) != 1 {
		t.Fatalf("sent %d", len(f.sent))
	}
	p := f.sent[0].Message.Parts
	if len(p) != 1 || p[0].Kind != a2a.PartData || string(p[0].Data) != `{"colour":"blue"}` {
		t.Fatalf("sent parts %+v", p)
	}
}

// tab leaves the options for a typed answer, and a JSON data part.
func TestAnswerTypedWithData(t *testing.T) {
	f, m := seededWithChoice(t, 80, 24, false)
	press(t, m, "a", "tab")
	typeText(t, m, "purple, please")
	press(t, m, "tab")
	typeText(t, m, `{"colour": "purple",`)
	press(t, m, "enter")
	a := m.dialogs.answer
	if len(f.sent) != 0 || m.dialogs.open != dialogAnswer || !strings.Contains(a.err, "data is not valid JSON") {
		t.Fatalf("invalid JSON: sent %d dialog %v err %q", len(f.sent), m.dialogs.open, a.err)
	}
	if !strings.Contains(m.View().Content, "data is not valid JSON") {
		t.Fatal("the dialog does not show the error")
	}
	typeText(t, m, ` "shade": 2}`)
	press(t, m, "enter")
	if len(f.sent) != 1 {
		t.Fatalf("sent %d (err %q)", len(f.sent), m.dialogs.answer.err)
	}
	p := f.sent[0].Message.Parts
	if len(p) != 2 || p[0].Text != "purple, please" || p[1].Kind != a2a.PartData || string(p[1].Data) != `{"colour":"purple","shade":2}` {
		t.Fatalf("sent parts %+v", p)
	}
}

func TestComposeWithDataOnly(t *testing.T) {
	f, m := seeded(t, 80, 24)
	press(t, m, "n", "tab", "tab")
	typeText(t, m, `[1, 2, 3]`)
	press(t, m, "enter")
	if len(f.sent) != 1 {
		t.Fatalf("sent %d (err %q)", len(f.sent), m.dialogs.compose.err)
	}
	p := f.sent[0].Message.Parts
	if len(p) != 1 || p[0].Kind != a2a.PartData || string(p[0].Data) != `[1,2,3]` {
		t.Fatalf("sent parts %+v", p)
	}
}

// The agent's labels reach the screen cleaned: no escape sequences.
func TestOptionsAreSanitised(t *testing.T) {
	_, m := seededWithChoice(t, 100, 30, false)
	press(t, m, "enter") // detail pane shows the options too
	press(t, m, "a")
	out := m.View().Content
	if strings.Contains(out, "]0;pwned") || strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\x07") {
		t.Fatalf("escape sequences from the agent reached the screen: %q", out)
	}
	if !strings.Contains(out, "Green") || !strings.Contains(out, "warm and loud") {
		t.Fatalf("options not shown:\n%s", out)
	}
}
