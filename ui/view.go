package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
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

// needsAuthText is what the dashboard says when the agent refuses for
// want of credentials.
const needsAuthText = "✗ the agent needs a token: set A2ATOP_HEADERS or --header"

func (m *Model) layoutFor() screenLayout {
	var l screenLayout
	l.top = 1
	if m.height >= 12 {
		l.top = 2
	}
	if m.fleetMode() && m.height >= 14 {
		l.top = 3 // the agents strip
	}
	l.dialog = m.dialogs.Height()
	l.body = max(m.height-l.top-2-l.dialog, 1)
	l.tableTop = l.top
	l.tableWidth = m.width
	l.showTable = true

	hasSel := m.table.selectedKey.id != ""
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

// autoLayout is the layout layoutAuto shows at the current width.
func (m *Model) autoLayout() layoutMode {
	if m.width >= sideMinWidth {
		return layoutSide
	}
	return layoutBelow
}

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
	waiting := m.table.rows.waiting()
	v.WindowTitle = "a2atop"
	if waiting > 0 && !m.termFocused {
		v.WindowTitle = fmt.Sprintf("a2atop (%d waiting on you)", waiting)
	}
	v.ProgramStatus = m.programStatus(waiting)
	return v
}

// programStatus tells terminals that support OSC 7501 whether tasks are
// running or waiting on the user.
func (m *Model) programStatus(waiting int) *tea.ProgramStatus {
	ps := &tea.ProgramStatus{App: "a2atop", Title: "a2atop", State: tea.ProgramStateIdle}
	counts := m.table.rows.counts
	switch {
	case m.quitting:
	case waiting > 0:
		ps.State = tea.ProgramStateBlocked
		ps.Kind = tea.ProgramStatusKindQuestion
		if counts[a2a.StateInputRequired] == 0 {
			ps.Kind = tea.ProgramStatusKindAuth
		}
		ps.Message = fmt.Sprintf("%d task(s) waiting on you", waiting)
	case counts[a2a.StateWorking]+counts[a2a.StateSubmitted] > 0:
		ps.State = tea.ProgramStateWorking
		ps.Message = fmt.Sprintf("%d task(s) running", counts[a2a.StateWorking]+counts[a2a.StateSubmitted])
	}
	return ps
}

func (m *Model) render() string {
	// The same sizes Update gave the components; set again for callers
	// (tests, benchmarks) that changed the model without Update.
	l := m.sizeComponents()
	lines := make([]string, 0, m.height)
	lines = append(lines, m.headerLine())
	if l.top >= 2 {
		lines = append(lines, m.statsLine())
	}
	if l.top >= 3 {
		lines = append(lines, m.stripLine())
	}
	var body string
	switch m.dialogs.open {
	case dialogHelp:
		body = m.dialogs.helpPager.view(m.pagerLines(), l.body, m.com.Styles)
	case dialogAgent:
		body = m.dialogs.agentPager.view(m.pagerLines(), l.body, m.com.Styles)
	case dialogAgents:
		body = m.agentsBody(m.width, l.body)
	case dialogDescribe:
		body = m.dialogs.describe.pager.view(m.pagerLines(), l.body, m.com.Styles)
	default:
		body = m.bodyView(l)
	}
	lines = append(lines, padBlock(body, m.width, l.body)...)
	if l.dialog > 0 {
		lines = append(lines, padBlock(m.dialogs.View(), m.width, l.dialog)...)
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
		table = m.table.View()
	}
	if !l.showDetail {
		return table
	}
	detail := m.detail.View()
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
	st := m.com.Styles
	parts := []string{st.Header.Render("a2atop")}
	if m.opts.Target != "" {
		parts = append(parts, st.HeaderTarget.Render(cleanLine(m.opts.Target, 300)))
	} else if m.fleetMode() {
		parts = append(parts, st.HeaderTarget.Render(fmt.Sprintf("fleet · %d agents", len(m.fleet))))
	}
	live := m.fleet[0].live
	switch {
	case m.fleetMode():
		parts = append(parts, m.fleetHealth())
	case live.needsAuth:
		parts = append(parts, st.Error.Render(needsAuthText+" · r retries"))
	case live.watchErr != nil:
		parts = append(parts, st.Error.Render(fmt.Sprintf("✗ live updates lost, retrying in %s: %s", live.watchRetry, cleanLine(live.watchErr.Error(), 200))))
	case live.conn != nil && !live.conn.OK:
		parts = append(parts, st.Error.Render("✗ "+live.conn.Text))
	case live.conn != nil:
		parts = append(parts, st.Info.Render("● "+live.conn.Text))
	default:
		parts = append(parts, st.Info.Render("● live"))
	}
	if !m.fleetMode() && m.fleet[0].fromJournal() {
		parts = append(parts, st.Muted.Render(journalNote))
	}
	if m.opts.ReadOnly {
		parts = append(parts, st.Badge.Render("read-only"))
	}
	if n := m.table.rows.waiting(); n > 0 {
		hint := " (a: answer)"
		if m.opts.ReadOnly {
			hint = ""
		}
		parts = append(parts, st.Badge.Render(fmt.Sprintf("◆ %d waiting on you%s", n, hint)))
	}
	return strings.Join(parts, st.Muted.Render(" │ "))
}

