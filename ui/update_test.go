package ui

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/charmbracelet/x/ansi"
)

func visibleIDs(m *Model) []string {
	ids := make([]string, len(m.table.rows.visible))
	for i, r := range m.table.rows.visible {
		ids[i] = r.id
	}
	return ids
}

func TestInitialLoadNewestFirst(t *testing.T) {
	_, m := seeded(t, 120, 40)
	want := []string{"task-submitted-5", "task-working-1", "task-input-2", "task-auth-7", "task-done-3", "task-failed-4", "task-canceled-6"}
	if got := visibleIDs(m); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	if m.table.selectedKey.id != "task-submitted-5" || m.table.loading {
		t.Fatalf("selected %q loading %v", m.table.selectedKey.id, m.table.loading)
	}
	if m.table.rows.waiting() != 2 || m.table.rows.counts[a2a.StateWorking] != 1 {
		t.Fatalf("counts %v", m.table.rows.counts)
	}
}

func TestInitialLoadPages(t *testing.T) {
	f := newFakeService()
	for i := range 250 {
		tk := task(fmt.Sprintf("t%04d", i), a2a.StateCompleted, "ok", time.Duration(i)*time.Second)
		f.tasks[tk.ID] = tk
	}
	m := newTestModel(t, f, 80, 24)
	drain(t, m, m.Init(), nil)
	if len(m.table.rows.byKey) != 250 || m.table.loading {
		t.Fatalf("loaded %d tasks, loading %v", len(m.table.rows.byKey), m.table.loading)
	}
	if m.table.rows.visible[0].id != "t0000" {
		t.Fatalf("first row %s", m.table.rows.visible[0].id)
	}
}

func TestNavigationKeys(t *testing.T) {
	_, m := seeded(t, 80, 12)
	n := len(m.table.rows.visible)
	steps := []struct {
		key  string
		want int
	}{
		{"j", 1}, {"down", 2}, {"k", 1}, {"up", 0}, {"up", 0},
		{"G", n - 1}, {"g", 0}, {"end", n - 1}, {"home", 0},
		{"pgdown", min(m.layoutFor().tableRows-1, n-1)}, {"pgup", 0},
	}
	for _, s := range steps {
		press(t, m, s.key)
		if m.table.cursor != s.want {
			t.Fatalf("after %s cursor = %d, want %d", s.key, m.table.cursor, s.want)
		}
		if m.table.selectedKey.id != m.table.rows.visible[m.table.cursor].id {
			t.Fatalf("after %s selected %s, cursor row %s", s.key, m.table.selectedKey.id, m.table.rows.visible[m.table.cursor].id)
		}
		if m.table.cursor < m.table.offset || m.table.cursor >= m.table.offset+m.layoutFor().tableRows {
			t.Fatalf("after %s cursor %d outside view [%d,+%d)", s.key, m.table.cursor, m.table.offset, m.layoutFor().tableRows)
		}
	}
}

func TestSelectionFetchesDetailDebounced(t *testing.T) {
	f, m := seeded(t, 160, 48)
	f.gets = nil
	_, cmd := m.Update(keyMsg("j"))
	_, cmd2 := m.Update(keyMsg("j"))
	// The first timer is stale: only the second fetch reaches Get.
	drain(t, m, tea.Batch(cmd, cmd2), fireDetail)
	if !slices.Equal(f.gets, []string{"task-input-2"}) {
		t.Fatalf("gets = %v", f.gets)
	}
	if m.detail.task == nil || m.detail.task.ID != "task-input-2" {
		t.Fatalf("detail task %+v", m.detail.task)
	}
}

func TestCursorStaysOnTaskAcrossUpdates(t *testing.T) {
	_, m := seeded(t, 80, 10)
	press(t, m, "U")
	selectID(t, m, "task-done-3")
	screenRow := m.table.cursor - m.table.offset
	events := []a2a.StreamEvent{
		{Event: task("brand-new", a2a.StateSubmitted, "queued", 0), Time: testNow},
		{Event: &a2a.StatusUpdateEvent{TaskID: "task-failed-4", Status: a2a.TaskStatus{State: a2a.StateFailed, Timestamp: testNow}}},
	}
	drain(t, m, func() tea.Msg { return eventsMsg{events: events} }, nil)
	if m.table.selectedKey.id != "task-done-3" || m.table.rows.visible[m.table.cursor].id != "task-done-3" {
		t.Fatalf("selection moved to %s (cursor row %s)", m.table.selectedKey.id, m.table.rows.visible[m.table.cursor].id)
	}
	if m.table.cursor-m.table.offset != screenRow {
		t.Fatalf("selected row moved on screen from %d to %d", screenRow, m.table.cursor-m.table.offset)
	}
	if m.table.rows.visible[0].id != "brand-new" && m.table.rows.visible[0].id != "task-failed-4" {
		t.Fatalf("newest activity not first: %v", visibleIDs(m))
	}
}

func TestEveryEventKind(t *testing.T) {
	_, m := seeded(t, 160, 48)
	press(t, m, "U") // by last change: an update moves its row to the top
	selectID(t, m, "task-working-1")
	if m.detail.task == nil {
		t.Fatal("detail not loaded")
	}
	send := func(evs ...a2a.StreamEvent) {
		drain(t, m, func() tea.Msg { return eventsMsg{events: evs} }, nil)
	}
	r := m.table.rows.byKey[rowKey{id: "task-working-1"}]

	// Status update: new text, progress parsed, moved to the top.
	send(a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{TaskID: r.id, ContextID: r.contextID,
		Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow,
			Message: &a2a.Message{ID: "s4", Parts: []a2a.Part{a2a.TextPart("step 4/5")}}}}})
	if r.text != "step 4/5" || r.progress != 0.8 || m.table.rows.visible[0] != r {
		t.Fatalf("status update: text %q progress %v first %s", r.text, r.progress, m.table.rows.visible[0].id)
	}
	// Artifact update, then an appended chunk: one artifact, growing.
	send(a2a.StreamEvent{Event: &a2a.ArtifactUpdateEvent{TaskID: r.id, Artifact: a2a.Artifact{ID: "out", Name: "out.txt", Parts: []a2a.Part{a2a.TextPart("chunk one ")}}}, Time: testNow})
	send(a2a.StreamEvent{Event: &a2a.ArtifactUpdateEvent{TaskID: r.id, Append: true, LastChunk: true, Artifact: a2a.Artifact{ID: "out", Parts: []a2a.Part{a2a.TextPart("chunk two")}}}, Time: testNow})
	if len(r.artifacts) != 1 {
		t.Fatalf("artifact count %d", len(r.artifacts))
	}
	if got := a2a.PartsText(m.detail.task.Artifacts[0].Parts); got != "chunk one \nchunk two" {
		t.Fatalf("detail artifact = %q", got)
	}
	// A message joins the history of the shown task.
	send(a2a.StreamEvent{Event: &a2a.Message{ID: "u9", TaskID: r.id, Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("more please")}}, Time: testNow})
	if n := len(m.detail.task.History); n == 0 || m.detail.task.History[n-1].ID != "u9" {
		t.Fatalf("history %+v", m.detail.task.History)
	}
	// A task snapshot replaces what is known.
	snap := task(r.id, a2a.StateCompleted, "all done", 0)
	snap.Status.Timestamp = testNow.Add(time.Second)
	send(a2a.StreamEvent{Event: snap})
	if r.state != a2a.StateCompleted || r.text != "all done" || len(r.artifacts) != 0 {
		t.Fatalf("snapshot: %s %q %d", r.state, r.text, len(r.artifacts))
	}
	// An event for a task never seen creates its row; a message outside
	// any task changes nothing.
	send(a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{TaskID: "stranger", Status: a2a.TaskStatus{State: a2a.StateWorking}}},
		a2a.StreamEvent{Event: &a2a.Message{ID: "loose", Role: a2a.RoleAgent}})
	if m.table.rows.byKey[rowKey{id: "stranger"}] == nil || len(m.table.rows.byKey) != 8 {
		t.Fatalf("rows: %d", len(m.table.rows.byKey))
	}
	// The fallback timeline recorded the transitions seen.
	var states []a2a.TaskState
	for _, e := range r.timeline {
		states = append(states, e.state)
	}
	if !slices.Contains(states, a2a.StateCompleted) {
		t.Fatalf("timeline %v", states)
	}
}

