package ui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// timerFired is what a timer Cmd yields in tests: the message it would
// deliver after d, for the test to deliver or drop.
type timerFired struct {
	d   time.Duration
	msg tea.Msg
}

func newTestModel(t testing.TB, svc a2a.Service, w, h int, opts ...func(*Options)) *Model {
	t.Helper()
	o := Options{Now: func() time.Time { return testNow }, NoColor: true, Target: "local · demo agent · /tmp/test.db", SaveDir: t.TempDir()}
	for _, f := range opts {
		f(&o)
	}
	m := New(context.Background(), svc, o)
	m.after = func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
		return func() tea.Msg { return timerFired{d: d, msg: fn(testNow)} }
	}
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// drain runs cmd and everything it leads to, by hand, feeding replies
// back into m. Timers fire only when their message passes fire; the clock
// tick never does (it would re-arm forever). It returns every message
// seen, for assertions.
func drain(t testing.TB, m *Model, cmd tea.Cmd, fire func(tea.Msg) bool) []tea.Msg {
	t.Helper()
	var seen []tea.Msg
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			t.Fatal("drain: too many commands")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		switch msg := msg.(type) {
		case nil:
			continue
		case tea.BatchMsg:
			queue = append(queue, msg...)
			continue
		case timerFired:
			seen = append(seen, msg)
			if _, isTick := msg.msg.(tickMsg); isTick || fire == nil || !fire(msg.msg) {
				continue
			}
			seen = append(seen, msg.msg)
			_, next := m.Update(msg.msg)
			queue = append(queue, next)
			continue
		}
		seen = append(seen, msg)
		_, next := m.Update(msg)
		queue = append(queue, next)
	}
	return seen
}

// fireDetail delivers the debounced detail fetch, nothing else.
func fireDetail(msg tea.Msg) bool {
	_, ok := msg.(detailFetchMsg)
	return ok
}

// press sends one key and drains what it causes.
func press(t testing.TB, m *Model, keys ...string) []tea.Msg {
	t.Helper()
	var seen []tea.Msg
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		seen = append(seen, drain(t, m, cmd, fireDetail)...)
	}
	return seen
}

// typeText types s into whatever has focus.
func typeText(t testing.TB, m *Model, s string) {
	t.Helper()
	for _, r := range s {
		_, cmd := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		drain(t, m, cmd, nil)
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+j":
		return tea.KeyPressMsg{Code: 'j', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic(fmt.Sprintf("keyMsg: unknown key %q", k))
	}
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// task builds a task in a state with a status text, updated at
// testNow minus ago.
func task(id string, st a2a.TaskState, text string, ago time.Duration) *a2a.Task {
	t := &a2a.Task{ID: id, ContextID: "ctx-" + id, Status: a2a.TaskStatus{State: st, Timestamp: testNow.Add(-ago)}}
	if text != "" {
		t.Status.Message = &a2a.Message{ID: "m-" + id + "-" + string(st), Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(text)}}
	}
	return t
}

// seeded returns a fake service with a handful of tasks in every state
// and a model that loaded them.
func seeded(t testing.TB, w, h int, opts ...func(*Options)) (*fakeService, *Model) {
	t.Helper()
	f := newFakeService()
	for _, tk := range []*a2a.Task{
		task("task-working-1", a2a.StateWorking, "step 3/5", 2*time.Second),
		task("task-input-2", a2a.StateInputRequired, "What is the target date?", 10*time.Second),
		task("task-done-3", a2a.StateCompleted, "echoed", 3*time.Minute),
		task("task-failed-4", a2a.StateFailed, "boom: the agent gave up", 2*time.Hour),
		task("task-submitted-5", a2a.StateSubmitted, "queued: position 1", 1*time.Second),
		task("task-canceled-6", a2a.StateCanceled, "canceled by request", 3*24*time.Hour),
		task("task-auth-7", a2a.StateAuthRequired, "Sign in at https://example.test/login", 30*time.Second),
	} {
		f.tasks[tk.ID] = tk
	}
	done := f.tasks["task-done-3"]
	done.Metadata = a2a.Metadata{"priority": "high", "owner": "ops"}
	data, _ := a2a.DataPart(map[string]any{"city": "Lisbon", "temp": 21.5, "ok": true, "tags": []string{"a", "b"}, "none": nil})
	done.Artifacts = []a2a.Artifact{
		{ID: "art-1", Name: "answer", Parts: []a2a.Part{a2a.TextPart("hi\nsecond line")}},
		{ID: "art-2", Name: "weather", Description: "a JSON data part", Parts: []a2a.Part{data}},
		{ID: "art-3", Name: "notes", Parts: []a2a.Part{a2a.FileBytesPart("notes.txt", "text/plain", []byte("file body\n")), a2a.FileURIPart("spec.md", "text/markdown", "https://example.test/spec.md")}},
	}
	done.History = []a2a.Message{
		{ID: "u1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}},
		{ID: "a1", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("working on it")}},
	}
	m := newTestModel(t, f, w, h, opts...)
	drain(t, m, m.Init(), nil)
	return f, m
}

func selectID(t testing.TB, m *Model, id string) {
	t.Helper()
	i := m.table.rows.indexOf(rowKey{id: id})
	if i < 0 {
		t.Fatalf("task %s is not visible", id)
	}
	m.table.cursor = i
	drain(t, m, m.moved(m.sizedTable().afterCursorMove()), fireDetail)
}
