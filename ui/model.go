// Package ui is a2atop's dashboard: a Bubble Tea v2 program over any
// a2a.Service. The root Model owns the state and is the only one to return
// a tea.View; the table, the detail pane and the dialogs are plain structs
// that draw strings. Live data enters only as messages (see pump.go), and
// every service call runs in a tea.Cmd that reports back with a message.
package ui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
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
	// MaxInitialTasks caps how many tasks the first List loads (default
	// 20,000); live events add tasks beyond it.
	MaxInitialTasks int
}

// ConnState is the connection state the header shows, for services that
// reach their agent over a network.
type ConnState struct {
	// Text reads like "connected" or "reconnecting in 2s".
	Text string
	// OK is false while the agent cannot be reached.
	OK bool
}

type focusArea int

const (
	focusTable focusArea = iota
	focusDetail
)

type dialogKind int

const (
	dialogNone dialogKind = iota
	dialogFilter
	dialogAnswer
	dialogCompose
	dialogConfirmCancel
	dialogSave
	dialogConfirmOverwrite
	dialogHelp
	dialogAgent
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

// Model is the dashboard's root model.
type Model struct {
	ctx    context.Context
	svc    a2a.Service
	opts   Options
	keys   KeyMap
	styles Styles
	dark   bool

	width, height int
	now           time.Time
	frame         int
	tickGen       int

	rows       *rowSet
	cursor     int
	offset     int
	selectedID string

	focus  focusArea
	dialog dialogKind
	layout layoutMode
	detail detailPane

	filterInput   textinput.Model
	answerBox     textarea.Model
	answerFor     *row
	composeBox    textarea.Model
	composeMeta   textinput.Model
	composeOnMeta bool
	saveInput     textinput.Model
	pendingSave   *saveJob
	help          help.Model

	card    *a2a.AgentCard
	cardErr error

	conn       *ConnState
	watchErr   error
	watchRetry time.Duration

	flash    string
	flashErr bool
	flashGen int

	termFocused bool // false only after the terminal reported a blur
	loading     bool
	loaded      int
	listGen     int
	detailGen   int
	quitting    bool

	// after schedules a message (tea.Tick); tests replace it to fire
	// timers by hand.
	after func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// New returns the dashboard over svc. ctx bounds every call the dashboard
// makes; cancel it to stop them.
func New(ctx context.Context, svc a2a.Service, opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SaveDir == "" {
		opts.SaveDir = "."
	}
	if opts.MaxInitialTasks <= 0 {
		opts.MaxInitialTasks = 20000
	}
	m := &Model{
		ctx:         ctx,
		svc:         svc,
		opts:        opts,
		keys:        DefaultKeyMap(opts.ReadOnly),
		dark:        true,
		rows:        newRowSet(),
		width:       80,
		height:      24,
		termFocused: true,
		help:        help.New(),
		after:       tea.Tick,
	}
	m.now = opts.Now()
	m.filterInput = textinput.New()
	m.filterInput.Prompt = "/"
	m.filterInput.Placeholder = "filter by id, status text, metadata"
	m.saveInput = textinput.New()
	m.saveInput.Prompt = "save to folder: "
	m.composeMeta = textinput.New()
	m.composeMeta.Prompt = "metadata: "
	m.composeMeta.Placeholder = "k=v k2=v2 (optional)"
	m.answerBox = newTextArea("type the answer")
	m.composeBox = newTextArea("message to the agent, e.g. `slow 5`")
	m.setStyles(true)
	m.setSize(m.width, m.height)
	return m
}

func newTextArea(placeholder string) textarea.Model {
	ta := textarea.New()
	ta.Placeholder = placeholder
	ta.ShowLineNumbers = false
	ta.Prompt = "│ "
	ta.SetHeight(3)
	// enter sends; ctrl+j or alt+enter starts a new line.
	ta.KeyMap.InsertNewline.SetKeys("ctrl+j", "alt+enter")
	ta.CharLimit = 64 << 10
	return ta
}

func (m *Model) setStyles(dark bool) {
	m.dark = dark
	m.styles = NewStyles(dark, !m.opts.NoColor)
	m.help.Styles = help.DefaultStyles(dark)
	if m.opts.NoColor {
		m.help.Styles = help.Styles{ShortKey: lipgloss.NewStyle().Bold(true), FullKey: lipgloss.NewStyle().Bold(true)}
	}
	// A steady cursor: no blink timer running under every dialog.
	ta := textarea.DefaultStyles(dark)
	ti := textinput.DefaultStyles(dark)
	if m.opts.NoColor {
		ta = textarea.Styles{Cursor: textarea.CursorStyle{Shape: tea.CursorBlock}}
		ti = textinput.Styles{Cursor: textinput.CursorStyle{Shape: tea.CursorBlock}}
	}
	ta.Cursor.Blink = false
	m.answerBox.SetStyles(ta)
	m.composeBox.SetStyles(ta)
	ti.Cursor.Blink = false
	m.filterInput.SetStyles(ti)
	m.saveInput.SetStyles(ti)
	m.composeMeta.SetStyles(ti)
	m.detail.dirty = true
}

// Init asks the terminal for its background, loads the first page of
// tasks and the agent card, and starts the clock.
func (m *Model) Init() tea.Cmd {
	m.loading = true
	return tea.Batch(
		tea.RequestBackgroundColor,
		m.listCmd(m.listGen, ""),
		m.cardCmd(),
		m.tickCmd(),
	)
}

// tickMsg advances the clock (ages) and the spinner.
type tickMsg struct {
	gen int
	at  time.Time
}

func (m *Model) tickCmd() tea.Cmd {
	gen := m.tickGen
	interval := time.Second
	if m.rows.counts[a2a.StateWorking] > 0 || m.rows.counts[a2a.StateSubmitted] > 0 {
		interval = 120 * time.Millisecond
	}
	now := m.opts.Now
	return m.after(interval, func(time.Time) tea.Msg { return tickMsg{gen: gen, at: now()} })
}

// Update dispatches by message family: window and terminal reports, keys
// and mouse by focus, live data, and replies to the dashboard's own calls.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.detail.refresh(m)
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
		m.now = msg.at
		m.frame++
		return m.tickCmd()
	case tea.KeyPressMsg:
		return m.updateKey(msg)
	case tea.PasteMsg:
		return m.updatePaste(msg)
	case tea.MouseWheelMsg:
		return m.updateWheel(msg)
	case tea.MouseClickMsg:
		return m.updateClick(msg)
	case eventsMsg:
		return m.applyEvents(msg.events)
	case watchStateMsg:
		m.watchErr, m.watchRetry = msg.err, msg.retryIn
		return nil
	case connMsg:
		c := ConnState(msg)
		c.Text = cleanLine(c.Text, 200)
		m.conn = &c
		return nil
	default:
		return m.updateReply(msg)
	}
}