func TestListSnapshotDoesNotOverrideNewerEvent(t *testing.T) {
	_, m := seeded(t, 80, 24)
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "task-working-1",
			Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: testNow}}}}}
	}, nil)
	old := task("task-working-1", a2a.StateWorking, "step 3/5", 2*time.Second)
	drain(t, m, func() tea.Msg { return listMsg{gen: m.fleet[0].listGen, page: &a2a.ListPage{Tasks: []*a2a.Task{old}}} }, nil)
	if st := m.table.rows.byKey[rowKey{id: "task-working-1"}].state; st != a2a.StateCompleted {
		t.Fatalf("older snapshot won: %s", st)
	}
}

func TestAnswerPicksWaitingTaskAndSends(t *testing.T) {
	f, m := seeded(t, 80, 24)
	press(t, m, "a")
	if m.dialogs.open != dialogAnswer || m.dialogs.answer.task == nil || m.dialogs.answer.task.id != "task-auth-7" {
		t.Fatalf("dialog %v for %+v", m.dialogs.open, m.dialogs.answer.task)
	}
	if m.table.selectedKey.id != "task-auth-7" {
		t.Fatalf("selection did not follow the answer box: %s", m.table.selectedKey.id)
	}
	press(t, m, "esc")
	selectID(t, m, "task-input-2")
	press(t, m, "a")
	if m.dialogs.answer.task.id != "task-input-2" {
		t.Fatalf("answer bound to %s", m.dialogs.answer.task.id)
	}
	press(t, m, "enter") // empty: refused
	if m.dialogs.open != dialogAnswer || len(f.sent) != 0 {
		t.Fatal("empty answer was sent")
	}
	typeText(t, m, "2026-12-01 q?")
	press(t, m, "enter")
	if m.dialogs.open != dialogNone || len(f.sent) != 1 {
		t.Fatalf("dialog %v sent %d", m.dialogs.open, len(f.sent))
	}
	req := f.sent[0]
	if req.Message.TaskID != "task-input-2" || req.Message.ContextID != "ctx-task-input-2" || req.Message.Text() != "2026-12-01 q?" || req.Message.Role != a2a.RoleUser || !req.Config.ReturnImmediately {
		t.Fatalf("request %+v", req)
	}
	if st := m.table.rows.byKey[rowKey{id: "task-input-2"}].state; st != a2a.StateWorking {
		t.Fatalf("state after answer %s", st)
	}
}

func TestAnswerWithNothingWaiting(t *testing.T) {
	f := newFakeService()
	f.tasks["a"] = task("a", a2a.StateWorking, "", 0)
	m := newTestModel(t, f, 80, 24)
	drain(t, m, m.Init(), nil)
	press(t, m, "a")
	if m.dialogs.open != dialogNone || !m.flash.err {
		t.Fatalf("dialog %v flash %q", m.dialogs.open, m.flash.text)
	}
}

func TestComposeNewTaskSelectsIt(t *testing.T) {
	f, m := seeded(t, 80, 24)
	press(t, m, "f") // a filter that would hide the new task
	press(t, m, "f", "f")
	press(t, m, "n")
	if m.dialogs.open != dialogCompose {
		t.Fatalf("dialog %v", m.dialogs.open)
	}
	typeText(t, m, "slow 5")
	press(t, m, "ctrl+j")
	typeText(t, m, "and more")
	press(t, m, "tab")
	typeText(t, m, "priority=high owner=me")
	press(t, m, "enter")
	if len(f.sent) != 1 {
		t.Fatalf("sent %d", len(f.sent))
	}
	req := f.sent[0]
	if req.Message.Text() != "slow 5\nand more" || req.Metadata["priority"] != "high" || req.Metadata["owner"] != "me" || req.Message.TaskID != "" {
		t.Fatalf("request %+v", req)
	}
	if m.table.selectedKey.id != "new-task-01" || m.table.rows.state != filterAll {
		t.Fatalf("selected %s filter %v", m.table.selectedKey.id, m.table.rows.state)
	}
}

func TestComposeBadMetadata(t *testing.T) {
	f, m := seeded(t, 80, 24)
	press(t, m, "n")
	typeText(t, m, "echo x")
	press(t, m, "tab")
	typeText(t, m, "novalue")
	press(t, m, "enter")
	// The error shows in the dialog, which stays open with what was typed.
	if len(f.sent) != 0 || m.dialogs.open != dialogCompose || !strings.Contains(m.dialogs.compose.err, "novalue") {
		t.Fatalf("sent %d dialog %v error %q", len(f.sent), m.dialogs.open, m.dialogs.compose.err)
	}
	if !strings.Contains(m.View().Content, "✗ ") {
		t.Fatal("the dialog does not show the error")
	}
	press(t, m, "esc")
	if m.dialogs.open != dialogNone {
		t.Fatal("esc did not close")
	}
}

func TestTextInputKeepsKeys(t *testing.T) {
	_, m := seeded(t, 80, 24)
	press(t, m, "n")
	msgs := press(t, m, "q", "?", "x", "j", "/")
	for _, msg := range msgs {
		if _, ok := msg.(tea.QuitMsg); ok {
			t.Fatal("q quit while typing")
		}
	}
	if got := m.dialogs.compose.box.Value(); got != "q?xj/" {
		t.Fatalf("typed %q", got)
	}
	if m.dialogs.open != dialogCompose {
		t.Fatalf("dialog changed to %v", m.dialogs.open)
	}
	// ctrl+c still quits from a text box.
	if !slices.ContainsFunc(press(t, m, "ctrl+c"), isQuit) {
		t.Fatal("ctrl+c did not quit")
	}
}

func isQuit(msg tea.Msg) bool { _, ok := msg.(tea.QuitMsg); return ok }

func TestQuit(t *testing.T) {
	_, m := seeded(t, 80, 24)
	if !slices.ContainsFunc(press(t, m, "q"), isQuit) || !m.quitting {
		t.Fatal("q did not quit")
	}
	if ps := m.View().ProgramStatus; ps == nil || ps.State != tea.ProgramStateIdle {
		t.Fatalf("program status at quit %+v", ps)
	}
}

func TestCancelConfirm(t *testing.T) {
	f, m := seeded(t, 80, 24)
	selectID(t, m, "task-working-1")
	press(t, m, "x")
	if m.dialogs.open != dialogConfirmCancel {
		t.Fatalf("dialog %v", m.dialogs.open)
	}
	press(t, m, "n")
	if m.dialogs.open != dialogNone || len(f.canceled) != 0 {
		t.Fatal("n canceled")
	}
	press(t, m, "x", "y")
	if !slices.Equal(f.canceled, []string{"task-working-1"}) {
		t.Fatalf("canceled %v", f.canceled)
	}
	if st := m.table.rows.byKey[rowKey{id: "task-working-1"}].state; st != a2a.StateCanceled {
		t.Fatalf("state %s", st)
	}
	if m.table.selectedKey.id != "task-working-1" {
		t.Fatalf("selection moved to %s", m.table.selectedKey.id)
	}
	// A finished task cannot be canceled: the key says so.
	press(t, m, "x")
	if m.dialogs.open != dialogNone || !m.flash.err {
		t.Fatalf("dialog %v flash %q", m.dialogs.open, m.flash.text)
	}
}

func TestCancelRaceReportsNotCancelable(t *testing.T) {
	f, m := seeded(t, 80, 24)
	selectID(t, m, "task-working-1")
	f.failNext = a2a.ErrNotCancelable
	press(t, m, "x", "y")
	if !m.flash.err || !strings.Contains(m.flash.text, "already finished") {
		t.Fatalf("flash %q", m.flash.text)
	}
}

func TestReadOnlyHidesActions(t *testing.T) {
	f, m := seeded(t, 80, 24, func(o *Options) { o.ReadOnly = true })
	selectID(t, m, "task-input-2")
	press(t, m, "a", "x", "n")
	if m.dialogs.open != dialogNone || len(f.sent)+len(f.canceled) != 0 {
		t.Fatalf("read-only acted: dialog %v", m.dialogs.open)
	}
	if v := ansi.Strip(m.View().Content); strings.Contains(v, "answer •") || strings.Contains(v, "new task") {
		t.Fatalf("read-only help shows actions:\n%s", v)
	}
}

