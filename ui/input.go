package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// updateKey routes a key by focus: an open dialog gets every key (only
// esc, enter and ctrl keys mean something else there), then the detail
// pane or the table.
func (m *Model) updateKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	switch m.dialog {
	case dialogFilter:
		return m.keyFilter(msg)
	case dialogAnswer:
		return m.keyAnswer(msg)
	case dialogCompose:
		return m.keyCompose(msg)
	case dialogConfirmCancel:
		return m.keyConfirmCancel(msg)
	case dialogSave:
		return m.keySave(msg)
	case dialogConfirmOverwrite:
		return m.keyConfirmOverwrite(msg)
	case dialogHelp, dialogAgent:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Back, m.keys.Help, m.keys.Agent):
			m.dialog = dialogNone
		}
		return nil
	}
	if cmd, ok := m.keyGlobal(msg); ok {
		return cmd
	}
	if m.focus == focusDetail && m.detailVisible() {
		return m.keyDetail(msg)
	}
	return m.keyTable(msg)
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	return tea.Quit
}

// keyGlobal handles the keys that mean the same with the table or the
// detail pane focused.
func (m *Model) keyGlobal(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit(), true
	case key.Matches(msg, k.Help):
		m.dialog = dialogHelp
		return nil, true
	case key.Matches(msg, k.Agent):
		m.dialog = dialogAgent
		if m.card == nil {
			return m.cardCmd(), true
		}
		return nil, true
	case key.Matches(msg, k.Filter):
		m.dialog = dialogFilter
		return m.filterInput.Focus(), true
	case key.Matches(msg, k.StateFilter):
		m.rows.state = (m.rows.state + 1) % numStateFilters
		return m.refilter(), true
	case key.Matches(msg, k.Sort):
		m.rows.order = (m.rows.order + 1) % numSortOrders
		return m.refilter(), true
	case key.Matches(msg, k.Reload):
		return m.reload(), true
	case key.Matches(msg, k.Layout):
		m.layout = (m.layout + 1) % numLayouts
		if m.layout == layoutOff {
			m.focus = focusTable
		}
		m.setSize(m.width, m.height)
		if m.detailVisible() && m.detail.task == nil {
			return m.fetchDetail(), true
		}
		return nil, true
	case key.Matches(msg, k.NextTab):
		m.detail.nextTab(1)
		return m.ensureDetail(), true
	case key.Matches(msg, k.PrevTab):
		m.detail.nextTab(-1)
		return m.ensureDetail(), true
	case key.Matches(msg, k.Answer):
		return m.openAnswer(), true
	case key.Matches(msg, k.Cancel):
		if r := m.selected(); r != nil && !r.state.Terminal() {
			m.dialog = dialogConfirmCancel
			return nil, true
		}
		return m.setFlash("select a task that is not finished to cancel it", true), true
	case key.Matches(msg, k.New):
		m.dialog = dialogCompose
		m.composeOnMeta = false
		m.composeMeta.Blur()
		return m.composeBox.Focus(), true
	}
	return nil, false
}

// ensureDetail shows the detail pane (if the layout hides it) so that tab
// switching is visible.
func (m *Model) ensureDetail() tea.Cmd {
	if m.layout == layoutOff {
		m.layout = layoutAuto
		m.setSize(m.width, m.height)
	}
	if m.detail.task == nil && m.selectedID != "" && !m.detail.loading {
		return m.fetchDetail()
	}
	return nil
}

func (m *Model) keyTable(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	page := max(m.tableRows()-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		return m.moveCursor(-1)
	case key.Matches(msg, k.Down):
		return m.moveCursor(1)
	case key.Matches(msg, k.PageUp):
		return m.moveCursor(-page)
	case key.Matches(msg, k.PageDown):
		return m.moveCursor(page)
	case key.Matches(msg, k.Top):
		m.cursor = 0
		return m.afterCursorMove()
	case key.Matches(msg, k.Bottom):
		m.cursor = len(m.rows.visible) - 1
		return m.afterCursorMove()
	case key.Matches(msg, k.Open):
		if m.selected() == nil {
			return nil
		}
		m.focus = focusDetail
		return m.ensureDetail()
	case key.Matches(msg, k.Back):
		if m.rows.text != "" {
			m.filterInput.SetValue("")
			m.rows.text = ""
			return m.refilter()
		}
	}
	return nil
}

