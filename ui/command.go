package ui

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// commandLine is a minimal ":" command line for the fleet: ":agent NAME"
// scopes the table to one agent, ":agent all" shows every agent, and
// ":agents" opens the agents view. (A fuller command mode with completion
// may replace the line; the fleet owns the agent commands.)
type commandLine struct {
	input textinput.Model
	ready bool
}

func (m *Model) openCommand() tea.Cmd {
	c := &m.command
	if !c.ready {
		c.input = textinput.New()
		c.input.Prompt = ":"
		c.input.Placeholder = "agent NAME | agent all | agents"
		c.input.CharLimit = 200
		c.ready = true
	}
	c.input.SetValue("")
	m.dialogs.open = dialogCommand
	return c.input.Focus()
}

func (m *Model) keyCommand(msg tea.KeyPressMsg) tea.Cmd {
	c := &m.command
	switch msg.String() {
	case "esc":
		c.input.Blur()
		m.dialogs.open = dialogNone
		return nil
	case "enter":
		c.input.Blur()
		m.dialogs.open = dialogNone
		return m.runCommand(c.input.Value())
	}
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(msg)
	return cmd
}

// runCommand runs one command line.
func (m *Model) runCommand(line string) tea.Cmd {
	words := strings.Fields(line)
	if len(words) == 0 {
		return nil
	}
	switch words[0] {
	case "agent", "ag":
		if len(words) != 2 {
			return m.setFlash("usage: :agent NAME or :agent all", true)
		}
		if words[1] == "all" {
			return m.scopeTo(allAgents)
		}
		i, ok := m.agentIndex(words[1])
		if !ok {
			return m.setFlash("no agent "+cleanLine(words[1], 40)+" (A lists them)", true)
		}
		return m.scopeTo(i)
	case "agents":
		return m.openAgentsView()
	}
	return m.setFlash("unknown command :"+cleanLine(words[0], 40)+" (try :agent NAME, :agent all, :agents)", true)
}