func TestFilterText(t *testing.T) {
	_, m := seeded(t, 80, 24)
	press(t, m, "/")
	typeText(t, m, "BOOM")
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-failed-4"}) {
		t.Fatalf("filtered = %v", got)
	}
	press(t, m, "enter")
	if m.dialogs.open != dialogNone || m.table.rows.text != "boom" {
		t.Fatalf("dialog %v text %q", m.dialogs.open, m.table.rows.text)
	}
	// Metadata matches too; the filter survives live updates.
	press(t, m, "/", "esc", "/")
	typeText(t, m, "ops")
	press(t, m, "enter")
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Event: task("other", a2a.StateWorking, "unrelated", 0)}}}
	}, nil)
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-done-3"}) {
		t.Fatalf("metadata filter = %v", got)
	}
	press(t, m, "esc") // esc in the table clears the text filter
	if m.table.rows.text != "" || len(m.table.rows.visible) != 8 {
		t.Fatalf("after esc: %q %d", m.table.rows.text, len(m.table.rows.visible))
	}
}

func TestStateFilterCycle(t *testing.T) {
	_, m := seeded(t, 80, 24)
	want := map[stateFilter][]string{
		filterActive:  {"task-submitted-5", "task-working-1"},
		filterWaiting: {"task-input-2", "task-auth-7"},
		filterFailed:  {"task-failed-4"},
		filterDone:    {"task-done-3"},
	}
	for f := filterActive; f < numStateFilters; f++ {
		press(t, m, "f")
		if m.table.rows.state != f || !slices.Equal(visibleIDs(m), want[f]) {
			t.Fatalf("filter %v shows %v", m.table.rows.state, visibleIDs(m))
		}
	}
	press(t, m, "f")
	if m.table.rows.state != filterAll || len(m.table.rows.visible) != 7 {
		t.Fatalf("back to all: %v %d", m.table.rows.state, len(m.table.rows.visible))
	}
	// "waiting on me" picks up a task that starts waiting, live.
	press(t, m, "f", "f")
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "task-working-1", Status: a2a.TaskStatus{State: a2a.StateInputRequired, Timestamp: testNow}}}}}
	}, nil)
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-working-1", "task-input-2", "task-auth-7"}) {
		t.Fatalf("live waiting filter = %v", got)
	}
}

func TestSortCycle(t *testing.T) {
	_, m := seeded(t, 80, 24)
	if m.table.rows.order.order != sortCreated {
		t.Fatalf("default order %v", m.table.rows.order)
	}
	press(t, m, "o")
	if m.table.rows.order.order != sortUpdated {
		t.Fatalf("order %v", m.table.rows.order)
	}
	press(t, m, "o")
	got := visibleIDs(m)
	if m.table.rows.order.order != sortState || got[0] != "task-input-2" || got[1] != "task-auth-7" || got[2] != "task-working-1" {
		t.Fatalf("state order %v", got)
	}
	press(t, m, "o", "o", "o")
	if m.table.rows.order.order != sortCreated {
		t.Fatalf("order %v", m.table.rows.order)
	}
}

func TestHelpAndAgentViews(t *testing.T) {
	_, m := seeded(t, 120, 40)
	press(t, m, "?")
	if m.dialogs.open != dialogHelp {
		t.Fatal("? did not open help")
	}
	v := ansi.Strip(m.View().Content)
	for _, want := range []string{"answer", "cancel task", "state filter", "save artifact", "new line"} {
		if !strings.Contains(v, want) {
			t.Fatalf("help lacks %q:\n%s", want, v)
		}
	}
	press(t, m, "esc", "i")
	if m.dialogs.open != dialogAgent || !strings.Contains(ansi.Strip(m.View().Content), "fake agent") {
		t.Fatalf("agent view: %v", m.dialogs.open)
	}
	press(t, m, "i")
	if m.dialogs.open != dialogNone {
		t.Fatal("i did not close the agent view")
	}
}

func TestDetailTabsArtifactsSaveCopy(t *testing.T) {
	_, m := seeded(t, 160, 48)
	selectID(t, m, "task-done-3")
	press(t, m, "enter")
	if m.focus != focusDetail || m.detail.task == nil {
		t.Fatalf("focus %v task %v", m.focus, m.detail.task)
	}
	press(t, m, "tab")
	if m.detail.tab != tabArtifacts {
		t.Fatalf("tab %d", m.detail.tab)
	}
	press(t, m, "]")
	if m.detail.artIdx != 1 {
		t.Fatalf("artifact %d", m.detail.artIdx)
	}
	press(t, m, "[", "[")
	if m.detail.artIdx != 2 {
		t.Fatalf("artifact wrap %d", m.detail.artIdx)
	}
	press(t, m, "]", "]") // the JSON one
	dir := m.opts.SaveDir
	press(t, m, "w")
	if m.dialogs.open != dialogSave || m.dialogs.save.job.name != "weather.json" {
		t.Fatalf("save dialog %v %+v", m.dialogs.open, m.dialogs.save.job)
	}
	press(t, m, "enter")
	body, err := os.ReadFile(filepath.Join(dir, "weather.json"))
	if err != nil || !strings.Contains(string(body), `"city": "Lisbon"`) {
		t.Fatalf("saved %q, %v", body, err)
	}
	// Saving again asks before overwriting; n keeps the file.
	os.WriteFile(filepath.Join(dir, "weather.json"), []byte("keep"), 0o644)
	press(t, m, "w", "enter")
	if m.dialogs.open != dialogConfirmOverwrite {
		t.Fatalf("dialog %v", m.dialogs.open)
	}
	press(t, m, "n")
	if b, _ := os.ReadFile(filepath.Join(dir, "weather.json")); string(b) != "keep" {
		t.Fatal("n overwrote")
	}
	press(t, m, "w", "enter", "y")
	if b, _ := os.ReadFile(filepath.Join(dir, "weather.json")); !strings.Contains(string(b), "Lisbon") {
		t.Fatal("y did not overwrite")
	}
	msgs := press(t, m, "y")
	if !slices.ContainsFunc(msgs, func(msg tea.Msg) bool { return fmt.Sprintf("%T", msg) == "tea.setClipboardMsg" }) {
		t.Fatalf("copy sent no OSC 52: %v", msgs)
	}
	// Scrolling stays within the body; tab cycles round; esc returns focus.
	press(t, m, "G")
	if m.detail.offset < 0 || m.detail.offset > max(len(m.detail.lines)-m.detail.bodyHeight, 0) {
		t.Fatalf("offset %d lines %d body %d", m.detail.offset, len(m.detail.lines), m.detail.bodyHeight)
	}
	press(t, m, "g", "j", "k", "pgdown", "pgup")
	press(t, m, "tab", "shift+tab", "shift+tab")
	if m.detail.tab != tabTimeline {
		t.Fatalf("tab %d", m.detail.tab)
	}
	press(t, m, "esc")
	if m.focus != focusTable {
		t.Fatal("esc kept detail focus")
	}
}

