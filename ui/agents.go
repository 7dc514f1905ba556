package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// agentsView is the fleet's agents view (A or :agents): one block per
// agent with its card summary, target, health, counts per state, last
// event, errors and pulse; enter scopes the table to the agent under the
// cursor. It also holds which agent the card view (i) shows and the agent
// picker's cursor (n with the scope on every agent).
type agentsView struct {
	cursor int
	card   int // the agent whose card dialogAgent shows
	pick   int // the agent picker's choice
}

// focusedAgent is the agent the user looks at: the selected row's, else
// the scope's, else the first.
func (m *Model) focusedAgent() int {
	if r := m.table.selected(); r != nil {
		return r.agent
	}
	if s := m.table.rows.scope; s != allAgents {
		return s
	}
	return 0
}

func (m *Model) openAgentsView() tea.Cmd {
	m.dialogs.open = dialogAgents
	m.agentsView.cursor = max(0, min(m.focusedAgent(), len(m.fleet)-1))
	return nil
}

// scopeTo shows only agent i's rows, or every agent's with allAgents.
func (m *Model) scopeTo(i int) tea.Cmd {
	if i != allAgents && m.agentAt(i) == nil {
		return m.setFlash(fmt.Sprintf("no agent %d: the fleet has %d (A lists them)", i+1, len(m.fleet)), true)
	}
	m.table.rows.scope = i
	cmd := m.refilter()
	if i == allAgents {
		return tea.Batch(cmd, m.setFlash("showing every agent", false))
	}
	return tea.Batch(cmd, m.setFlash("showing agent "+m.com.agentName(i)+" only (:agent all or 0 shows every agent)", false))
}

// agentIndex finds an agent by name (exact, else a unique prefix).
func (m *Model) agentIndex(name string) (int, bool) {
	found := -1
	for i, l := range m.com.Agents {
		if l.name == name {
			return i, true
		}
		if strings.HasPrefix(l.name, name) {
			if found >= 0 {
				return -1, false
			}
			found = i
		}
	}
	return found, found >= 0
}

func (m *Model) keyAgents(msg tea.KeyPressMsg) tea.Cmd {
	k := m.com.Keys
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Back, k.Agents):
		m.dialogs.open = dialogNone
	case key.Matches(msg, k.Up):
		m.agentsView.cursor = max(m.agentsView.cursor-1, 0)
	case key.Matches(msg, k.Down):
		m.agentsView.cursor = min(m.agentsView.cursor+1, len(m.fleet)-1)
	case key.Matches(msg, k.Open):
		m.dialogs.open = dialogNone
		return m.scopeTo(m.agentsView.cursor)
	case key.Matches(msg, k.Scope):
		m.dialogs.open = dialogNone
		return m.scopeTo(int(msg.String()[0]) - '1') // "0" is allAgents
	case key.Matches(msg, k.Agent):
		m.agentsView.card = m.agentsView.cursor
		m.dialogs.open = dialogAgent
		if a := m.fleet[m.agentsView.cursor]; a.info.card == nil && a.open() {
			return a.calls.card()
		}
	}
	return nil
}

