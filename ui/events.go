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
	prevID, prevScreen := m.selectedID, m.cursor-m.offset
	changed := make(map[*row]struct{}, min(len(events), 1024))
	newlyWaiting := 0
	for _, se := range events {
		if se.Event == nil {
			continue
		}
		id, _ := se.Event.TaskInfo()
		if id == "" {
			continue
		}
		r := m.rows.change(id, m.now, func(r *row) {
			was := r.state.Interrupted()
			r.applyEvent(se, m.now)
			if !was && r.state.Interrupted() {
				newlyWaiting++
			}
		})
		changed[r] = struct{}{}
		if r.id == m.detail.taskID {
			m.detail.applyLive(se, m.now)
		}
	}
	m.rows.merge(changed)
	m.reselect(prevID, prevScreen)
	var cmds []tea.Cmd
	if newlyWaiting > 0 && !m.termFocused {
		cmds = append(cmds, tea.Raw("\a"))
	}
	if m.selectedID != prevID {
		cmds = append(cmds, m.selectionChanged())
	}
	return tea.Batch(cmds...)
}

// reselect puts the cursor back on task id after the visible list changed,
// at the same screen row when possible, so that the row under the user's
// eyes does not jump. If id is gone (filtered out) the cursor stays at its
// index.
func (m *Model) reselect(id string, screenRow int) {
	if id != "" {
		if i := m.rows.indexOf(id); i >= 0 {
			m.cursor = i
			m.offset = m.cursor - screenRow
			m.keepCursorVisible()
			return
		}
	}
	m.keepCursorVisible()
	if r := m.selected(); r != nil {
		m.selectedID = r.id
	} else {
		m.selectedID = ""
	}
}

// keepCursorVisible clamps the cursor and scrolls the table to show it.
func (m *Model) keepCursorVisible() {
	n := len(m.rows.visible)
	m.cursor = max(0, min(m.cursor, n-1))
	h := max(m.tableRows(), 1)
	if m.offset > m.cursor {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	m.offset = max(0, min(m.offset, n-h))
	m.offset = max(m.offset, 0)
}

// moveCursor moves the selection by delta rows.
func (m *Model) moveCursor(delta int) tea.Cmd {
	m.cursor += delta
	return m.afterCursorMove()
}

func (m *Model) afterCursorMove() tea.Cmd {
	m.keepCursorVisible()
	prev := m.selectedID
	if r := m.selected(); r != nil {
		m.selectedID = r.id
	} else {
		m.selectedID = ""
	}
	if m.selectedID != prev {
		return m.selectionChanged()
	}
	return nil
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
	m.detail.clear(m.selectedID)
	if m.selectedID == "" || !m.detailVisible() {
		return nil
	}
	gen, id := m.detailGen, m.selectedID
	return m.after(debounce, func(_ time.Time) tea.Msg { return detailFetchMsg{gen: gen, id: id} })
}
