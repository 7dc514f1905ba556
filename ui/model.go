// Package ui is a2atop's dashboard: a Bubble Tea v2 program over any
// a2a.Service. The root Model routes messages and is the only one to return
// a tea.View; its components (the task table, the detail pane, the dialogs)
// are plain structs that share one Common (styles, keys, clock), get their
// size with SetSize and draw strings with View. Live data enters only as
// messages (see pump.go), and every service call runs in a tea.Cmd that
// reports back with a message.
package ui

import (
	"context"
	"errors"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
)

// Options configure the dashboard.
type Options struct {
	// Target is what the header says the dashboard is looking at, e.g.
	// "local · ~/.local/share/a2atop/tasks.db" or "Agent · https://… · v1.0".
	Target string
	// ReadOnly hides answer, cancel and new task.
	ReadOnly bool
	// NoMouse turns mouse reporting off.
	NoMouse bool
	// NoColor draws without colour (NO_COLOR).
	NoColor bool
	// Now is the clock (default time.Now); tests fix it.
	Now func() time.Time
	// Conn, when set, delivers the remote client's connection state.
	Conn <-chan ConnState
	// SaveDir is the folder the save dialog proposes (default ".").
	SaveDir string
	// LocalEngine says the tasks run in this process's engine: quitting
	// with tasks running stops them, so q warns first.
	LocalEngine bool
}

// ConnState is the connection state the header shows, for services that
// reach their agent over a network.
type ConnState struct {
	// Text reads like "connected" or "reconnecting in 2s".
	Text string
	// OK is false while the agent cannot be reached.
	OK bool
	// Warning, when set, is a warning about the agent to flash (e.g.
	// credentials over plain http), which would be hidden behind the
	// screen on stderr; a state with a warning leaves Text and OK as they
	// were.
	Warning string
}

type focusArea int

const (
	focusTable focusArea = iota
	focusDetail
)

// layoutMode says where the detail pane goes.
type layoutMode int

const (
	layoutAuto  layoutMode = iota // side when wide, below otherwise
	layoutSide                    // always beside the table
	layoutBelow                   // always below the table
	layoutOff                     // hidden
	numLayouts
)

