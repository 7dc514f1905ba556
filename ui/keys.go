package ui

import "charm.land/bubbles/v2/key"

// KeyMap is the dashboard's one keymap: every key the dashboard handles is
// here, and both help views are generated from it. Components own groups
// of it (table, detail, dialogs) but there is no second source of keys.
type KeyMap struct {
	// Table navigation.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// Detail pane.
	Open, Back, NextTab, PrevTab, Layout key.Binding
	PrevArtifact, NextArtifact           key.Binding
	Save, Copy                           key.Binding
	// Actions on tasks.
	Answer, Cancel, New, Reply, Mark key.Binding
	// Finding tasks.
	Filter, StateFilter, Sort, Reload key.Binding
	// Column sorts: again on the same column reverses.
	SortID, SortState, SortAge, SortUpdated, SortMessage key.Binding
	// Views.
	Agent, Help, Quit, Command, Describe key.Binding
	// The fleet: the agents view and scope by number. Enabled only when
	// the dashboard watches several agents.
	Agents, Scope key.Binding
	// Dialogs.
	Submit, SubmitSave, SubmitFilter, Newline, Close, Confirm, Deny, NextField, Complete key.Binding
}

// DefaultKeyMap returns the dashboard's keys. With readOnly the keys that
// change tasks (answer, cancel, new) are disabled, so they neither act nor
// show in help.
func DefaultKeyMap(readOnly bool) KeyMap {
	k := KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),

		Open:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:         key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		NextTab:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next tab")),
		PrevTab:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev tab")),
		Layout:       key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "pane side/below/off")),
		PrevArtifact: key.NewBinding(key.WithKeys("["), key.WithHelp("[", "prev artifact")),
		NextArtifact: key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next artifact")),
		Save:         key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "save artifact")),
		Copy:         key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy (task id / artifact / describe)")),

		Answer: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "answer")),
		Cancel: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel task")),
		New:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new task")),
		Mark:   key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark (x cancels marked)")),
		Reply:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "message in its context")),

		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		StateFilter: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "state filter")),
		Sort:        key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort")),
		Reload:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		SortID:      key.NewBinding(key.WithKeys("I"), key.WithHelp("I", "sort by id")),
		SortState:   key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "sort by state")),
		SortAge:     key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "sort by age")),
		SortUpdated: key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "sort by updated")),
		SortMessage: key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "sort by message (again: reverse)")),

		Agent:    key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "agent card")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Command:  key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command (:state :sort :ctx :q)")),
		Describe: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "describe task (YAML/JSON)")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Agents: key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "agents")),
		Scope:  key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9/0", "one agent/all")),

		Submit:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		SubmitSave:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		SubmitFilter: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		Newline:      key.NewBinding(key.WithKeys("ctrl+j", "alt+enter"), key.WithHelp("ctrl+j", "new line")),
		Close:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
		Confirm:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		Deny:         key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
		Complete:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		NextField:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "fields: text·data·options")),
	}
	// The fleet's keys wait for a second agent (NewFleet).
	k.Agents.SetEnabled(false)
	k.Scope.SetEnabled(false)
	if readOnly {
		k.Answer.SetEnabled(false)
		k.Cancel.SetEnabled(false)
		k.New.SetEnabled(false)
		k.Reply.SetEnabled(false)
	}
	return k
}

// tableHelp is the short help while the task table has focus.
func (k KeyMap) tableHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Answer, k.New, k.Cancel, k.Filter, k.Command, k.Help, k.Quit}
}

// detailHelp is the short help while the detail pane has focus.
func (k KeyMap) detailHelp() []key.Binding {
	return []key.Binding{k.Back, k.NextTab, k.Up, k.Down, k.NextArtifact, k.Save, k.Copy, k.Answer, k.Help, k.Quit}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return k.tableHelp() }

// FullHelp implements help.KeyMap: every key, grouped by purpose.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Open, k.Back, k.NextTab, k.PrevTab, k.Layout},
		{k.PrevArtifact, k.NextArtifact, k.Save, k.Copy},
		{k.Answer, k.Cancel, k.Mark, k.New, k.Reply, k.Reload},
		{k.Filter, k.StateFilter, k.Sort, k.Command, k.Describe, k.Agent, k.Agents, k.Scope, k.Help, k.Quit},
		{k.SortID, k.SortState, k.SortAge, k.SortUpdated, k.SortMessage},
		{k.Submit, k.Newline, k.NextField, k.Close},
	}
}
