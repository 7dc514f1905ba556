package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// The `:` command line, as in k9s and vim: a small registry of commands,
// each with its own handler and completions. Adding a command is one
// register call (see defaultCommands); nothing else needs to change.

// command is one `:` command.
type command struct {
	name    string   // typed after the colon
	aliases []string // other names, e.g. "quit" for "q"
	usage   string   // for help: "state all|active|…"
	help    string
	// args lists the words the argument can be, for completion; nil
	// when the argument is free text (or there is none).
	args func(m *Model) []string
	// run does the command; args are the words after its name.
	run func(m *Model, args []string) tea.Cmd
}

// commandSet is the registry of `:` commands, in the order registered
// (the order help lists them).
type commandSet struct {
	order  []*command
	byName map[string]*command
}

func newCommandSet() *commandSet { return &commandSet{byName: map[string]*command{}} }

// register adds c; a later command with the same name replaces the
// earlier one (so a component can refine a default).
func (s *commandSet) register(c command) {
	cp := &c
	if old, ok := s.byName[c.name]; ok {
		s.order[slices.Index(s.order, old)] = cp
	} else {
		s.order = append(s.order, cp)
	}
	s.byName[c.name] = cp
	for _, a := range c.aliases {
		s.byName[a] = cp
	}
}

func (s *commandSet) list() []*command { return s.order }

// lookup finds a command by name, alias or unique prefix of a name.
func (s *commandSet) lookup(name string) (*command, error) {
	if c, ok := s.byName[name]; ok {
		return c, nil
	}
	names := s.complete(name)
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("no command %q (:help lists them)", name)
	case 1:
		return s.byName[names[0]], nil
	}
	return nil, fmt.Errorf("%q could be %s", name, strings.Join(names, ", "))
}

// complete lists the command names that start with prefix.
func (s *commandSet) complete(prefix string) []string {
	var out []string
	for _, c := range s.order {
		if strings.HasPrefix(c.name, prefix) {
			out = append(out, c.name)
		}
	}
	return out
}

// defaultCommands registers the dashboard's own commands.
func defaultCommands(s *commandSet) {
	s.register(command{name: "state", usage: "state all|active|waiting|failed|done|STATE",
		help: "show tasks in a state (f cycles the same filters)",
		args: func(*Model) []string { return stateFilterWords() },
		run: func(m *Model, args []string) tea.Cmd {
			if len(args) != 1 {
				return m.setFlash("usage: :state "+strings.Join(stateFilterWords(), "|"), true)
			}
			if f, ok := parseStateFilter(args[0]); ok {
				m.table.rows.state, m.table.rows.only = f, ""
				return m.refilter()
			}
			st := a2a.ParseState(args[0])
			if st == a2a.StateUnknown {
				return m.setFlash(fmt.Sprintf(":state %s: use one of %s", cleanLine(args[0], 40), strings.Join(stateFilterWords(), ", ")), true)
			}
			m.table.rows.state, m.table.rows.only = filterAll, st
			return m.refilter()
		}})
	s.register(command{name: "sort", usage: "sort updated|created|state|id|message [reverse]",
		help: "sort the table (I S A U M sort by column; again reverses)",
		args: func(*Model) []string {
			var out []string
			for o := range numSortOrders {
				out = append(out, o.String())
			}
			return append(out, "reverse")
		},
		run: func(m *Model, args []string) tea.Cmd {
			if len(args) == 0 || len(args) > 2 {
				return m.setFlash("usage: :sort updated|created|state|id|message [reverse]", true)
			}
			o, ok := parseSortOrder(args[0])
			if !ok {
				return m.setFlash(fmt.Sprintf(":sort %s: use updated, created, state, id or message", cleanLine(args[0], 40)), true)
			}
			m.table.rows.order = sorting{order: o, reverse: len(args) == 2 && strings.HasPrefix("reverse", args[1])}
			return m.refilter()
		}})
	s.register(command{name: "ctx", aliases: []string{"context"}, usage: "ctx [ID|all]",
		help: "show only one conversation: the selected task's, or ID; all shows every task",
		args: func(m *Model) []string {
			out := []string{"all"}
			if r := m.table.selected(); r != nil && r.contextID != "" {
				out = append(out, r.contextID)
			}
			return out
		},
		run: func(m *Model, args []string) tea.Cmd {
			switch {
			case len(args) == 0:
				r := m.table.selected()
				if r == nil || r.contextID == "" {
					return m.setFlash(":ctx: select a task with a context, or give its ID", true)
				}
				m.table.rows.context = r.contextID
			case args[0] == "all" || args[0] == "-":
				m.table.rows.context = ""
			default:
				m.table.rows.context = args[0]
			}
			return m.refilter()
		}})
	s.register(command{name: "filter", usage: "filter TEXT", help: "filter by id, message, status text or metadata (as /)",
		run: func(m *Model, args []string) tea.Cmd {
			text := strings.Join(args, " ")
			m.dialogs.filter.input.SetValue(text)
			return m.setFilterText(text)
		}})
	s.register(command{name: "describe", usage: "describe", help: "the selected task as YAML or JSON (d)",
		run: func(m *Model, _ []string) tea.Cmd { return m.openDescribe() }})
	s.register(command{name: "help", usage: "help", help: "keys and commands (?)",
		run: func(m *Model, _ []string) tea.Cmd { return m.openFull(dialogHelp) }})
	s.register(command{name: "q", aliases: []string{"quit"}, usage: "q", help: "quit (warns first while local tasks run)",
		run: func(m *Model, _ []string) tea.Cmd { return m.quit() }})
	s.register(command{name: "q!", usage: "q!", help: "quit without the warning",
		run: func(m *Model, _ []string) tea.Cmd { return m.quitNow() }})
}