func TestSaveErrorAndNoArtifact(t *testing.T) {
	_, m := seeded(t, 160, 48)
	selectID(t, m, "task-working-1")
	press(t, m, "enter", "w")
	if m.dialogs.open != dialogNone || !m.flash.err {
		t.Fatalf("save without artifact: dialog %v flash %q", m.dialogs.open, m.flash.text)
	}
	selectID(t, m, "task-done-3")
	press(t, m, "w")
	m.dialogs.save.input.SetValue(filepath.Join(t.TempDir(), "no", "such", "dir"))
	press(t, m, "enter")
	if !m.flash.err || !strings.Contains(m.flash.text, "save artifact") {
		t.Fatalf("flash %q", m.flash.text)
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd.txt",
		"report.json":      "report.json",
		"..":               "fallback.txt",
		"a b\x1b[31m.md":   "a_b__31m.md",
		"":                 "fallback.txt",
	} {
		if got := safeFileName(in, "fallback", ".txt"); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMouseWheelAndClick(t *testing.T) {
	_, m := seeded(t, 80, 24)
	_, cmd := m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown, X: 5, Y: 5})
	drain(t, m, cmd, fireDetail)
	if m.table.cursor != 3 {
		t.Fatalf("wheel cursor %d", m.table.cursor)
	}
	l := m.layoutFor()
	_, cmd = m.Update(tea.MouseClickMsg{Button: tea.MouseLeft, X: 3, Y: l.tableTop + 1 + 5})
	drain(t, m, cmd, fireDetail)
	if m.table.cursor != 5 || m.table.selectedKey.id != m.table.rows.visible[5].id {
		t.Fatalf("click cursor %d", m.table.cursor)
	}
	// A click below the rows changes nothing.
	_, cmd = m.Update(tea.MouseClickMsg{Button: tea.MouseLeft, X: 3, Y: l.tableTop + 1 + 20})
	drain(t, m, cmd, fireDetail)
	if m.table.cursor != 5 {
		t.Fatalf("click outside moved to %d", m.table.cursor)
	}
}

func TestBellAndTitleWhenBlurred(t *testing.T) {
	_, m := seeded(t, 80, 24)
	ev := eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "task-working-1", Status: a2a.TaskStatus{State: a2a.StateInputRequired, Timestamp: testNow}}}}}
	msgs := drain(t, m, func() tea.Msg { return ev }, nil)
	if slices.ContainsFunc(msgs, isBell) {
		t.Fatal("bell while focused")
	}
	m.Update(tea.BlurMsg{})
	ev.events[0].Event = &a2a.StatusUpdateEvent{TaskID: "task-submitted-5", Status: a2a.TaskStatus{State: a2a.StateAuthRequired, Timestamp: testNow}}
	msgs = drain(t, m, func() tea.Msg { return ev }, nil)
	if !slices.ContainsFunc(msgs, isBell) {
		t.Fatal("no bell while blurred")
	}
	v := m.View()
	if v.WindowTitle != "a2atop (4 waiting on you)" || v.ProgramStatus.State != tea.ProgramStateBlocked || !v.ReportFocus {
		t.Fatalf("title %q status %+v", v.WindowTitle, v.ProgramStatus)
	}
	m.Update(tea.FocusMsg{})
	if m.View().WindowTitle != "a2atop" {
		t.Fatal("title kept the count after focus")
	}
}

func isBell(msg tea.Msg) bool {
	raw, ok := msg.(tea.RawMsg)
	return ok && raw.Msg == "\a"
}

func TestHeaderStates(t *testing.T) {
	_, m := seeded(t, 160, 24)
	header := func() string { return ansi.Strip(strings.SplitN(m.View().Content, "\n", 2)[0]) }
	if !strings.Contains(header(), "● live") || !strings.Contains(header(), "2 waiting on you") {
		t.Fatalf("header %q", header())
	}
	m.Update(connMsg{state: ConnState{Text: "reconnecting in 2s", OK: false}})
	if !strings.Contains(header(), "✗ reconnecting in 2s") {
		t.Fatalf("header %q", header())
	}
	m.Update(connMsg{state: ConnState{Text: "connected", OK: true}})
	if !strings.Contains(header(), "● connected") {
		t.Fatalf("header %q", header())
	}
	m.Update(watchStateMsg{err: errors.New("connection refused"), retryIn: time.Second})
	if !strings.Contains(header(), "live updates lost, retrying in 1s: connection refused") {
		t.Fatalf("header %q", header())
	}
	m.Update(watchStateMsg{})
	if strings.Contains(header(), "lost") {
		t.Fatalf("header %q", header())
	}
}

func TestErrorsBecomeMessages(t *testing.T) {
	f := newFakeService()
	f.failNext = errors.New("list exploded")
	m := newTestModel(t, f, 80, 24)
	drain(t, m, m.Init(), nil)
	if !m.flash.err || !strings.Contains(m.flash.text, "list exploded") || m.table.loading {
		t.Fatalf("flash %q loading %v", m.flash.text, m.table.loading)
	}
	f.failNext = errors.New("send exploded")
	press(t, m, "n")
	typeText(t, m, "echo")
	press(t, m, "enter")
	if !strings.Contains(m.flash.text, "send exploded") {
		t.Fatalf("flash %q", m.flash.text)
	}
	// The flash expires with its own timer only.
	gen := m.flash.gen
	m.Update(flashExpiredMsg{gen: gen - 1})
	if m.flash.text == "" {
		t.Fatal("stale expiry cleared the flash")
	}
	m.Update(flashExpiredMsg{gen: gen})
	if m.flash.text != "" {
		t.Fatal("flash did not expire")
	}
	// A failing Get shows in the detail pane, a stale reply is dropped.
	f.tasks["t1"] = task("t1", a2a.StateWorking, "x", 0)
	press(t, m, "r")
	selectID(t, m, "t1")
	m.layout = layoutBelow
	f.failNext = errors.New("get exploded")
	m.detail.clear(rowKey{})
	drain(t, m, m.fetchDetail(), nil)
	if m.detail.err == nil {
		t.Fatal("Get error not kept")
	}
	m.Update(taskMsg{key: rowKey{id: "someone-else"}, task: task("someone-else", a2a.StateWorking, "", 0)})
	if m.detail.task != nil {
		t.Fatal("stale reply applied")
	}
}

func TestLayoutToggleAndResizeKeepSelection(t *testing.T) {
	_, m := seeded(t, 160, 48)
	selectID(t, m, "task-failed-4")
	for range numLayouts {
		press(t, m, "z")
		if m.table.selectedKey.id != "task-failed-4" {
			t.Fatalf("layout %v lost the selection", m.layout)
		}
	}
	for _, size := range [][2]int{{40, 10}, {20, 5}, {1, 1}, {300, 100}, {80, 24}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		if m.table.selectedKey.id != "task-failed-4" || m.table.rows.visible[m.table.cursor].id != "task-failed-4" {
			t.Fatalf("resize %v lost the selection", size)
		}
		v := m.View().Content
		if got := strings.Count(v, "\n") + 1; got != size[1] {
			t.Fatalf("size %v: %d lines", size, got)
		}
		for _, line := range strings.Split(v, "\n") {
			if w := ansi.StringWidth(line); w > size[0] {
				t.Fatalf("size %v: line of width %d: %q", size, w, line)
			}
		}
	}
}

func TestTickAdvancesClockAndDropsStale(t *testing.T) {
	_, m := seeded(t, 80, 24)
	later := testNow.Add(time.Minute)
	m.Update(tickMsg{gen: m.tickGen + 1, at: later})
	if !m.com.Now.Equal(testNow) {
		t.Fatal("stale tick applied")
	}
	_, cmd := m.Update(tickMsg{gen: m.tickGen, at: later})
	if !m.com.Now.Equal(later) || cmd == nil {
		t.Fatal("tick not applied or not re-armed")
	}
}

func TestBackgroundColorAndPaste(t *testing.T) {
	_, m := seeded(t, 80, 24)
	m.Update(tea.BackgroundColorMsg{})
	press(t, m, "/")
	m.Update(tea.PasteMsg{Content: "boom"})
	if m.table.rows.text != "boom" {
		t.Fatalf("paste into filter: %q", m.table.rows.text)
	}
}

func TestParseMetadataAndProgress(t *testing.T) {
	md, err := parseMetadata("a=1, b=x=y")
	if err != nil || md["a"] != "1" || md["b"] != "x=y" {
		t.Fatalf("%v %v", md, err)
	}
	if _, err := parseMetadata("=v"); err == nil {
		t.Fatal("empty key accepted")
	}
	for text, want := range map[string]float64{"step 3/4": 0.75, "2 of 8 done": 0.25, "50%": 0.5, "no numbers": -1, "9/3": -1} {
		if got := parseProgress(text); got != want {
			t.Errorf("parseProgress(%q) = %v, want %v", text, got, want)
		}
	}
}