func (m *Model) keyDetail(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		m.focus = focusTable
	case key.Matches(msg, k.Up):
		m.detail.scroll(-1)
	case key.Matches(msg, k.Down):
		m.detail.scroll(1)
	case key.Matches(msg, k.PageUp):
		m.detail.scroll(-max(m.detail.bodyHeight-1, 1))
	case key.Matches(msg, k.PageDown):
		m.detail.scroll(max(m.detail.bodyHeight-1, 1))
	case key.Matches(msg, k.Top):
		m.detail.scrollTo(0)
	case key.Matches(msg, k.Bottom):
		m.detail.scrollTo(1 << 30)
	case key.Matches(msg, k.PrevArtifact):
		m.detail.pickArtifact(-1)
	case key.Matches(msg, k.NextArtifact):
		m.detail.pickArtifact(1)
	case key.Matches(msg, k.Save):
		return m.openSave()
	case key.Matches(msg, k.Copy):
		return m.copyArtifact()
	}
	return nil
}

// refilter rebuilds the visible list after a filter or sort change and
// keeps the selection when the selected task still shows.
func (m *Model) refilter() tea.Cmd {
	prev := m.selectedID
	m.rows.rebuild()
	if i := m.rows.indexOf(prev); i >= 0 {
		m.cursor = i
	}
	return m.afterCursorMove()
}

// reload forgets nothing but asks for every task again.
func (m *Model) reload() tea.Cmd {
	m.listGen++
	m.loaded = 0
	m.loading = true
	cmds := []tea.Cmd{m.listCmd(m.listGen, ""), m.setFlash("reloading tasks", false)}
	if m.detailVisible() && m.selectedID != "" {
		cmds = append(cmds, m.fetchDetail())
	}
	return tea.Batch(cmds...)
}

func (m *Model) keyFilter(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.filterInput.SetValue("")
		m.filterInput.Blur()
		m.dialog = dialogNone
		m.rows.text = ""
		return m.refilter()
	case "enter":
		m.filterInput.Blur()
		m.dialog = dialogNone
		return nil
	}
	var cmd tea.Cmd
	m.filterInput, cmd = m.filterInput.Update(msg)
	return tea.Batch(cmd, m.setFilterText(m.filterInput.Value()))
}

func (m *Model) setFilterText(s string) tea.Cmd {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == m.rows.text {
		return nil
	}
	m.rows.text = s
	return m.refilter()
}

// openAnswer opens the answer box for the selected task, or for the task
// that has waited longest when the selected one is not waiting.
func (m *Model) openAnswer() tea.Cmd {
	r := m.selected()
	if r == nil || !r.state.Interrupted() {
		r = m.oldestWaiting()
		if r == nil {
			return m.setFlash("no task is waiting for an answer", true)
		}
		if i := m.rows.indexOf(r.id); i >= 0 {
			m.cursor = i
		}
	}
	m.answerFor = r
	m.answerBox.Reset()
	m.dialog = dialogAnswer
	return tea.Batch(m.afterCursorMove(), m.answerBox.Focus())
}

func (m *Model) oldestWaiting() *row {
	var best *row
	for _, r := range m.rows.byID {
		if r.state.Interrupted() && (best == nil || r.updated.Before(best.updated) || (r.updated.Equal(best.updated) && r.id < best.id)) {
			best = r
		}
	}
	return best
}

func (m *Model) keyAnswer(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.answerBox.Blur()
		m.dialog = dialogNone
		return nil
	case "enter":
		text := strings.TrimSpace(m.answerBox.Value())
		r := m.answerFor
		if text == "" || r == nil {
			return m.setFlash("type an answer first (esc closes)", true)
		}
		m.answerBox.Blur()
		m.dialog = dialogNone
		return tea.Batch(m.sendCmd(text, r.id, r.contextID, nil), m.setFlash("sending answer to "+shortID(r.id), false))
	}
	var cmd tea.Cmd
	m.answerBox, cmd = m.answerBox.Update(msg)
	return cmd
}

