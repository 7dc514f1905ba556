package ui

import (
	"charm.land/bubbles/v2/key"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/charmbracelet/x/ansi"
)

// screenLayout is where each part of the screen goes at the current size.
type screenLayout struct {
	top        int // header lines
	tableTop   int // y of the table's column header
	tableWidth int
	tableRows  int // task rows shown
	showTable  bool

	showDetail                         bool
	detailX, detailY, detailW, detailH int

	body   int // lines between header and bottom
	dialog int // lines of the dialog box above the status line
}

const sideMinWidth = 110

func (m *Model) dialogHeight() int {
	switch m.dialog {
	case dialogAnswer:
		return 2 + 2 + m.answerBox.Height()
	case dialogCompose:
		return 2 + 1 + m.composeBox.Height() + 1
	case dialogSave:
		return 2 + 2
	}
	return 0
}

func (m *Model) layoutFor() screenLayout {
	var l screenLayout
	l.top = 1
	if m.height >= 12 {
		l.top = 2
	}
	l.dialog = m.dialogHeight()
	l.body = max(m.height-l.top-2-l.dialog, 1)
	l.tableTop = l.top
	l.tableWidth = m.width
	l.showTable = true

	hasSel := m.selectedID != ""
	switch {
	case m.layout == layoutOff || !hasSel:
	case (m.layout == layoutSide || (m.layout == layoutAuto && m.width >= sideMinWidth)) && m.width >= 60:
		l.showDetail = true
		l.tableWidth = m.width * 55 / 100
		l.detailX, l.detailY = l.tableWidth, l.top
		l.detailW, l.detailH = m.width-l.tableWidth, l.body
	case l.body >= 12:
		l.showDetail = true
		tableLines := max(4, l.body*2/5)
		l.detailX, l.detailY = 0, l.top+tableLines
		l.detailW, l.detailH = m.width, l.body-tableLines
		l.tableRows = tableLines - 1
	case m.focus == focusDetail:
		// Too small for both: the detail pane takes the body.
		l.showDetail = true
		l.showTable = false
		l.detailX, l.detailY = 0, l.top
		l.detailW, l.detailH = m.width, l.body
	}
	if l.tableRows == 0 && l.showTable {
		l.tableRows = max(l.body-1, 0)
	}
	return l
}

func (m *Model) tableRows() int { return m.layoutFor().tableRows }

func (m *Model) detailVisible() bool { return m.layoutFor().showDetail }

func (m *Model) inDetail(x, y int) bool {
	l := m.layoutFor()
	return l.showDetail && x >= l.detailX && x < l.detailX+l.detailW && y >= l.detailY && y < l.detailY+l.detailH
}

// View draws the whole screen. It does no I/O and changes nothing.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.ReportFocus = true
	if !m.opts.NoMouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	waiting := m.rows.waiting()
	v.WindowTitle = "a2atop"
	if waiting > 0 && !m.termFocused {
		v.WindowTitle = fmt.Sprintf("a2atop (%d waiting on you)", waiting)
	}
	v.ProgramStatus = m.programStatus(waiting)
	if c := m.inputCursor(); c != nil {
		v.Cursor = c
	}
	return v
}

// programStatus tells terminals that support OSC 7501 whether tasks are
// running or waiting on the user.
func (m *Model) programStatus(waiting int) *tea.ProgramStatus {
	ps := &tea.ProgramStatus{App: "a2atop", Title: "a2atop", State: tea.ProgramStateIdle}
	switch {
	case m.quitting:
	case waiting > 0:
		ps.State = tea.ProgramStateBlocked
		ps.Kind = tea.ProgramStatusKindQuestion
		if m.rows.counts[a2a.StateInputRequired] == 0 {
			ps.Kind = tea.ProgramStatusKindAuth
		}
		ps.Message = fmt.Sprintf("%d task(s) waiting on you", waiting)
	case m.rows.counts[a2a.StateWorking]+m.rows.counts[a2a.StateSubmitted] > 0:
		ps.State = tea.ProgramStateWorking
		ps.Message = fmt.Sprintf("%d task(s) running", m.rows.counts[a2a.StateWorking]+m.rows.counts[a2a.StateSubmitted])
	}
	return ps
}

// inputCursor is the real cursor of the focused text input, if any. The
// inputs use virtual cursors, so nothing is needed here.
func (m *Model) inputCursor() *tea.Cursor { return nil }

func (m *Model) render() string {
	l := m.layoutFor()
	lines := make([]string, 0, m.height)
	lines = append(lines, m.headerLine())
	if l.top == 2 {
		lines = append(lines, m.statsLine())
	}
	var body string
	switch m.dialog {
	case dialogHelp:
		body = m.helpView(l.body)
	case dialogAgent:
		body = m.agentView(l.body)
	default:
		body = m.bodyView(l)
	}
	lines = append(lines, padBlock(body, m.width, l.body)...)
	if l.dialog > 0 {
		lines = append(lines, padBlock(m.dialogView(), m.width, l.dialog)...)
	}
	lines = append(lines, m.statusLine(), m.helpLine())
	for i, s := range lines {
		lines[i] = fit(s, m.width)
	}
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	return strings.Join(lines, "\n")
}

// padBlock splits s into exactly h lines, each cut to w cells.
func padBlock(s string, w, h int) []string {
	out := strings.Split(s, "\n")
	if len(out) > h {
		out = out[:h]
	}
	for len(out) < h {
		out = append(out, "")
	}
	for i := range out {
		out[i] = fit(out[i], w)
	}
	return out
}