// The reply to a send can arrive before the Watch event of the new task:
// the detail pane must still follow the new selection.
func TestFirstTaskFromReplySelectsAndLoadsDetail(t *testing.T) {
	f := newFakeService()
	m := newTestModel(t, f, 120, 40)
	drain(t, m, m.Init(), fireDetail)
	press(t, m, "n")
	typeText(t, m, "echo hi")
	press(t, m, "enter")
	if m.table.selectedKey.id != "new-task-01" || m.detail.key.id != "new-task-01" || m.detail.task == nil {
		t.Fatalf("selected %q detail %q task %v", m.table.selectedKey.id, m.detail.key.id, m.detail.task)
	}
}

func TestDetailTimelineIsBounded(t *testing.T) {
	var d detailPane
	d.setTimeline(make([]timelineEntry, maxDetailTimeline+500))
	if len(d.timeline) != maxDetailTimeline {
		t.Fatalf("kept %d", len(d.timeline))
	}
	d.applyLive(a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{TaskID: "x", Status: a2a.TaskStatus{State: a2a.StateWorking}}}, testNow)
	if len(d.timeline) != maxDetailTimeline || d.timeline[len(d.timeline)-1].state != a2a.StateWorking {
		t.Fatalf("kept %d, last %+v", len(d.timeline), d.timeline[len(d.timeline)-1])
	}
}

// Bug 12: "done" meant completed in the header and every finished state
// in the f filter. One meaning now: completed.
func TestDoneMeansCompletedInHeaderAndFilter(t *testing.T) {
	_, m := seeded(t, 200, 24)
	press(t, m, "f", "f", "f", "f")
	if m.table.rows.state.String() != "done" {
		t.Fatalf("filter %v", m.table.rows.state)
	}
	for _, r := range m.table.rows.visible {
		if r.state != a2a.StateCompleted {
			t.Fatalf("filter done shows %s (%s)", r.id, r.state)
		}
	}
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "✓ 1 done") || !strings.Contains(v, "1/7 shown") {
		t.Fatalf("header and filter disagree:\n%s", v)
	}
}

// Bug 11: --read-only was invisible and its ignored keys silent.
func TestReadOnlyIsVisibleAndSaysWhy(t *testing.T) {
	_, m := seeded(t, 160, 24, func(o *Options) { o.ReadOnly = true })
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "read-only") || strings.Contains(v, "a: answer") || strings.Contains(v, "ANSWER ▸") {
		t.Fatalf("read-only header/rows:\n%s", v)
	}
	for _, k := range []string{"a", "x", "n", "c"} {
		m.flash.text = ""
		press(t, m, k)
		if !m.flash.err || !strings.Contains(m.flash.text, "read-only") {
			t.Fatalf("%s in read-only: flash %q", k, m.flash.text)
		}
	}
}

// Habit: c on a task composes a message in the same conversation.
func TestReplyInSameContext(t *testing.T) {
	f, m := seeded(t, 80, 24)
	selectID(t, m, "task-done-3")
	press(t, m, "c")
	if m.dialogs.open != dialogCompose || !strings.Contains(ansi.Strip(m.View().Content), "context ctx-task") {
		t.Fatalf("dialog %v:\n%s", m.dialogs.open, ansi.Strip(m.View().Content))
	}
	typeText(t, m, "echo again")
	press(t, m, "enter")
	if len(f.sent) != 1 || f.sent[0].Message.ContextID != "ctx-task-done-3" || f.sent[0].Message.TaskID != "" {
		t.Fatalf("sent %+v", f.sent)
	}
	press(t, m, "n")
	typeText(t, m, "echo new")
	press(t, m, "enter")
	if len(f.sent) != 2 || f.sent[1].Message.ContextID != "" {
		t.Fatalf("n kept the context: %+v", f.sent[1].Message)
	}
}

// Bug 14: the first z at a width where auto already shows the pane
// beside the table changed nothing.
func TestFirstLayoutKeyChangesTheScreen(t *testing.T) {
	for _, w := range []int{80, 160} {
		_, m := seeded(t, w, 40)
		selectID(t, m, "task-done-3")
		before := ansi.Strip(m.View().Content)
		press(t, m, "z")
		if after := ansi.Strip(m.View().Content); after == before {
			t.Fatalf("width %d: z changed nothing", w)
		}
	}
}

// Bug 14: dialogs said "enter send" where enter saves or keeps a filter.
func TestDialogHelpNamesWhatEnterDoes(t *testing.T) {
	_, m := seeded(t, 120, 30)
	press(t, m, "/")
	if h := ansi.Strip(m.helpLine()); strings.Contains(h, "send") || !strings.Contains(h, "keep filter") {
		t.Fatalf("filter help %q", h)
	}
	press(t, m, "esc")
	selectID(t, m, "task-done-3")
	press(t, m, "enter", "w")
	if h := ansi.Strip(m.helpLine()); strings.Contains(h, "send") || !strings.Contains(h, "save") {
		t.Fatalf("save help %q", h)
	}
}

// Bug 14: declining an overwrite said "✓ not saved".
func TestDeclineOverwriteIsNotASuccess(t *testing.T) {
	_, m := seeded(t, 120, 30)
	selectID(t, m, "task-done-3")
	dir := m.opts.SaveDir
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	press(t, m, "enter", "w", "enter")
	if m.dialogs.open != dialogConfirmOverwrite {
		t.Fatalf("dialog %v flash %q", m.dialogs.open, m.flash.text)
	}
	press(t, m, "n")
	if s := ansi.Strip(m.statusLine()); strings.Contains(s, "✓") || !strings.Contains(s, "not saved") {
		t.Fatalf("status %q", s)
	}
}

// Bug 14: a canceled task said "no artifacts yet".
func TestFinishedTaskHasNoArtifactsNotYet(t *testing.T) {
	_, m := seeded(t, 120, 40)
	selectID(t, m, "task-canceled-6")
	press(t, m, "enter", "tab")
	if v := ansi.Strip(m.View().Content); strings.Contains(v, "no artifacts yet") || !strings.Contains(v, "no artifacts") {
		t.Fatalf("canceled task artifacts:\n%s", v)
	}
}

// Bug 14: the cancel confirmation changed under the user's eyes as the
// status ticked.
func TestCancelConfirmIsFrozen(t *testing.T) {
	f, m := seeded(t, 120, 30)
	selectID(t, m, "task-working-1")
	press(t, m, "x")
	before := m.statusLine()
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "task-working-1", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow,
			Message: &a2a.Message{ID: "tick", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("step 4/5")}}}}}}}
	}, nil)
	if after := m.statusLine(); after != before {
		t.Fatalf("confirm changed: %q -> %q", before, after)
	}
	press(t, m, "y")
	if !slices.Equal(f.canceled, []string{"task-working-1"}) {
		t.Fatalf("canceled %v", f.canceled)
	}
}

// Habit: space marks rows; x cancels the marked ones after one confirm
// showing the count; esc clears the marks.
func TestMarksCancelTogether(t *testing.T) {
	f, m := seeded(t, 120, 30)
	selectID(t, m, "task-submitted-5")
	press(t, m, "space", "space") // marks submitted-5 and working-1
	if len(m.table.marked) != 2 {
		t.Fatalf("marked %v", m.table.marked)
	}
	press(t, m, "x")
	if s := ansi.Strip(m.statusLine()); !strings.Contains(s, "cancel 2 marked") {
		t.Fatalf("confirm %q", s)
	}
	press(t, m, "y")
	slices.Sort(f.canceled)
	if !slices.Equal(f.canceled, []string{"task-submitted-5", "task-working-1"}) || len(m.table.marked) != 0 {
		t.Fatalf("canceled %v marks %v", f.canceled, m.table.marked)
	}
	press(t, m, "space", "esc")
	if len(m.table.marked) != 0 {
		t.Fatal("esc kept the marks")
	}
	// esc backs out one level at a time: marks, text, then state filter.
	press(t, m, "f", "f", "space", "/") // waiting on me: two tasks
	typeText(t, m, "task")
	press(t, m, "enter", "esc")
	if len(m.table.marked) != 0 || m.table.rows.text == "" || m.table.rows.state != filterWaiting {
		t.Fatalf("first esc: marks %d text %q state %v", len(m.table.marked), m.table.rows.text, m.table.rows.state)
	}
	press(t, m, "esc")
	if m.table.rows.text != "" || m.table.rows.state != filterWaiting {
		t.Fatalf("second esc: text %q state %v", m.table.rows.text, m.table.rows.state)
	}
	press(t, m, "esc")
	if m.table.rows.state != filterAll {
		t.Fatalf("third esc: state %v", m.table.rows.state)
	}
}

