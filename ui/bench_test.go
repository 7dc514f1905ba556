package ui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/a2atop/a2atop/a2a"
)

// loadRows fills m with n tasks through the same path live events take.
func loadRows(m *Model, n int) {
	const batch = 5000
	for start := 0; start < n; start += batch {
		evs := make([]a2a.StreamEvent, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			evs = append(evs, a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{
				TaskID: fmt.Sprintf("0197a3b2-0000-7000-8000-%012d", i), ContextID: fmt.Sprintf("ctx-%d", i%50),
				Status: a2a.TaskStatus{State: a2a.States()[i%8], Timestamp: testNow.Add(-time.Duration(n-i) * time.Second),
					Message: &a2a.Message{ID: fmt.Sprint("m", i), Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("step %d/10 of a task doing work", i%10))}}},
			}})
		}
		m.applyEvents(0, evs)
	}
}

func benchView(b *testing.B, n int) {
	m := newTestModel(b, newFakeService(), 120, 40, func(o *Options) { o.NoColor = false })
	loadRows(m, n)
	m.table.cursor = len(m.table.rows.visible) / 2
	m.moved(m.sizedTable().afterCursorMove())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// View cost must depend on the screen, not on the number of tasks.
func BenchmarkView100(b *testing.B)    { benchView(b, 100) }
func BenchmarkView100000(b *testing.B) { benchView(b, 100_000) }

// BenchmarkApplyEvents applies 100,000 status events (in batches of 1,000,
// as the pump delivers them) to a model holding 10,000 tasks.
func BenchmarkApplyEvents(b *testing.B) {
	const tasks, events, batch = 10_000, 100_000, 1000
	evs := make([]a2a.StreamEvent, events)
	for i := range evs {
		id := fmt.Sprintf("0197a3b2-0000-7000-8000-%012d", i%tasks)
		evs[i] = a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{TaskID: id, Status: a2a.TaskStatus{
			State: a2a.StateWorking, Timestamp: testNow.Add(time.Duration(i) * time.Millisecond),
			Message: &a2a.Message{ID: fmt.Sprint("s", i), Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("step %d/100", i%100))}}}}}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		m := newTestModel(b, newFakeService(), 120, 40)
		loadRows(m, tasks)
		b.StartTimer()
		for i := 0; i < events; i += batch {
			m.applyEvents(0, evs[i:i+batch])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}

// BenchmarkMemoryPerTask reports the heap the UI holds per task (rows,
// indexes, timeline), measured with runtime.MemStats around loading
// 100,000 tasks.
func BenchmarkMemoryPerTask(b *testing.B) {
	const n = 100_000
	var perTask float64
	for b.Loop() {
		var before, after runtime.MemStats
		m := newTestModel(b, newFakeService(), 120, 40)
		runtime.GC()
		runtime.ReadMemStats(&before)
		loadRows(m, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perTask = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perTask, "B/task")
}

// BenchmarkFrameUnderLoad measures one frame of the dashboard while 10,000
// events/s arrive: the pump coalesces them into one message per frame (~30
// frames/s, so ~334 events), the user presses a key, and the screen is
// drawn. A key waits at most one such frame, so ms/frame is the worst-case
// key latency and frame-budget% is the share of the 33 ms frame it uses.
func BenchmarkFrameUnderLoad(b *testing.B) {
	const tasks, perFrame = 10_000, 10_000 / 30
	m := newTestModel(b, newFakeService(), 120, 40, func(o *Options) { o.NoColor = false })
	loadRows(m, tasks)
	down := tea.KeyPressMsg{Code: tea.KeyDown}
	frame := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		evs := make([]a2a.StreamEvent, perFrame)
		for i := range evs {
			n := frame*perFrame + i
			evs[i] = a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{
				TaskID: fmt.Sprintf("0197a3b2-0000-7000-8000-%012d", n%tasks),
				Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow.Add(time.Duration(n) * time.Millisecond),
					Message: &a2a.Message{ID: fmt.Sprint("f", n), Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("step %d/100", n%100))}}},
			}}
		}
		frame++
		b.StartTimer()
		m.Update(eventsMsg{events: evs})
		m.Update(down)
		_ = m.View()
	}
	perFrameNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrameNs/1e6, "ms/frame")
	b.ReportMetric(perFrameNs/(1e9/30)*100, "frame-budget%")
}