func (m *Model) bodyView(l screenLayout) string {
	var table string
	if l.showTable {
		table = m.tableView(l.tableWidth, l.tableRows+1)
	}
	if !l.showDetail {
		return table
	}
	m.detail.width, m.detail.height = l.detailW, l.detailH
	detail := m.detail.view(m, l.detailW, l.detailH, m.focus == focusDetail)
	switch {
	case !l.showTable:
		return detail
	case l.detailX > 0:
		left := strings.Join(padBlock(table, l.tableWidth, l.body), "\n")
		return lipgloss.JoinHorizontal(lipgloss.Top, left, detail)
	default:
		top := strings.Join(padBlock(table, m.width, l.tableRows+1), "\n")
		return top + "\n" + detail
	}
}

func (m *Model) headerLine() string {
	st := m.styles
	parts := []string{st.Header.Render("a2atop")}
	if m.opts.Target != "" {
		parts = append(parts, st.HeaderTarget.Render(cleanLine(m.opts.Target, 300)))
	}
	switch {
	case m.watchErr != nil:
		parts = append(parts, st.Error.Render(fmt.Sprintf("✗ live updates lost, retrying in %s: %s", m.watchRetry, cleanLine(m.watchErr.Error(), 200))))
	case m.conn != nil && !m.conn.OK:
		parts = append(parts, st.Error.Render("✗ "+m.conn.Text))
	case m.conn != nil:
		parts = append(parts, st.Info.Render("● "+m.conn.Text))
	default:
		parts = append(parts, st.Info.Render("● live"))
	}
	if n := m.rows.waiting(); n > 0 {
		parts = append(parts, st.Badge.Render(fmt.Sprintf("◆ %d waiting on you (a: answer)", n)))
	}
	return strings.Join(parts, st.Muted.Render(" │ "))
}

func (m *Model) statsLine() string {
	st := m.styles
	var parts []string
	for _, s := range a2a.States() {
		if n := m.rows.counts[s]; n > 0 {
			parts = append(parts, st.State(s).Render(fmt.Sprintf("%s %d %s", stateSymbol(s), n, stateName(s))))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, st.Muted.Render("no tasks yet: n creates one"))
	}
	shown := fmt.Sprintf("%d/%d shown", len(m.rows.visible), len(m.rows.byID))
	if m.loading {
		shown += ", loading…"
	}
	info := st.Muted.Render(fmt.Sprintf("  filter: %s · sort: %s · %s", m.rows.state, m.rows.order, shown))
	if m.rows.text != "" {
		info += st.Muted.Render(" · /" + cleanLine(m.rows.text, 60))
	}
	return strings.Join(parts, "  ") + info
}

func (m *Model) statusLine() string {
	st := m.styles
	switch m.dialog {
	case dialogFilter:
		return m.filterInput.View()
	case dialogConfirmCancel:
		if r := m.selected(); r != nil {
			return st.Badge.Render(fmt.Sprintf("cancel task %s (%s)? y/n", shortID(r.id), cut(r.text, 40)))
		}
	case dialogConfirmOverwrite:
		if m.pendingSave != nil {
			return st.Badge.Render(fmt.Sprintf("%s exists: overwrite? y/n", cleanLine(m.pendingSave.path(), 200)))
		}
	}
	if m.flash != "" {
		if m.flashErr {
			return st.Error.Render("✗ " + m.flash)
		}
		return st.Info.Render("✓ " + m.flash)
	}
	if m.rows.text != "" {
		return st.Muted.Render("filter /" + cleanLine(m.rows.text, 200) + " (esc clears)")
	}
	return ""
}

func (m *Model) helpLine() string {
	bindings := m.keys.tableHelp()
	switch {
	case m.dialog == dialogAnswer:
		bindings = m.keysFor(m.keys.Submit, m.keys.Newline, m.keys.Close)
	case m.dialog == dialogCompose:
		bindings = m.keysFor(m.keys.Submit, m.keys.Newline, m.keys.NextField, m.keys.Close)
	case m.dialog == dialogSave:
		bindings = m.keysFor(m.keys.Submit, m.keys.Close)
	case m.dialog == dialogFilter:
		bindings = m.keysFor(m.keys.Submit, m.keys.Close)
	case m.dialog == dialogConfirmCancel || m.dialog == dialogConfirmOverwrite:
		bindings = m.keysFor(m.keys.Confirm, m.keys.Deny)
	case m.dialog == dialogHelp || m.dialog == dialogAgent:
		bindings = m.keysFor(m.keys.Back, m.keys.Quit)
	case m.focus == focusDetail && m.detailVisible():
		bindings = m.keys.detailHelp()
	}
	return m.help.ShortHelpView(bindings)
}

func (m *Model) keysFor(b ...key.Binding) []key.Binding { return b }

func (m *Model) helpView(h int) string {
	title := m.styles.Title.Render("Keys") + m.styles.Muted.Render("  (esc closes)")
	legend := m.styles.Muted.Render("states: ○ submitted  ⠋ working  ? input needed  ! auth needed  ✓ done  ✗ failed  ⊘ canceled  ⊗ rejected  ◆ waiting on you")
	groups := m.keys.FullHelp()
	half := (len(groups) + 1) / 2
	return title + "\n\n" + m.help.FullHelpView(groups[:half]) + "\n\n" + m.help.FullHelpView(groups[half:]) + "\n\n" + ansi.Wrap(legend, m.width, "")
}