func tickEvent(id string, n int) tea.Msg {
	return eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: id, Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow.Add(time.Duration(n) * time.Second),
		Message: &a2a.Message{ID: fmt.Sprint("tick-", n), Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("tick %d", n))}}}}}}}
}

// Bug 4: the timeline did not follow new events. It follows like tail -f
// until the user scrolls up; G resumes; the pane says which.
func TestTimelineFollowsTail(t *testing.T) {
	f, _ := seeded(t, 200, 30)
	m := newTestModel(t, timelineService{f}, 200, 30)
	drain(t, m, m.Init(), fireDetail)
	selectID(t, m, "task-working-1")
	press(t, m, "enter")
	for n := 1; n <= 40; n++ {
		drain(t, m, func() tea.Msg { return tickEvent("task-working-1", n) }, nil)
	}
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "working tick 40") || !strings.Contains(v, "following") {
		t.Fatalf("not following:\n%s", v)
	}
	press(t, m, "k", "k")
	drain(t, m, func() tea.Msg { return tickEvent("task-working-1", 41) }, nil)
	v = ansi.Strip(m.View().Content)
	if strings.Contains(v, "working tick 41") || !strings.Contains(v, "paused") {
		t.Fatalf("scrolled up but still following:\n%s", v)
	}
	press(t, m, "G")
	v = ansi.Strip(m.View().Content)
	if !strings.Contains(v, "working tick 41") || !strings.Contains(v, "following") {
		t.Fatalf("G did not resume:\n%s", v)
	}
}

// Bug 14: a streamed command's output showed a blank line after every
// chunk.
func TestChunkedOutputHasNoBlankLines(t *testing.T) {
	arts := []a2a.Artifact{{ID: "out", Name: "stdout", Parts: []a2a.Part{a2a.TextPart("one\n"), a2a.TextPart("two\n"), a2a.TextPart("three\n")}}}
	lines, _ := layoutArtifacts(arts, 0, 40, NewStyles(true, false))
	got := strings.Join(lines, "|")
	if !strings.Contains(got, "one|two|three") {
		t.Fatalf("lines %q", got)
	}
}

// Bug 5: nothing told apart tasks with the same status; the MESSAGE
// column shows what the user asked, and / searches it.
func TestMessageColumnAndSearch(t *testing.T) {
	_, m := seeded(t, 120, 30)
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "MESSAGE") || !strings.Contains(v, "echo hi") {
		t.Fatalf("no MESSAGE column:\n%s", v)
	}
	press(t, m, "/")
	typeText(t, m, "echo hi")
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-done-3"}) {
		t.Fatalf("search by message = %v", got)
	}
	// A task seen first live gets its message from the user's message event.
	press(t, m, "esc")
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{
			{Event: &a2a.StatusUpdateEvent{TaskID: "live-1", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow}}},
			{Event: &a2a.Message{ID: "u", Role: a2a.RoleUser, TaskID: "live-1", Parts: []a2a.Part{a2a.TextPart("exit status 0 please")}}},
		}}
	}, nil)
	if r := m.table.rows.byKey[rowKey{0, "live-1"}]; r == nil || r.message != "exit status 0 please" {
		t.Fatalf("live message %+v", r)
	}
}

// Habits: AGE is the time since creation and UPDATED its own column;
// column keys sort with ▼/▲ and reverse on a second press; the rows are
// really in that order.
func TestColumnSortAndAge(t *testing.T) {
	_, m := seeded(t, 220, 30)
	tk := task("old-but-fresh", a2a.StateWorking, "just now", 0)
	tk.History = []a2a.Message{{ID: "u0", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("zzz")}}}
	drain(t, m, func() tea.Msg { return eventsMsg{events: []a2a.StreamEvent{{Event: tk}}} }, nil)
	m.table.rows.byKey[rowKey{0, "old-but-fresh"}].created = testNow.Add(-5 * time.Hour)
	m.com.Now = testNow.Add(time.Second)
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "AGE▼") || !strings.Contains(v, "UPDATED") {
		t.Fatalf("header:\n%s", v)
	}
	line := ""
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "old-but-") {
			line = l
		}
	}
	if !strings.Contains(line, "5h   1s  ") {
		t.Fatalf("AGE must be since creation, UPDATED since the change: %q", line)
	}
	for _, c := range []struct {
		key     string
		order   sortOrder
		reverse bool
		head    string
	}{
		{"S", sortState, false, "STATE▼"}, {"S", sortState, true, "STATE▲"},
		{"A", sortCreated, false, "AGE▼"}, {"M", sortMessage, false, "MESSAGE▼"},
		{"I", sortID, false, "ID▼"}, {"I", sortID, true, "ID▲"}, {"U", sortUpdated, false, "UPDATED▼"},
	} {
		press(t, m, c.key)
		o := m.table.rows.order
		if o.order != c.order || o.reverse != c.reverse || !strings.Contains(ansi.Strip(m.View().Content), c.head) {
			t.Fatalf("%s: order %v", c.key, o)
		}
		vis := m.table.rows.visible
		for i := 1; i < len(vis); i++ {
			if o.less(vis[i], vis[i-1]) {
				t.Fatalf("%s: %s before %s", c.key, vis[i-1].id, vis[i].id)
			}
		}
	}
}

func typeCommand(t *testing.T, m *Model, line string) {
	t.Helper()
	press(t, m, ":")
	if m.dialogs.open != dialogCommand {
		t.Fatalf(": opened %v", m.dialogs.open)
	}
	typeText(t, m, line)
	press(t, m, "enter")
}

// Habit: the `:` command line with completion, as in k9s.
func TestCommandMode(t *testing.T) {
	_, m := seeded(t, 120, 30)
	typeCommand(t, m, "state failed")
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-failed-4"}) {
		t.Fatalf(":state failed = %v", got)
	}
	typeCommand(t, m, "state canceled")
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-canceled-6"}) {
		t.Fatalf(":state canceled = %v", got)
	}
	typeCommand(t, m, "state all")
	typeCommand(t, m, "sort created reverse")
	if o := m.table.rows.order; o.order != sortCreated || !o.reverse {
		t.Fatalf(":sort created reverse = %v", o)
	}
	// Completion: the command's name, then its argument.
	press(t, m, ":")
	typeText(t, m, "so")
	press(t, m, "tab")
	typeText(t, m, "st")
	press(t, m, "tab")
	if v := m.dialogs.command.input.Value(); v != "sort state " {
		t.Fatalf("completed %q", v)
	}
	press(t, m, "enter")
	if m.table.rows.order.order != sortState {
		t.Fatalf("order %v", m.table.rows.order)
	}
	press(t, m, ":")
	typeText(t, m, "state ")
	press(t, m, "tab")
	if h := m.dialogs.command.hint; !strings.Contains(h, "waiting") || !strings.Contains(h, "input-required") {
		t.Fatalf("hint %q", h)
	}
	press(t, m, "esc")
	if m.dialogs.open != dialogNone {
		t.Fatal("esc kept the command line")
	}
	// :ctx narrows to the selected task's conversation; :ctx all undoes it.
	selectID(t, m, "task-done-3")
	typeCommand(t, m, "ctx")
	if got := visibleIDs(m); !slices.Equal(got, []string{"task-done-3"}) {
		t.Fatalf(":ctx = %v", got)
	}
	press(t, m, "esc") // esc backs out of :ctx too
	if m.table.rows.context != "" || len(m.table.rows.visible) != 7 {
		t.Fatalf("esc kept :ctx: %q", m.table.rows.context)
	}
	typeCommand(t, m, "ctx")
	typeCommand(t, m, "ctx all")
	if m.table.rows.context != "" {
		t.Fatal(":ctx all kept the filter")
	}
	typeCommand(t, m, "bogus")
	if !m.flash.err || !strings.Contains(m.flash.text, "no command") {
		t.Fatalf("flash %q", m.flash.text)
	}
	msgs := press(t, m, ":", "q", "enter")
	if !slices.ContainsFunc(msgs, isQuit) {
		t.Fatal(":q did not quit")
	}
}