func (m *Model) statsLine() string {
	st := m.com.Styles
	rows := m.table.rows
	counts, total := m.shownCounts()
	var parts []string
	for _, s := range a2a.States() {
		if n := counts[s]; n > 0 {
			parts = append(parts, st.State(s).Render(fmt.Sprintf("%s %d %s", stateSymbol(s), n, stateName(s))))
		}
	}
	switch {
	case len(parts) == 0 && !m.fleetMode() && m.fleet[0].live.needsAuth:
		parts = append(parts, st.Muted.Render("tasks unknown: the agent refused"))
	case len(parts) == 0:
		parts = append(parts, st.Muted.Render("no tasks yet: n creates one"))
	}
	shown := fmt.Sprintf("%d/%d shown", len(rows.visible), total) + m.loadedNote()
	if m.fleetMode() {
		scope := "all agents"
		if rows.scope != allAgents {
			scope = "agent " + m.com.agentName(rows.scope)
		}
		shown = "scope: " + scope + " · " + shown
	}
	filter := rows.state.String()
	if rows.only != "" {
		filter = string(rows.only)
	}
	if rows.context != "" {
		filter += " in context " + shortID(rows.context)
	}
	sort := rows.order.String()
	if !m.allLoaded() {
		// What the store cannot answer covers the rows held only.
		held := fmt.Sprintf(" (over the %d loaded)", len(rows.byKey))
		if !rows.storeFilters() {
			filter += held
		}
		if !m.storeSorted() {
			sort += held
		}
		shown += m.position()
	}
	info := st.Muted.Render(fmt.Sprintf("  filter: %s · sort: %s · %s", filter, sort, shown))
	if rows.text != "" {
		info += st.Muted.Render(" · /" + cleanLine(rows.text, 60))
	}
	return strings.Join(parts, "  ") + info
}

// position is the header's "row N of M": the selected row's place in
// the whole listing as the table shows it, held or not.
func (m *Model) position() string {
	t := &m.table
	if t.selected() == nil {
		return ""
	}
	of := fmt.Sprint(t.beyondAbove + len(t.rows.visible) + t.beyondBelow)
	if t.beyondUnknown {
		of += "+"
	}
	return fmt.Sprintf(" · row %d of %s", t.beyondAbove+t.cursor+1, of)
}

func (m *Model) statusLine() string {
	st := m.com.Styles
	switch m.dialogs.open {
	case dialogFilter:
		return m.dialogs.filter.input.View()
	case dialogCommand:
		line := m.dialogs.command.input.View()
		if h := m.dialogs.command.hint; h != "" {
			line += st.Muted.Render("   " + h)
		}
		return line
	case dialogPickAgent:
		return m.pickLine()
	case dialogConfirmCancel:
		return st.Badge.Render(m.dialogs.cancelPrompt)
	case dialogConfirmOverwrite:
		if job := m.dialogs.save.job; job != nil {
			return st.Badge.Render(fmt.Sprintf("%s exists: overwrite? y/n", cleanLine(job.path(), 200)))
		}
	}
	if m.flash.text != "" {
		if m.flash.err {
			return st.Error.Render("✗ " + m.flash.text)
		}
		if m.flash.plain {
			return st.Muted.Render("· " + m.flash.text)
		}
		return st.Info.Render("✓ " + m.flash.text)
	}
	if text := m.table.rows.text; text != "" {
		return st.Muted.Render("filter /" + cleanLine(text, 200) + " (esc clears)")
	}
	return ""
}

// helpLine is the short help of whatever has the keys: the open dialog,
// else the focused pane.
func (m *Model) helpLine() string {
	bindings := m.dialogs.ShortHelp(m.com.Keys)
	switch {
	case bindings != nil:
	case m.focus == focusDetail && m.detailVisible():
		bindings = m.detail.ShortHelp()
	default:
		bindings = m.table.ShortHelp()
	}
	return m.help.ShortHelpView(bindings)
}

// fleetHealth is the header's summary of the fleet: how many agents are
// up, and which are not.
func (m *Model) fleetHealth() string {
	st := m.com.Styles
	up := 0
	var down, connecting []string
	for i, a := range m.fleet {
		ok, _ := a.health()
		switch {
		case !a.open() && a.openErr == nil:
			connecting = append(connecting, m.com.agentName(i))
		case ok:
			up++
		default:
			down = append(down, m.com.agentName(i))
		}
	}
	text := fmt.Sprintf("%d/%d agents up", up, len(m.fleet))
	if len(connecting) > 0 {
		text += " (connecting: " + strings.Join(connecting, ", ") + ")"
	}
	if len(down) == 0 {
		if len(connecting) > 0 {
			return st.Muted.Render("◌ " + text)
		}
		return st.Info.Render("● " + text)
	}
	return st.Error.Render(fmt.Sprintf("✗ %s (down: %s)", text, strings.Join(down, ", ")))
}