// setSize lays the screen out again; the selection is kept.
func (m *Model) setSize(w, h int) {
	m.width, m.height = max(w, 1), max(h, 1)
	m.help.SetWidth(m.width)
	inner := max(m.width-4, 10)
	m.filterInput.SetWidth(max(m.width-2, 5))
	m.saveInput.SetWidth(max(inner-16, 5))
	m.composeMeta.SetWidth(max(inner-10, 5))
	m.answerBox.SetWidth(inner)
	m.composeBox.SetWidth(inner)
	boxH := 3
	if m.height < 16 {
		boxH = 1
	}
	m.answerBox.SetHeight(boxH)
	m.composeBox.SetHeight(boxH)
	m.keepCursorVisible()
	m.detail.dirty = true
}

// selected returns the row under the cursor, or nil.
func (m *Model) selected() *row {
	if m.cursor < 0 || m.cursor >= len(m.rows.visible) {
		return nil
	}
	return m.rows.visible[m.cursor]
}

func (m *Model) setFlash(text string, isErr bool) tea.Cmd {
	m.flash = cleanLine(text, 500)
	m.flashErr = isErr
	m.flashGen++
	gen := m.flashGen
	d := 4 * time.Second
	if isErr {
		d = 8 * time.Second
	}
	return m.after(d, func(time.Time) tea.Msg { return flashExpiredMsg{gen: gen} })
}

type flashExpiredMsg struct{ gen int }