// commandDialog is the `:` line: the input and what completion found.
type commandDialog struct {
	input textinput.Model
	hint  string // candidates, or why the last command failed
}

func newCommandDialog() commandDialog {
	in := textinput.New()
	in.Prompt = ":"
	in.Placeholder = "command (tab completes; :help lists them)"
	return commandDialog{input: in}
}

// complete completes the word under the cursor (the command's name, or
// its argument) as a shell does: the whole word when one candidate
// fits, else the longest common prefix, with the candidates as a hint.
func (d *commandDialog) complete(m *Model) {
	value := d.input.Value()
	fields := strings.Fields(value)
	var candidates []string
	word := ""
	switch {
	case len(fields) == 0 || (len(fields) == 1 && !strings.HasSuffix(value, " ")):
		if len(fields) == 1 {
			word = fields[0]
		}
		candidates = m.commands.complete(word)
	default:
		c, err := m.commands.lookup(fields[0])
		if err != nil || c.args == nil {
			d.hint = ""
			return
		}
		if !strings.HasSuffix(value, " ") {
			word = fields[len(fields)-1]
		}
		for _, a := range c.args(m) {
			if strings.HasPrefix(a, word) {
				candidates = append(candidates, a)
			}
		}
	}
	base := strings.TrimSuffix(value, word)
	switch len(candidates) {
	case 0:
		d.hint = "no completion"
		return
	case 1:
		d.input.SetValue(base + candidates[0] + " ")
		d.hint = ""
	default:
		d.input.SetValue(base + commonPrefix(candidates))
		d.hint = strings.Join(candidates, "  ")
	}
	d.input.CursorEnd()
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// openCommand opens the `:` line.
func (m *Model) openCommand() tea.Cmd {
	m.dialogs.open = dialogCommand
	d := &m.dialogs.command
	d.input.SetValue("")
	d.hint = ""
	return d.input.Focus()
}

func (m *Model) keyCommand(msg tea.KeyPressMsg) tea.Cmd {
	d := &m.dialogs.command
	switch msg.String() {
	case "esc":
		d.input.Blur()
		m.dialogs.open = dialogNone
		return nil
	case "tab":
		d.complete(m)
		return nil
	case "enter":
		fields := strings.Fields(d.input.Value())
		d.input.Blur()
		m.dialogs.open = dialogNone
		if len(fields) == 0 {
			return nil
		}
		c, err := m.commands.lookup(fields[0])
		if err != nil {
			return m.setFlash(err.Error(), true)
		}
		return c.run(m, fields[1:])
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	d.hint = ""
	return cmd
}

// fleetCommands registers the fleet's commands, as NewFleet does when the
// dashboard watches several agents (with one there is nothing to scope):
// scope the table to one agent (as k9s scopes to a namespace) or back to
// all, and open the agents view.
func fleetCommands(s *commandSet) {
	s.register(command{name: "agent", aliases: []string{"ag"}, usage: "agent NAME|all",
		help: "show only one agent's tasks (1-9 too); all shows every agent (0)",
		args: func(m *Model) []string {
			out := []string{"all"}
			for _, a := range m.com.Agents {
				out = append(out, a.name)
			}
			return out
		},
		run: func(m *Model, args []string) tea.Cmd {
			if len(args) != 1 {
				return m.setFlash("usage: :agent NAME or :agent all", true)
			}
			if args[0] == "all" {
				return m.scopeTo(allAgents)
			}
			i, ok := m.agentIndex(args[0])
			if !ok {
				return m.setFlash("no agent "+cleanLine(args[0], 40)+" (A lists them)", true)
			}
			return m.scopeTo(i)
		}})
	s.register(command{name: "agents", usage: "agents", help: "the agents view: each agent's health and counts (A)",
		run: func(m *Model, _ []string) tea.Cmd { return m.openAgentsView() }})
}