// One more command is one register call (the fleet's :agent, say).
func TestCommandRegistryTakesOneEntry(t *testing.T) {
	_, m := seeded(t, 80, 24)
	ran := ""
	m.commands.register(command{name: "agent", usage: "agent NAME|all", help: "show one agent",
		args: func(*Model) []string { return []string{"all", "alpha"} },
		run:  func(m *Model, args []string) tea.Cmd { ran = strings.Join(args, " "); return nil }})
	press(t, m, ":")
	typeText(t, m, "ag")
	press(t, m, "tab")
	typeText(t, m, "al")
	press(t, m, "tab")
	if h := m.dialogs.command.hint; h != "all  alpha" {
		t.Fatalf("hint %q", h)
	}
	typeText(t, m, "p")
	press(t, m, "tab", "enter")
	if ran != "alpha" {
		t.Fatalf("ran %q", ran)
	}
}

// Habit: d describes the whole task as YAML (tab: JSON), scrollable and
// copyable; y on the table copies the task id.
func TestDescribeAndCopyID(t *testing.T) {
	_, m := seeded(t, 100, 20)
	selectID(t, m, "task-done-3")
	press(t, m, "d")
	v := ansi.Strip(m.View().Content)
	if m.dialogs.open != dialogDescribe || !strings.Contains(v, "id: task-done-3") || !strings.Contains(v, "YAML") {
		t.Fatalf("describe:\n%s", v)
	}
	press(t, m, "G")
	if v2 := ansi.Strip(m.View().Content); v2 == v {
		t.Fatal("G did not scroll the describe view")
	}
	press(t, m, "tab")
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, `"id": "task-done-3"`) {
		t.Fatalf("JSON:\n%s", v)
	}
	press(t, m, "y")
	if !strings.Contains(m.flash.text, "copied") {
		t.Fatalf("flash %q", m.flash.text)
	}
	press(t, m, "esc")
	if m.dialogs.open != dialogNone {
		t.Fatal("esc kept describe")
	}
	_, cmd := m.Update(keyMsg("y"))
	if !strings.Contains(m.flash.text, "task id") || cmd == nil {
		t.Fatalf("y on the table: %q", m.flash.text)
	}
}

// Bug 6: the agent card and the help were cut at small sizes and did not
// scroll; both reflow and scroll now.
func TestHelpAndCardScrollAndReflow(t *testing.T) {
	f, m := seeded(t, 60, 20)
	for i := range 12 {
		f.card.Skills = append(f.card.Skills, a2a.AgentSkill{ID: fmt.Sprint(i), Name: fmt.Sprintf("skill-%d", i), Description: "does a thing"})
	}
	m.fleet[0].info.card = nil
	press(t, m, "?")
	lines := m.helpLines()
	all := ansi.Strip(strings.Join(lines, "\n"))
	for _, want := range []string{"answer", "sort by message", "complete", "states:", "rejected", ":state"} {
		if !strings.Contains(all, want) {
			t.Fatalf("help at 60 columns lacks %q:\n%s", want, all)
		}
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 60 {
			t.Fatalf("help line %d wide: %q", w, ansi.Strip(l))
		}
	}
	press(t, m, "G")
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "rejected") && !strings.Contains(v, ":q") {
		t.Fatalf("G did not reach the end of help:\n%s", v)
	}
	press(t, m, "esc", "i")
	press(t, m, "G")
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "skill-11") {
		t.Fatalf("G did not reach the last skill:\n%s", v)
	}
	press(t, m, "g")
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "fake agent") {
		t.Fatalf("g did not go back to the top:\n%s", v)
	}
}

// Habit: quitting with local tasks running warns once; q twice quits.
func TestQuitWarnsWithRunningLocalTasks(t *testing.T) {
	_, m := seeded(t, 80, 24, func(o *Options) { o.LocalEngine = true })
	if msgs := press(t, m, "q"); slices.ContainsFunc(msgs, isQuit) {
		t.Fatal("first q quit with tasks running")
	}
	if !strings.Contains(m.flash.text, "q again") {
		t.Fatalf("flash %q", m.flash.text)
	}
	if msgs := press(t, m, "q"); !slices.ContainsFunc(msgs, isQuit) {
		t.Fatal("second q did not quit")
	}
	_, m = seeded(t, 80, 24) // remote: nothing stops with the dashboard
	if msgs := press(t, m, "q"); !slices.ContainsFunc(msgs, isQuit) {
		t.Fatal("q on a remote agent did not quit")
	}
}

// Bug 10: a missing token showed "no tasks yet: press n" and a doubled
// "list tasks: list tasks: unauthenticated"; it says what to do now, and
// r wakes the paused Watch.
func TestMissingTokenSaysWhatToDo(t *testing.T) {
	f := newFakeService()
	f.failNext = fmt.Errorf("list tasks: %w", a2a.ErrUnauthenticated)
	m := newTestModel(t, f, 100, 24)
	drain(t, m, m.Init(), nil)
	m.Update(watchStateMsg{err: fmt.Errorf("watch: %w", a2a.ErrUnauthenticated), paused: true})
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "needs a token: set A2ATOP_HEADERS or --header") || strings.Contains(v, "no tasks yet") || strings.Contains(v, "list tasks: list tasks") {
		t.Fatalf("view:\n%s", v)
	}
	press(t, m, "r")
	select {
	case <-m.fleet[0].wake:
	default:
		t.Fatal("r did not wake the paused Watch")
	}
	if v := ansi.Strip(m.View().Content); strings.Contains(v, "needs a token") {
		t.Fatalf("a successful reload kept the token message:\n%s", v)
	}
}

// Bug 2: a status the client stamped on arrival (no agent timestamp)
// outranked the agent's later-sent, earlier-stamped completed state, and
// r did not fix it. Only agent stamps order now, and r asks GetTask.
func TestLocalStampNeverOutranksAgentState(t *testing.T) {
	f, m := seeded(t, 120, 30)
	agentDone := testNow.Add(848 * time.Millisecond)
	local := testNow.Add(856 * time.Millisecond)
	f.tasks["remote-1"] = &a2a.Task{ID: "remote-1", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: agentDone}}
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Time: local, Event: &a2a.StatusUpdateEvent{TaskID: "remote-1", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateSubmitted}}}}}
	}, nil)
	drain(t, m, func() tea.Msg {
		return listMsg{gen: m.fleet[0].listGen, page: &a2a.ListPage{Tasks: []*a2a.Task{f.tasks["remote-1"]}}}
	}, nil)
	if st := m.table.rows.byKey[rowKey{0, "remote-1"}].state; st != a2a.StateCompleted {
		t.Fatalf("a local stamp outranked the agent's completed: %s", st)
	}
	// A finished task never goes back to unfinished on a late event.
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Time: local.Add(time.Second), Event: &a2a.StatusUpdateEvent{TaskID: "remote-1", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking}}}}}
	}, nil)
	if st := m.table.rows.byKey[rowKey{0, "remote-1"}].state; st != a2a.StateCompleted {
		t.Fatalf("a late event reopened a finished task: %s", st)
	}
	// r reconciles a row left wrong (here: an agent stamp newer than the
	// truth) from GetTask.
	f.tasks["remote-2"] = &a2a.Task{ID: "remote-2", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: agentDone}}
	drain(t, m, func() tea.Msg {
		return eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "remote-2", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateSubmitted, Timestamp: local}}}}}
	}, nil)
	press(t, m, "r")
	if st := m.table.rows.byKey[rowKey{0, "remote-2"}].state; st != a2a.StateCompleted {
		t.Fatalf("r did not reconcile from GetTask: %s", st)
	}
}

