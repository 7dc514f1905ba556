package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// timelineService adds the local engine's a2a.TimelineSource to the fake.
type timelineService struct{ *fakeService }

func (s timelineService) Timeline(ctx context.Context, id string) ([]a2a.TimelineEvent, error) {
	at := testNow.Add(-3 * time.Minute)
	msg := func(text string) *a2a.Message {
		return &a2a.Message{ID: text, Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(text)}}
	}
	return []a2a.TimelineEvent{
		{Seq: 1, Time: at, Event: &a2a.Task{ID: id, Status: a2a.TaskStatus{State: a2a.StateSubmitted, Message: msg("queued: position 2 of 2")}}},
		{Seq: 2, Time: at.Add(1500 * time.Millisecond), Event: &a2a.StatusUpdateEvent{TaskID: id, Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: at.Add(1500 * time.Millisecond), Message: msg("attempt 1")}}},
		{Seq: 3, Time: at.Add(2 * time.Second), Event: &a2a.StatusUpdateEvent{TaskID: id, Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: at.Add(2 * time.Second), Message: msg("retrying after: flaky failure (attempt 2 of 3)")}}},
		{Seq: 4, Time: at.Add(3 * time.Second), Event: &a2a.ArtifactUpdateEvent{TaskID: id, Artifact: a2a.Artifact{ID: "art-1", Name: "answer"}}},
		{Seq: 5, Time: at.Add(4 * time.Second), Event: &a2a.StatusUpdateEvent{TaskID: id, Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: at.Add(4 * time.Second), Message: msg("echoed")}}},
	}, nil
}

var goldenSizes = [][2]int{{40, 10}, {80, 24}, {160, 48}}

// TestGoldenViews renders the main views at three sizes, without colour
// (the ANSI styling is stripped, so the files are plain text), with a
// fixed clock. Update with `go test ./ui -update`.
func TestGoldenViews(t *testing.T) {
	scenes := []struct {
		name  string
		setup func(t *testing.T, f *fakeService, m *Model)
		svc   func(f *fakeService) a2a.Service
	}{
		{name: "list", setup: func(t *testing.T, f *fakeService, m *Model) {}},
		{name: "list_filtered", setup: func(t *testing.T, f *fakeService, m *Model) {
			press(t, m, "f", "f", "o")
		}},
		{name: "detail", setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-done-3")
			press(t, m, "enter")
		}},
		{name: "timeline", svc: func(f *fakeService) a2a.Service { return timelineService{f} }, setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-done-3")
			press(t, m, "enter")
		}},
		{name: "artifacts", setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-done-3")
			press(t, m, "enter", "tab", "]")
		}},
		{name: "history", setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-done-3")
			press(t, m, "enter", "shift+tab")
		}},
		{name: "answer", setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-input-2")
			press(t, m, "a")
			typeText(t, m, "next friday")
		}},
		{name: "answer_options", svc: func(f *fakeService) a2a.Service {
			f.tasks["task-choose-8"] = chooseTask("task-choose-8", true)
			return f
		}, setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-choose-8")
			press(t, m, "a", "down")
		}},
		{name: "compose", setup: func(t *testing.T, f *fakeService, m *Model) {
			press(t, m, "n")
			typeText(t, m, "slow 5")
		}},
		{name: "cancel_confirm", setup: func(t *testing.T, f *fakeService, m *Model) {
			selectID(t, m, "task-working-1")
			press(t, m, "x")
		}},
		{name: "help", setup: func(t *testing.T, f *fakeService, m *Model) { press(t, m, "?") }},
		{name: "agent", setup: func(t *testing.T, f *fakeService, m *Model) { press(t, m, "i") }},
		{name: "errors", setup: func(t *testing.T, f *fakeService, m *Model) {
			m.Update(watchStateMsg{err: errors.New("dial tcp 127.0.0.1:9: connection refused"), retryIn: 2 * time.Second})
			f.failNext = errors.New("task not found (-32001)")
			press(t, m, "x", "y")
		}},
		// A window of a big store after G: the oldest task selected, the
		// tasks out of the window counted, the sort said to cover the
		// loaded rows.
		{name: "window_after_G", svc: func(f *fakeService) a2a.Service {
			f.tasks = bigService(5000).tasks
			return f
		}, setup: func(t *testing.T, f *fakeService, m *Model) { press(t, m, "G") }},
		{name: "empty", svc: func(f *fakeService) a2a.Service {
			f.tasks = map[string]*a2a.Task{}
			return f
		}, setup: func(t *testing.T, f *fakeService, m *Model) {}},
	}
	for _, sc := range scenes {
		for _, size := range goldenSizes {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				f, _ := seeded(t, size[0], size[1])
				var svc a2a.Service = f
				if sc.svc != nil {
					svc = sc.svc(f)
				}
				m := newTestModel(t, svc, size[0], size[1])
				drain(t, m, m.Init(), fireDetail)
				sc.setup(t, f, m)
				out := ansi.Strip(m.View().Content)
				checkFrame(t, out, size[0], size[1])
				golden.RequireEqual(t, []byte(out))
			})
		}
	}
}

// checkFrame asserts the frame has exactly the screen's height and no
// line wider than it.
func checkFrame(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Fatalf("line %d is %d wide (max %d): %q", i, lw, w, l)
		}
	}
}

// The colour profile: with colour on, the same view carries styles, and
// NO_COLOR (NoColor) leaves only bold/reverse/underline.
func TestNoColorHasNoColours(t *testing.T) {
	_, m := seeded(t, 80, 24)
	out := m.View().Content
	if strings.Contains(out, "38;2;") || strings.Contains(out, "38;5;") {
		t.Fatal("NoColor view has colours")
	}
	_, mc := seeded(t, 80, 24, func(o *Options) { o.NoColor = false })
	mc.Update(tea.BackgroundColorMsg{})
	if !strings.Contains(mc.View().Content, "38;2;") {
		t.Fatal("colour view has no colours")
	}
}
