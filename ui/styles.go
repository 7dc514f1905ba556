package ui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
)

// Styles is every style the dashboard draws with, built once per
// background (light or dark) and colour setting, and shared by the
// components.
type Styles struct {
	color bool

	Header, HeaderTarget, Muted, Bold        lipgloss.Style
	Selected, SelectedMark, TableHead        lipgloss.Style
	Badge, Error, Info, Border, FocusBorder  lipgloss.Style
	TabActive, TabInactive, Title, Key       lipgloss.Style
	JSONKey, JSONString, JSONNumber, JSONLit lipgloss.Style
	Dialog                                   lipgloss.Style
	state                                    map[a2a.TaskState]lipgloss.Style
}

// helpStyles are the help's colours: bubbles' defaults are grey on grey
// (about 2:1 against a black or white background), too faint to read;
// these keep 4.5:1 (WCAG AA) or better on both.
func helpStyles(dark bool) help.Styles {
	ld := lipgloss.LightDark(dark)
	key := lipgloss.NewStyle().Foreground(ld(lipgloss.Color("#4b32b8"), lipgloss.Color("#b9a6ff"))).Bold(true)
	desc := lipgloss.NewStyle().Foreground(ld(lipgloss.Color("#303030"), lipgloss.Color("#d0d0d0")))
	sep := lipgloss.NewStyle().Foreground(ld(lipgloss.Color("#6b6b6b"), lipgloss.Color("#8a8a8a")))
	return help.Styles{ShortKey: key, ShortDesc: desc, ShortSeparator: sep, Ellipsis: sep, FullKey: key, FullDesc: desc, FullSeparator: sep}
}

// NewStyles returns the styles for a dark or light background; with
// useColor false (NO_COLOR) only bold, reverse and underline remain, and the
// screen stays readable because every state also has a symbol and a name.
func NewStyles(dark, useColor bool) Styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, darkC string) color.Color {
		if !useColor {
			return nil
		}
		return ld(lipgloss.Color(light), lipgloss.Color(darkC))
	}
	fg := func(col color.Color) lipgloss.Style {
		s := lipgloss.NewStyle()
		if col != nil {
			s = s.Foreground(col)
		}
		return s
	}
	muted := c("#6b6b6b", "#8a8a8a")
	accent := c("#5a3fd6", "#a48bff")
	s := Styles{color: useColor}
	s.Header = fg(accent).Bold(true)
	s.HeaderTarget = fg(c("#303030", "#d0d0d0"))
	s.Muted = fg(muted)
	s.Bold = lipgloss.NewStyle().Bold(true)
	s.Selected = lipgloss.NewStyle().Reverse(true)
	s.SelectedMark = fg(accent).Bold(true)
	s.TableHead = fg(muted).Bold(true)
	s.Badge = fg(c("#b35c00", "#ffb454")).Bold(true)
	s.Error = fg(c("#c0182b", "#ff6b78")).Bold(true)
	s.Info = fg(c("#1d7a36", "#7bd88f"))
	s.Border = lipgloss.NewStyle().Border(lipgloss.NormalBorder())
	s.FocusBorder = s.Border
	if useColor {
		s.Border = s.Border.BorderForeground(muted)
		s.FocusBorder = s.FocusBorder.BorderForeground(accent)
	} else {
		s.FocusBorder = lipgloss.NewStyle().Border(lipgloss.ThickBorder())
	}
	s.TabActive = fg(accent).Bold(true).Underline(true)
	s.TabInactive = fg(muted)
	s.Title = fg(accent).Bold(true)
	s.Key = fg(accent)
	s.JSONKey = fg(c("#1f5fbf", "#79b8ff"))
	s.JSONString = fg(c("#1d7a36", "#9ece6a"))
	s.JSONNumber = fg(c("#b35c00", "#ff9e64"))
	s.JSONLit = fg(c("#8a2be2", "#bb9af7"))
	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	if useColor {
		s.Dialog = s.Dialog.BorderForeground(accent)
	}
	s.state = map[a2a.TaskState]lipgloss.Style{
		a2a.StateSubmitted:     fg(c("#5f5f87", "#9aa5ce")),
		a2a.StateWorking:       fg(c("#1f5fbf", "#7aa2f7")),
		a2a.StateInputRequired: fg(c("#b35c00", "#ffb454")).Bold(true),
		a2a.StateAuthRequired:  fg(c("#b35c00", "#ffb454")).Bold(true),
		a2a.StateCompleted:     fg(c("#1d7a36", "#7bd88f")),
		a2a.StateFailed:        fg(c("#c0182b", "#ff6b78")).Bold(true),
		a2a.StateCanceled:      fg(muted),
		a2a.StateRejected:      fg(c("#c0182b", "#ff6b78")),
		a2a.StateUnknown:       fg(muted),
	}
	return s
}

// State is the style of a state's symbol and name.
func (s Styles) State(st a2a.TaskState) lipgloss.Style {
	if v, ok := s.state[st]; ok {
		return v
	}
	return s.Muted
}

// stateSymbol is the one-cell symbol of a state, readable without colour.
// Working tasks show a spinner frame instead.
func stateSymbol(st a2a.TaskState) string {
	switch st {
	case a2a.StateSubmitted:
		return "○"
	case a2a.StateWorking:
		return "●"
	case a2a.StateInputRequired:
		return "?"
	case a2a.StateAuthRequired:
		return "!"
	case a2a.StateCompleted:
		return "✓"
	case a2a.StateFailed:
		return "✗"
	case a2a.StateCanceled:
		return "⊘"
	case a2a.StateRejected:
		return "⊗"
	}
	return "-"
}

// stateName is the short name shown in the table.
func stateName(st a2a.TaskState) string {
	switch st {
	case a2a.StateInputRequired:
		return "INPUT"
	case a2a.StateAuthRequired:
		return "AUTH"
	case a2a.StateCompleted:
		return "done"
	case "":
		return "unknown"
	}
	return string(st)
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
