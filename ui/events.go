package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// applyEvents folds a batch of live events into the rows (and into the
// selected task's detail), keeps the cursor on the same task, and rings the
// bell when a task starts waiting on a user who is looking elsewhere.
func (m *Model) applyEvents(agent int, events []a2a.StreamEvent) tea.Cmd {
	a := m.agentAt(agent)
	if a == nil {
		return nil
	}
	newlyWaiting := 0
	var batch *rowBatch
	moved := m.sizedTable().change(m.com.Now, min(len(events), 1024), func(b *rowBatch) {
		batch = b
		for _, se := range events {
			if se.Event == nil {
				continue
			}
			id, _ := se.Event.TaskInfo()
			if id == "" {
				continue
			}
			at := eventTime(se, m.com.Now)
			r := b.change(rowKey{agent, id}, func(r *row) {
				was := r.state
				r.applyEvent(se, m.com.Now)
				if !was.Interrupted() && r.state.Interrupted() {
					newlyWaiting++
				}
				if was != a2a.StateFailed && r.state == a2a.StateFailed {
					a.pulse.add(m.com.Now, at, true)
				}
			})
			if at.After(a.lastEvent) {
				a.lastEvent = at
			}
			if r.key == m.detail.key {
				m.detail.applyLive(se, m.com.Now)
			}
		}
		for _, r := range b.created {
			a.pulse.add(m.com.Now, r.created, false)
		}
	})
	if m.adoptLive(a, batch, true) {
		moved = true
	}
	var cmds []tea.Cmd
	if newlyWaiting > 0 && !m.termFocused {
		cmds = append(cmds, tea.Raw("\a"))
	}
	return tea.Batch(append(cmds, m.moved(moved))...)
}

// applySnapshot folds a task snapshot returned by a call into its row.
func (m *Model) applySnapshot(agent int, t *a2a.Task) tea.Cmd {
	key := rowKey{agent, t.ID}
	var batch *rowBatch
	moved := m.sizedTable().change(m.com.Now, 1, func(b *rowBatch) {
		batch = b
		b.change(key, func(r *row) { r.applyTask(t, m.com.Now) })
	})
	if a := m.agentAt(agent); a != nil && m.adoptLive(a, batch, false) {
		moved = true
	}
	if key == m.detail.key {
		m.detail.dirty = true
	}
	return m.moved(moved)
}

// detailFetchMsg asks for the selected task's details after the selection
// settled (holding j must not send a Get per row).
type detailFetchMsg struct {
	gen int
	key rowKey
}

// selectionChanged resets the detail pane and schedules the fetch of the
// newly selected task.
func (m *Model) selectionChanged() tea.Cmd {
	m.detailGen++
	m.detail.clear(m.table.selectedKey)
	if m.table.selectedKey.id == "" || !m.detailVisible() {
		return nil
	}
	gen, key := m.detailGen, m.table.selectedKey
	return m.after(debounce, func(_ time.Time) tea.Msg { return detailFetchMsg{gen: gen, key: key} })
}