func (m *Model) keyCompose(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.composeBox.Blur()
		m.composeMeta.Blur()
		m.dialog = dialogNone
		return nil
	case "tab", "shift+tab":
		m.composeOnMeta = !m.composeOnMeta
		if m.composeOnMeta {
			m.composeBox.Blur()
			return m.composeMeta.Focus()
		}
		m.composeMeta.Blur()
		return m.composeBox.Focus()
	case "enter":
		text := strings.TrimSpace(m.composeBox.Value())
		if text == "" {
			return m.setFlash("type a message first (esc closes)", true)
		}
		md, err := parseMetadata(m.composeMeta.Value())
		if err != nil {
			return m.setFlash(err.Error(), true)
		}
		m.composeBox.Reset()
		m.composeMeta.SetValue("")
		m.composeBox.Blur()
		m.composeMeta.Blur()
		m.dialog = dialogNone
		return m.sendCmd(text, "", "", md)
	}
	var cmd tea.Cmd
	if m.composeOnMeta {
		m.composeMeta, cmd = m.composeMeta.Update(msg)
	} else {
		m.composeBox, cmd = m.composeBox.Update(msg)
	}
	return cmd
}

func (m *Model) keyConfirmCancel(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Confirm):
		m.dialog = dialogNone
		if r := m.selected(); r != nil {
			return tea.Batch(m.cancelCmd(r.id), m.setFlash("canceling "+shortID(r.id), false))
		}
	case key.Matches(msg, m.keys.Deny):
		m.dialog = dialogNone
	}
	return nil
}

func (m *Model) updatePaste(msg tea.PasteMsg) tea.Cmd {
	var cmd tea.Cmd
	switch m.dialog {
	case dialogFilter:
		m.filterInput, cmd = m.filterInput.Update(msg)
		return tea.Batch(cmd, m.setFilterText(m.filterInput.Value()))
	case dialogAnswer:
		m.answerBox, cmd = m.answerBox.Update(msg)
	case dialogCompose:
		if m.composeOnMeta {
			m.composeMeta, cmd = m.composeMeta.Update(msg)
		} else {
			m.composeBox, cmd = m.composeBox.Update(msg)
		}
	case dialogSave:
		m.saveInput, cmd = m.saveInput.Update(msg)
	}
	return cmd
}

func (m *Model) updateWheel(msg tea.MouseWheelMsg) tea.Cmd {
	if m.dialog != dialogNone {
		return nil
	}
	mouse := msg.Mouse()
	delta := 0
	switch mouse.Button {
	case tea.MouseWheelUp:
		delta = -3
	case tea.MouseWheelDown:
		delta = 3
	default:
		return nil
	}
	if m.inDetail(mouse.X, mouse.Y) {
		m.detail.scroll(delta)
		return nil
	}
	return m.moveCursor(delta)
}

func (m *Model) updateClick(msg tea.MouseClickMsg) tea.Cmd {
	mouse := msg.Mouse()
	if m.dialog != dialogNone || mouse.Button != tea.MouseLeft {
		return nil
	}
	if m.inDetail(mouse.X, mouse.Y) {
		m.focus = focusDetail
		return nil
	}
	lay := m.layoutFor()
	rowY := mouse.Y - lay.tableTop - 1 // the column header line
	if mouse.X >= lay.tableWidth || rowY < 0 || rowY >= lay.tableRows {
		return nil
	}
	i := m.offset + rowY
	if i >= len(m.rows.visible) {
		return nil
	}
	m.focus = focusTable
	m.cursor = i
	return m.afterCursorMove()
}

// waitingRows counts the tasks that wait on the user (for the status bar).
func (m *Model) waitingRows() int { return m.rows.waiting() }

var _ = a2a.StateWorking