// Bug 1: a running task moved above the selection and off screen with no
// hint. Rows out of sight are counted in the column header, and by
// default (newest created first) ticking tasks keep their rows.
func TestRowsOutOfSightAreCounted(t *testing.T) {
	f := newFakeService()
	for i := range 20 {
		tk := task(fmt.Sprintf("t%02d", i), a2a.StateWorking, "ok", time.Duration(20-i)*time.Minute)
		f.tasks[tk.ID] = tk
	}
	m := newTestModel(t, f, 120, 20)
	drain(t, m, m.Init(), nil)
	press(t, m, "U") // the order that moves rows: by last change
	// At the head of the table, a row moving above the selection stays
	// in view: the head is kept, the selection moves down with its task.
	head := m.table.rows.visible[0].id
	selectID(t, m, head)
	drain(t, m, func() tea.Msg { return tickEvent("t03", 1) }, nil)
	if m.table.offset != 0 || m.table.rows.visible[0].id != "t03" || m.table.selectedKey.id != head {
		t.Fatalf("head lost: offset %d first %s selected %s", m.table.offset, m.table.rows.visible[0].id, m.table.selectedKey.id)
	}
	// Elsewhere the selection keeps its screen row and rows moving out
	// of sight are counted.
	selectID(t, m, m.table.rows.visible[3].id)
	drain(t, m, func() tea.Msg { return tickEvent("t05", 2) }, nil)
	v := ansi.Strip(m.View().Content)
	if m.table.offset == 0 {
		t.Fatalf("setup: the moved row did not go above the selection:\n%s", v)
	}
	if !strings.Contains(v, fmt.Sprintf("↑ %d more", m.table.offset)) {
		t.Fatalf("rows above hidden without a hint (offset %d):\n%s", m.table.offset, v)
	}
	if below := len(m.table.rows.visible) - m.table.offset - m.table.height; below > 0 && !strings.Contains(v, fmt.Sprintf("↓ %d more", below)) {
		t.Fatalf("rows below hidden without a hint:\n%s", v)
	}
	// By creation (the default), two ticking tasks never swap rows.
	press(t, m, "A")
	before := visibleIDs(m)
	for n := 2; n < 6; n++ {
		drain(t, m, func() tea.Msg { return tickEvent("t05", n) }, nil)
		drain(t, m, func() tea.Msg { return tickEvent("t07", n) }, nil)
		if got := visibleIDs(m); !slices.Equal(got, before) {
			t.Fatalf("rows moved on ticks: %v -> %v", before, got)
		}
	}
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(a, b color.Color) float64 {
	lum := func(c color.Color) float64 {
		r, g, bl, _ := c.RGBA()
		ch := func(v uint32) float64 {
			x := float64(v) / 0xffff
			if x <= 0.03928 {
				return x / 12.92
			}
			return math.Pow((x+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(bl)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Habit: help text readable on dark and light backgrounds (WCAG AA 4.5:1
// for keys and descriptions).
func TestHelpContrast(t *testing.T) {
	for _, dark := range []bool{true, false} {
		_, m := seeded(t, 80, 24, func(o *Options) { o.NoColor = false })
		m.Update(tea.BackgroundColorMsg{Color: map[bool]color.Color{true: color.Black, false: color.White}[dark]})
		bg := map[bool]color.Color{true: color.Black, false: color.White}[dark]
		st := m.help.Styles
		for name, s := range map[string]lipgloss.Style{"key": st.FullKey, "desc": st.FullDesc, "short desc": st.ShortDesc} {
			if r := contrast(s.GetForeground(), bg); r < 4.5 {
				t.Errorf("dark=%v %s contrast %.1f:1, want ≥ 4.5", dark, name, r)
			}
		}
	}
}

// bigService is a fake with n completed tasks (ids t00000… oldest first)
// and a few canceled ones among the oldest.
func bigService(n int) *fakeService {
	f := newFakeService()
	for i := range n {
		st := a2a.StateCompleted
		if i < 3 {
			st = a2a.StateCanceled
		}
		tk := task(fmt.Sprintf("t%05d", i), st, "ok", time.Duration(n-i)*time.Second)
		f.tasks[tk.ID] = tk
	}
	return f
}

// Scale: the first screen lists a few pages, not every task; the header
// counts every task from the service; paging follows the cursor; G
// reaches the oldest; a state filter asks the service.
func TestLazyLoading(t *testing.T) {
	const n = 5000
	f := bigService(n)
	m := newTestModel(t, f, 120, 30)
	drain(t, m, m.Init(), nil)
	if got := len(m.table.rows.byKey); got > listPageSize+prefetchRows {
		t.Fatalf("first screen loaded %d tasks", got)
	}
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, fmt.Sprintf("%d done", n-3)) || !strings.Contains(v, fmt.Sprintf("/%d shown", n)) {
		t.Fatalf("header does not count every task:\n%s", v)
	}
	// Scrolling pages in as needed.
	before := len(m.table.rows.byKey)
	for range 10 {
		press(t, m, "pgdown")
	}
	if len(m.table.rows.byKey) <= before || len(m.table.rows.byKey) == n {
		t.Fatalf("after scrolling: %d loaded (was %d)", len(m.table.rows.byKey), before)
	}
	// :state canceled finds the canceled tasks among the oldest, never
	// loaded, by asking the service.
	loaded := len(m.table.rows.byKey)
	typeCommand(t, m, "state canceled")
	if got := visibleIDs(m); len(got) != 3 {
		t.Fatalf(":state canceled = %v", got)
	}
	if !slices.ContainsFunc(f.lists, func(r a2a.ListRequest) bool { return r.State == a2a.StateCanceled && r.PageSize == listPageSize }) {
		t.Fatal("the service was not asked for canceled tasks")
	}
	if len(m.table.rows.byKey) > loaded+3 {
		t.Fatalf("the filter loaded %d more tasks", len(m.table.rows.byKey)-loaded)
	}
	typeCommand(t, m, "state all")
	// / TEXT enter asks the service too: an old task never loaded shows.
	press(t, m, "/")
	typeText(t, m, "t00001")
	press(t, m, "enter")
	if got := visibleIDs(m); !slices.Equal(got, []string{"t00001"}) {
		t.Fatalf("text filter = %v", got)
	}
	press(t, m, "esc")
	// G lists from the oldest end: one page, not every task.
	f.listed = 0
	press(t, m, "G")
	if r := m.table.selected(); r == nil || r.id != "t00000" || len(m.table.rows.byKey) > listPageSize+prefetchRows {
		t.Fatalf("G: selected %v, %d loaded", r, len(m.table.rows.byKey))
	}
	if f.listed > 2*listPageSize {
		t.Fatalf("G fetched %d tasks", f.listed)
	}
}

// The merge's fast paths (rows not shown, pages after the last row) and
// indexOf's binary search agree with a full sort and a linear search,
// whatever the order and the changes.
func TestMergeAndIndexOfAgreeWithFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, o := range []sorting{{order: sortCreated}, {order: sortUpdated}, {order: sortState, reverse: true}, {order: sortID}, {order: sortMessage}} {
		s := newRowSet()
		s.order = o
		s.state = filterAll
		for step := range 300 {
			changed := map[*row]struct{}{}
			for range 1 + rng.IntN(20) {
				id := fmt.Sprintf("t%03d", rng.IntN(400))
				at := testNow.Add(time.Duration(rng.IntN(100000)) * time.Millisecond)
				r, _ := s.change(rowKey{rng.IntN(2), id}, at, func(r *row) {
					r.setStatus(a2a.TaskStatus{State: a2a.States()[rng.IntN(8)], Timestamp: at}, at)
					r.message = fmt.Sprint(rng.IntN(5))
				})
				changed[r] = struct{}{}
			}
			if step%50 == 49 {
				s.state = stateFilter(rng.IntN(int(numStateFilters)))
				s.rebuild()
				continue
			}
			s.merge(changed)
			if !slices.IsSortedFunc(s.visible, o.cmp) {
				t.Fatalf("%v step %d: not sorted", o, step)
			}
			n := 0
			for _, r := range s.byKey {
				if s.matches(r) {
					n++
				}
			}
			if n != len(s.visible) {
				t.Fatalf("%v step %d: %d visible, %d match", o, step, len(s.visible), n)
			}
			for i, r := range s.visible {
				if got := s.indexOf(r.key); got != i {
					t.Fatalf("%v step %d: indexOf(%s) = %d, want %d", o, step, r.id, got, i)
				}
			}
		}
	}
}
