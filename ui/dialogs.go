package ui

import (
	"fmt"
	"strings"

	"github.com/a2atop/a2atop/a2a"
)

// dialogView draws the open dialog box above the status line.
func (m *Model) dialogView() string {
	st := m.styles
	w := m.width
	var content string
	switch m.dialog {
	case dialogAnswer:
		r := m.answerFor
		title, question := "Answer", ""
		if r != nil {
			verb := "Answer"
			if r.state == a2a.StateAuthRequired {
				verb = "Authenticate"
			}
			title = fmt.Sprintf("%s task %s", verb, shortID(r.id))
			question = r.text
		}
		content = st.Title.Render(cut(title, w-4)) + "\n" + st.Badge.Render(cut(question, w-4)) + "\n" + m.answerBox.View()
	case dialogCompose:
		content = st.Title.Render("New task") + st.Muted.Render(" (enter sends · ctrl+j new line · tab metadata)") + "\n" + m.composeBox.View() + "\n" + m.composeMeta.View()
	case dialogSave:
		name := ""
		if m.pendingSave != nil {
			name = m.pendingSave.name
		}
		content = st.Title.Render(cut("Save artifact as "+name, w-4)) + "\n" + m.saveInput.View()
	default:
		return ""
	}
	return st.Dialog.Width(w).Render(content)
}

// agentView draws the agent card: who the agent is, where it listens,
// what it can do.
func (m *Model) agentView(h int) string {
	st := m.styles
	w := m.width
	if m.card == nil {
		if m.cardErr != nil {
			return st.Error.Render(cut("✗ agent card: "+cleanLine(m.cardErr.Error(), 500), w))
		}
		return st.Muted.Render("loading the agent card…")
	}
	c := m.card
	var lines []string
	add := func(s string) { lines = append(lines, wrapLines(s, w)...) }
	add(st.Title.Render(cleanLine(c.Name, 200)) + st.Muted.Render("  "+cleanLine(c.Version, 50)))
	if c.Description != "" {
		add(cleanLine(c.Description, 2000))
	}
	if c.Provider != nil {
		add(st.Muted.Render("provider ") + cleanLine(c.Provider.Organization, 200) + " " + cleanLine(c.Provider.URL, 500))
	}
	for _, in := range c.AllInterfaces() {
		add(st.Muted.Render("endpoint ") + cleanLine(in.URL, 500) + st.Muted.Render(fmt.Sprintf(" (%s, v%s)", cleanLine(in.ProtocolBinding, 40), cleanLine(in.ProtocolVersion, 20))))
	}
	caps := []string{}
	yes := func(b bool, name string) {
		mark := "✗"
		if b {
			mark = "✓"
		}
		caps = append(caps, mark+" "+name)
	}
	yes(c.Capabilities.Streaming, "streaming")
	yes(c.Capabilities.PushNotifications, "push notifications")
	yes(c.Capabilities.StateTransitionHistory, "state history")
	yes(c.SupportsExtendedCard, "extended card")
	add(st.Muted.Render("capabilities ") + strings.Join(caps, "  "))
	for _, e := range c.Capabilities.Extensions {
		add(st.Muted.Render("extension ") + cleanLine(e.URI, 500))
	}
	if len(c.DefaultInputModes)+len(c.DefaultOutputModes) > 0 {
		add(st.Muted.Render("modes in ") + cleanLine(strings.Join(c.DefaultInputModes, ", "), 300) + st.Muted.Render("  out ") + cleanLine(strings.Join(c.DefaultOutputModes, ", "), 300))
	}
	lines = append(lines, "", st.Title.Render(fmt.Sprintf("Skills (%d)", len(c.Skills))))
	for _, s := range c.Skills {
		add(st.Key.Render("• "+cleanLine(s.Name, 200)) + " " + cleanLine(s.Description, 1000))
		if len(s.Examples) > 0 {
			add(st.Muted.Render("    e.g. " + cleanLine(strings.Join(s.Examples, " | "), 500)))
		}
	}
	if len(lines) > h {
		lines = append(lines[:h-1], st.Muted.Render("…"))
	}
	return strings.Join(lines, "\n")
}