// agentsBody draws the agents view: three lines per agent.
func (m *Model) agentsBody(w, h int) string {
	st := m.com.Styles
	lines := []string{st.Title.Render("Agents") + st.Muted.Render("  (enter scopes to one · 0 or :agent all shows every agent · i card · esc back)"), ""}
	now := m.com.Now
	for i, a := range m.fleet {
		mark := "  "
		if i == m.agentsView.cursor {
			mark = st.SelectedMark.Render("› ")
		}
		ok, health := a.health()
		hs := st.Info.Render("● " + health)
		switch {
		case !a.open() && a.openErr == nil:
			hs = st.Muted.Render("◌ " + health)
		case !ok:
			hs = st.Error.Render("✗ " + health)
		}
		num := "  "
		if i < 9 {
			num = fmt.Sprintf("%d ", i+1)
		}
		scope := ""
		if m.table.rows.scope == i {
			scope = st.Badge.Render(" (scope)")
		}
		ro := ""
		if a.readOnly {
			ro = st.Muted.Render(" read-only")
		}
		lines = append(lines, mark+st.Muted.Render(num)+m.com.agentLabel(i, len([]rune(m.com.agentName(i))))+scope+ro+"  "+hs+"  "+st.Muted.Render(cleanLine(a.target, 200)))

		card := st.Muted.Render("card loading…")
		switch {
		case a.info.card != nil:
			card = cleanLine(a.info.card.Name, 60)
			if d := cleanLine(a.info.card.Description, 50); d != "" {
				card += st.Muted.Render(" — " + d)
			}
			card += st.Muted.Render(fmt.Sprintf(" · %d skills", len(a.info.card.Skills)))
		case a.info.err != nil:
			card = st.Error.Render("card: " + cleanLine(a.info.err.Error(), 80))
		case !a.open():
			card = st.Muted.Render("not connected")
		}
		var counts []string
		for _, s := range a2a.States() {
			if n := m.table.rows.agentCounts[i][s]; n > 0 {
				counts = append(counts, st.State(s).Render(fmt.Sprintf("%s %d", stateSymbol(s), n)))
			}
		}
		if len(counts) == 0 {
			counts = append(counts, st.Muted.Render("no tasks"))
		}
		last := "no event yet"
		if !a.lastEvent.IsZero() {
			last = "last event " + age(now, a.lastEvent) + " ago"
		}
		// Counts, last event and errors first: the card's words are the
		// part that may be cut.
		info := "    " + strings.Join(counts, " ") + st.Muted.Render(" │ "+last)
		if a.live.listErr != nil {
			info += st.Muted.Render(" │ ") + st.Error.Render("list: "+cleanLine(a.live.listErr.Error(), 80))
		}
		info += st.Muted.Render(" │ ") + card
		lines = append(lines, info)
		lines = append(lines, "    "+st.Muted.Render("started ")+st.Info.Render(sparkline(a.pulse.series(now, false)))+st.Muted.Render("  failed ")+st.Error.Render(sparkline(a.pulse.series(now, true)))+st.Muted.Render("  per minute, last 30"))
	}
	// Keep the cursor's block on screen.
	first := 2 + m.agentsView.cursor*3
	if first+3 > h && h > 5 {
		skip := first + 3 - h
		lines = append(lines[:2], lines[2+skip:]...)
	}
	return strings.Join(lines, "\n")
}

// openNew opens the compose box for a new task: on the scoped agent, on
// the only one, or, with the scope on every agent, after asking which
// (the last used first).
func (m *Model) openNew() tea.Cmd {
	switch {
	case !m.fleetMode():
		m.lastNew = 0
	case m.table.rows.scope != allAgents:
		m.lastNew = m.table.rows.scope
	default:
		m.agentsView.pick = m.lastNew
		m.dialogs.open = dialogPickAgent
		return nil
	}
	return m.composeOn(m.lastNew)
}

func (m *Model) composeOn(i int) tea.Cmd {
	if _, refuse := m.agentForAction(i, "new task"); refuse != nil {
		return refuse
	}
	m.lastNew = i
	m.dialogs.open = dialogCompose
	cmd := m.dialogs.compose.open("")
	if m.fleetMode() {
		return tea.Batch(cmd, m.setFlash("new task on "+m.com.agentName(i), false))
	}
	return cmd
}

// replyOn composes a message in r's conversation (c), sent to r's agent.
func (m *Model) replyOn(r *row) tea.Cmd {
	if _, refuse := m.agentForAction(r.agent, "message"); refuse != nil {
		return refuse
	}
	m.lastNew = r.agent
	m.dialogs.open = dialogCompose
	return m.dialogs.compose.open(r.contextID)
}

func (m *Model) keyPickAgent(msg tea.KeyPressMsg) tea.Cmd {
	k := m.com.Keys
	switch s := msg.String(); {
	case key.Matches(msg, k.Close):
		m.dialogs.open = dialogNone
	case s == "left" || s == "h" || s == "shift+tab" || key.Matches(msg, k.Up):
		m.agentsView.pick = (m.agentsView.pick + len(m.fleet) - 1) % len(m.fleet)
	case s == "right" || s == "l" || s == "tab" || key.Matches(msg, k.Down):
		m.agentsView.pick = (m.agentsView.pick + 1) % len(m.fleet)
	case key.Matches(msg, k.Scope):
		if i := int(s[0]) - '1'; i >= 0 && i < len(m.fleet) {
			m.dialogs.open = dialogNone
			return m.composeOn(i)
		}
	case s == "enter":
		m.dialogs.open = dialogNone
		return m.composeOn(m.agentsView.pick)
	}
	return nil
}

// pickLine is the agent picker on the status line.
func (m *Model) pickLine() string {
	st := m.com.Styles
	parts := []string{st.Badge.Render("new task on:")}
	for i := range m.fleet {
		name := fmt.Sprintf("%d %s", i+1, m.com.agentName(i))
		if i >= 9 {
			name = m.com.agentName(i)
		}
		if i == m.agentsView.pick {
			name = st.Selected.Render(name)
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, " ") + st.Muted.Render("  (←/→, enter, esc)")
}
