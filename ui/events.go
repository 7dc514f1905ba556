package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// applyEvents folds a batch of live events into the rows (and into the
// selected task's detail), keeps the cursor on the same task, and rings the
// bell when a task starts waiting on a user who is looking elsewhere.
func (m *Model) applyEvents(events []a2a.StreamEvent) tea.Cmd {
	newlyWaiting := 0
	moved := m.sizedTable().change(m.com.Now, min(len(events), 1024), func(b *rowBatch) {
		for _, se := range events {
			if se.Event == nil {
				continue
			}
			id, _ := se.Event.TaskInfo()
			if id == "" {
				continue
			}
			r := b.change(id, func(r *row) {
				was := r.state.Interrupted()
				r.applyEvent(se, m.com.Now)
				if !was && r.state.Interrupted() {
					newlyWaiting++
				}
			})
			if r.id == m.detail.taskID {
				m.detail.applyLive(se, m.com.Now)
			}
		}
	})
	var cmds []tea.Cmd
	if newlyWaiting > 0 && !m.termFocused {
		cmds = append(cmds, tea.Raw("\a"))
	}
	return tea.Batch(append(cmds, m.moved(moved))...)
}

// applySnapshot folds a task snapshot returned by a call into its row.
func (m *Model) applySnapshot(t *a2a.Task) tea.Cmd {
	moved := m.sizedTable().change(m.com.Now, 1, func(b *rowBatch) {
		b.change(t.ID, func(r *row) { r.applyTask(t, m.com.Now) })
	})
	if t.ID == m.detail.taskID {
		m.detail.dirty = true
	}
	return m.moved(moved)
}

// detailFetchMsg asks for the selected task's details after the selection
// settled (holding j must not send a Get per row).
type detailFetchMsg struct {
	gen int
	id  string
}

// selectionChanged resets the detail pane and schedules the fetch of the
// newly selected task.
func (m *Model) selectionChanged() tea.Cmd {
	m.detailGen++
	m.detail.clear(m.table.selectedID)
	if m.table.selectedID == "" || !m.detailVisible() {
		return nil
	}
	gen, id := m.detailGen, m.table.selectedID
	return m.after(debounce, func(_ time.Time) tea.Msg { return detailFetchMsg{gen: gen, id: id} })
}