// Model is the dashboard's root model. It owns the components (the task
// table, the detail pane, the dialogs), routes messages to them by family,
// makes the service calls, and is the only one to return a tea.View.
type Model struct {
	// fleet is every agent the dashboard watches, in the order given;
	// a single-target dashboard is a fleet of one.
	fleet []*fleetAgent
	opts  Options
	com   *Common // shared with every component
	help  help.Model
	dark  bool

	width, height int
	tickGen       int

	table   taskTable
	detail  detailPane
	dialogs dialogs
	focus   focusArea
	layout  layoutMode

	// lastNew is the agent the last new task went to, the default when n
	// asks which agent; agentsView holds the agents view's and the agent
	// picker's cursors; commands are the ":" line's commands.
	lastNew     int
	agentsView  agentsView
	commands    *commandSet
	quitArmed   bool // q was pressed once with local tasks running
	flash       flash
	termFocused bool // false only after the terminal reported a blur
	detailGen   int
	quitting    bool

	// after schedules a message (tea.Tick); tests replace it to fire
	// timers by hand.
	after func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// liveState is the health of the dashboard's live data, for the header.
type liveState struct {
	conn       *ConnState
	watchErr   error
	watchRetry time.Duration
	listErr    error // the last List failure, for the agents view
	watchPause bool  // Watch waits for r (see watchStateMsg.paused)
	// needsAuth: the agent refused for want of credentials; the header
	// says how to give them, once, instead of a retry loop's errors.
	needsAuth bool
}

// flash is the transient message on the status line; gen ties it to its
// expiry timer.
type flash struct {
	text  string
	err   bool
	plain bool // neither success nor error: drawn without ✓ or ✗
	gen   int
}

// New returns the dashboard over svc. ctx bounds every call the dashboard
// makes; cancel it to stop them.
func New(ctx context.Context, svc a2a.Service, opts Options) *Model {
	return NewFleet(ctx, []Agent{{Service: svc, Conn: opts.Conn, ReadOnly: opts.ReadOnly, Target: opts.Target}}, opts)
}

// NewFleet returns the dashboard over several agents. Agents given with a
// Service are open; the others are opened by their pumps (RunFleet), which
// report with agentOpenedMsg.
func NewFleet(ctx context.Context, agents []Agent, opts Options) *Model {
	if len(agents) == 0 {
		// Nothing to watch still draws a screen, saying so.
		agents = []Agent{{Name: "none", Target: "no agent given"}}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SaveDir == "" {
		opts.SaveDir = "."
	}
	com := &Common{Keys: DefaultKeyMap(opts.ReadOnly), Now: opts.Now()}
	com.Agents = newAgentLabels(agents, !opts.NoColor)
	if len(agents) > 1 {
		com.Keys.Agents.SetEnabled(true)
		com.Keys.Scope.SetEnabled(true)
		// A is the agents view in a fleet: sort by age moves to C.
		com.Keys.SortAge.SetKeys("C")
		com.Keys.SortAge.SetHelp("C", "sort by age")
	}
	fleet := make([]*fleetAgent, len(agents))
	for i, a := range agents {
		fleet[i] = &fleetAgent{index: i, readOnly: a.ReadOnly, localEngine: a.LocalEngine || (len(agents) == 1 && opts.LocalEngine), target: a.Target, calls: serviceCalls{ctx: ctx, svc: a.Service, agent: i}, wake: make(chan struct{}, 1)}
	}
	m := &Model{
		fleet:       fleet,
		opts:        opts,
		com:         com,
		dark:        true,
		table:       newTaskTable(com),
		detail:      detailPane{com: com},
		dialogs:     newDialogs(com),
		width:       80,
		height:      24,
		termFocused: true,
		help:        help.New(),
		after:       tea.Tick,
		commands:    newCommandSet(),
	}
	defaultCommands(m.commands)
	if len(agents) > 1 {
		fleetCommands(m.commands)
	}
	m.setStyles(true)
	m.setSize(m.width, m.height)
	return m
}

func (m *Model) setStyles(dark bool) {
	m.dark = dark
	m.com.Styles = NewStyles(dark, !m.opts.NoColor)
	m.help.Styles = helpStyles(dark)
	if m.opts.NoColor {
		m.help.Styles = help.Styles{ShortKey: lipgloss.NewStyle().Bold(true), FullKey: lipgloss.NewStyle().Bold(true)}
	}
	m.dialogs.setStyles(dark, !m.opts.NoColor)
	m.detail.dirty = true
}

// Init asks the terminal for its background, loads the first page of
// tasks and the agent card, and starts the clock.
func (m *Model) Init() tea.Cmd {
	m.table.loading = true
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	for _, a := range m.fleet {
		cmds = append(cmds, m.loadAgent(a))
	}
	return tea.Batch(append(cmds, m.tickCmd())...)
}

// tickMsg advances the clock (ages) and the spinner.
type tickMsg struct {
	gen int
	at  time.Time
}

func (m *Model) tickCmd() tea.Cmd {
	gen := m.tickGen
	interval := time.Second
	if m.table.rows.counts[a2a.StateWorking] > 0 || m.table.rows.counts[a2a.StateSubmitted] > 0 {
		interval = 120 * time.Millisecond
	}
	now := m.opts.Now
	return m.after(interval, func(time.Time) tea.Msg { return tickMsg{gen: gen, at: now()} })
}

// Update dispatches by message family: window and terminal reports, keys
// and mouse by focus, live data, and replies to the dashboard's own calls.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	t := &m.table
	t.beyondAbove, t.beyondBelow, t.beyondUnknown = m.unloaded()
	if l := m.sizeComponents(); l.showDetail {
		m.detail.refresh()
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return nil
	case tea.BackgroundColorMsg:
		m.setStyles(msg.IsDark())
		return nil
	case tea.FocusMsg:
		m.termFocused = true
		return nil
	case tea.BlurMsg:
		m.termFocused = false
		return nil
	case tickMsg:
		if msg.gen != m.tickGen {
			return nil
		}
		m.com.Now = msg.at
		m.com.Frame++
		return tea.Batch(m.tickCmd(), m.refreshCounts())
	case tea.KeyPressMsg:
		return m.updateKey(msg)
	case tea.PasteMsg:
		return m.updatePaste(msg)
	case tea.MouseWheelMsg:
		return m.updateWheel(msg)
	case tea.MouseClickMsg:
		return m.updateClick(msg)
	case eventsMsg:
		return m.applyEvents(msg.agent, msg.events)
	case watchStateMsg:
		if a := m.agentAt(msg.agent); a != nil {
			a.live.watchErr, a.live.watchRetry, a.live.watchPause = msg.err, msg.retryIn, msg.paused
			if errors.Is(msg.err, a2a.ErrUnauthenticated) {
				a.live.needsAuth = true
			}
		}
		return nil
	case connMsg:
		return m.onConn(msg)
	case agentOpenedMsg:
		return m.onAgentOpened(msg)
	case agentDownMsg:
		if a := m.agentAt(msg.agent); a != nil && !a.open() {
			a.openErr, a.openRetry = msg.err, msg.retryIn
		}
		return nil
	default:
		return m.updateReply(msg)
	}
}

// onConn takes an agent's connection state, or flashes its warning.
func (m *Model) onConn(msg connMsg) tea.Cmd {
	a := m.agentAt(msg.agent)
	if a == nil {
		return nil
	}
	c := msg.state
	if c.Warning != "" {
		text := c.Warning
		if m.fleetMode() {
			text = m.com.agentName(msg.agent) + ": " + text
		}
		return m.setFlash(text, true)
	}
	c.Text = cleanLine(c.Text, 200)
	a.live.conn = &c
	return nil
}

// setSize lays the screen out again; the selection is kept.
func (m *Model) setSize(w, h int) {
	m.width, m.height = max(w, 1), max(h, 1)
	m.help.SetWidth(m.width)
	m.dialogs.SetSize(m.width, m.height)
	m.sizeComponents()
	m.table.keepCursorVisible()
	m.detail.dirty = true
}

// sizeComponents gives the table and the detail pane their place on the
// screen as it is now. The table's rows depend on the open dialog, the
// focus and whether a task is selected, so the root sizes it again before
// every cursor move, not only on a window change.
func (m *Model) sizeComponents() screenLayout {
	l := m.layoutFor()
	m.table.SetSize(l.tableWidth, l.tableRows)
	m.table.SetFocused(m.focus == focusTable && m.dialogs.open == dialogNone)
	m.detail.SetSize(l.detailW, l.detailH)
	m.detail.SetFocused(m.focus == focusDetail)
	m.detail.setRow(m.table.rows.byKey[m.detail.key])
	return l
}

func (m *Model) setFlash(text string, isErr bool) tea.Cmd {
	m.flash.text = cleanLine(text, 500)
	m.flash.err = isErr
	m.flash.plain = false
	m.flash.gen++
	gen := m.flash.gen
	d := 4 * time.Second
	if isErr {
		d = 8 * time.Second
	}
	return m.after(d, func(time.Time) tea.Msg { return flashExpiredMsg{gen: gen} })
}

// setNote flashes a neutral message: something that did not happen on
// the user's own choice is neither a success nor an error.
func (m *Model) setNote(text string) tea.Cmd {
	cmd := m.setFlash(text, false)
	m.flash.plain = true
	return cmd
}

type flashExpiredMsg struct{ gen int }
