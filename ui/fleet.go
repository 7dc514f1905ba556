package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/charmbracelet/x/ansi"
)

// A fleet is every agent one dashboard watches. Each agent has its own
// service, its own calls (bounded by callTimeout), its own pump goroutine
// (opening it, then following its Watch stream) and its own health; rows
// carry the agent's index in their key, so two agents may use the same task
// id. Nothing one agent does waits on another: a blackholed agent only ever
// blocks its own goroutines, never Update.

// Agent is one agent of a fleet dashboard.
type Agent struct {
	// Name is the agent's short name: the AGENT column, the strip,
	// ":agent NAME".
	Name string
	// Color is a lipgloss colour ("#rrggbb", an ANSI number); empty picks
	// one from the palette.
	Color string
	// ReadOnly refuses answer, cancel and new task on this agent, with a
	// reason on the status line.
	ReadOnly bool
	// Target says what the agent is (URL, binding, dialect or store path)
	// for the agents view.
	Target string
	// Service, when set, is the agent already opened; Conn then delivers
	// its connection state (optional).
	Service a2a.Service
	Conn    <-chan ConnState
	// LocalEngine says the agent's tasks run in this process's engine
	// (Options.LocalEngine for one agent): q warns before they stop.
	LocalEngine bool
	// Open, when Service is nil, opens the agent. It runs in the agent's
	// own goroutine and is retried with backoff until it succeeds or the
	// dashboard stops, so an unreachable agent never delays the others.
	Open func(ctx context.Context) (OpenedAgent, error)
}

// OpenedAgent is what Agent.Open returns.
type OpenedAgent struct {
	Service a2a.Service
	// Target replaces Agent.Target once the agent is known (e.g. with the
	// dialect the card chose).
	Target string
	Conn   <-chan ConnState
	// Close, when set, is called once the dashboard stopped.
	Close func() error
}

// agentLabel is how an agent is drawn: its name in its colour.
type agentLabel struct {
	name  string
	style lipgloss.Style
}

// palette gives agents without a configured colour distinct ones.
var palette = []string{"#5fafff", "#ff87d7", "#87d787", "#ffaf5f", "#af87ff", "#5fd7d7", "#d7d75f", "#ff8787"}

// colorNames maps the colour names the config file accepts to colours
// that read on dark and light backgrounds.
var colorNames = map[string]string{
	"red": "#ff5f5f", "green": "#5fd75f", "yellow": "#d7d700", "blue": "#5f87ff", "magenta": "#d75fd7", "cyan": "#00afaf",
	"orange": "#ff8700", "pink": "#ff87af", "gray": "#8a8a8a", "grey": "#8a8a8a", "white": "#d0d0d0", "purple": "#af5fff",
}

func newAgentLabels(agents []Agent, useColor bool) []agentLabel {
	labels := make([]agentLabel, len(agents))
	for i, a := range agents {
		name := cleanLine(a.Name, 40)
		if name == "" {
			name = fmt.Sprintf("agent%d", i+1)
		}
		st := lipgloss.NewStyle()
		if useColor {
			c := a.Color
			if named, ok := colorNames[strings.ToLower(c)]; ok {
				c = named
			}
			if c == "" {
				c = palette[i%len(palette)]
			}
			st = st.Foreground(lipgloss.Color(c))
		}
		labels[i] = agentLabel{name: name, style: st}
	}
	return labels
}

// agentLabel draws agent i's name cut to w cells.
func (c *Common) agentLabel(i, w int) string {
	if i < 0 || i >= len(c.Agents) {
		return fit("?", w)
	}
	return c.Agents[i].style.Render(fit(c.Agents[i].name, w))
}

// agentName is agent i's name, plain.
func (c *Common) agentName(i int) string {
	if i < 0 || i >= len(c.Agents) {
		return "?"
	}
	return c.Agents[i].name
}

// agentWidth is the AGENT column's width: 0 (hidden) for one agent.
func (t *taskTable) agentWidth() int {
	if len(t.com.Agents) < 2 {
		return 0
	}
	w := 5
	for _, a := range t.com.Agents {
		w = max(w, ansi.StringWidth(a.name))
	}
	return min(w, 16) // room for a bare URL's host:port
}

// fleetAgent is the dashboard's side of one agent.
type fleetAgent struct {
	index       int
	readOnly    bool
	localEngine bool
	target      string
	calls       serviceCalls // svc is nil until the agent is open
	info        agentInfo    // its card
	live        liveState

	// Opening: the last failure and the wait before the next attempt.
	openErr   error
	openRetry time.Duration

	// The listing (paging.go): pages are asked for as the user scrolls;
	// listGen drops the pages of a listing a newer one replaced. counts
	// are the agent's own counts by state while not every task is loaded.
	loading        bool
	list           listing
	noReverse      bool // the service cannot list oldest first (ErrUnsupported)
	noCreated      bool // the service cannot list by creation (ErrUnsupported)
	listGen        int
	counts         *storeCounts
	countsInFlight bool
	countsAt       time.Time

	// wake (r) makes a Watch paused for credentials try again.
	wake chan struct{}

	lastEvent time.Time
	pulse     pulse
}

func (a *fleetAgent) open() bool { return a.calls.svc != nil }

// journalNote is the header's word for an agent whose list is only the
// tasks a2atop has seen (a v0.3 agent has no ListTasks).
const journalNote = "v0.3: tasks seen by a2atop"

// fromJournal says the agent's list is the client's journal, not the
// agent's own (a2a.JournalLister): a version check, no I/O.
func (a *fleetAgent) fromJournal() bool {
	jl, ok := a.calls.svc.(a2a.JournalLister)
	return ok && jl.ListsFromJournal()
}

// health is the agent's entry in the strip: a symbol, whether it is
// fine, and the words.
func (a *fleetAgent) health() (ok bool, text string) {
	switch {
	case !a.open() && a.openErr != nil:
		return false, fmt.Sprintf("down: %s · retry in %s", cleanLine(a.openErr.Error(), 120), a.openRetry)
	case !a.open():
		return true, "connecting…"
	case a.live.needsAuth:
		return false, "needs a token: set its headers (then r)"
	case a.live.watchErr != nil:
		return false, fmt.Sprintf("reconnecting in %s: %s", a.live.watchRetry, cleanLine(a.live.watchErr.Error(), 120))
	case a.live.conn != nil:
		return a.live.conn.OK, a.live.conn.Text
	}
	return true, "live"
}

// Messages of the fleet's pumps.
type (
	// agentOpenedMsg: the agent's Open succeeded.
	agentOpenedMsg struct {
		agent  int
		svc    a2a.Service
		target string
	}
	// agentDownMsg: the agent's Open failed; the pump tries again in
	// retryIn.
	agentDownMsg struct {
		agent   int
		err     error
		retryIn time.Duration
	}
)

// onAgentOpened starts the agent's first load and card fetch.
func (m *Model) onAgentOpened(msg agentOpenedMsg) tea.Cmd {
	a := m.agentAt(msg.agent)
	if a == nil {
		return nil
	}
	a.calls.svc = msg.svc
	a.openErr = nil
	if msg.target != "" {
		a.target = msg.target
	}
	return m.loadAgent(a)
}

// loadAgent asks for an open agent's tasks (first page of the table's
// query) and its card.
func (m *Model) loadAgent(a *fleetAgent) tea.Cmd {
	if !a.open() {
		return nil
	}
	return tea.Batch(m.listAgent(a), a.calls.card())
}

func (m *Model) agentAt(i int) *fleetAgent {
	if i < 0 || i >= len(m.fleet) {
		return nil
	}
	return m.fleet[i]
}

// anyLoading says whether some agent's first pages are still coming.
func (m *Model) anyLoading() bool {
	for _, a := range m.fleet {
		if a.loading {
			return true
		}
	}
	return false
}

// agentForAction is the agent of r, or an error to show when it may not
// be acted on.
func (m *Model) agentForAction(agent int, what string) (*fleetAgent, tea.Cmd) {
	a := m.agentAt(agent)
	switch {
	case a == nil:
		return nil, m.setFlash("no such agent", true)
	case a.readOnly:
		return nil, m.setFlash(fmt.Sprintf("agent %s is read-only (readOnly in the config): no %s", m.com.agentName(agent), what), true)
	case !a.open():
		return nil, m.setFlash(fmt.Sprintf("agent %s is not connected yet: no %s", m.com.agentName(agent), what), true)
	}
	return a, nil
}

// fleetMode is true when the dashboard watches more than one agent.
func (m *Model) fleetMode() bool { return len(m.fleet) > 1 }

// stripLine is the agents strip: each agent's number, name and health.
// When the full words do not fit, healthy agents show as a symbol only and
// the others keep a short reason.
func (m *Model) stripLine() string {
	if line := m.strip(false); ansi.StringWidth(line) <= m.width {
		return line
	}
	return m.strip(true)
}

func (m *Model) strip(compact bool) string {
	st := m.com.Styles
	parts := make([]string, 0, len(m.fleet))
	for i, a := range m.fleet {
		ok, text := a.health()
		switch {
		case compact && ok:
			text = ""
		case compact:
			text = cut(text, 24)
		}
		sym, style := "●", st.Info
		switch {
		case !a.open() && a.openErr == nil:
			sym, style = "◌", st.Muted // still connecting: not up, not down
		case !ok:
			sym, style = "✗", st.Error
		}
		num := ""
		if i < 9 {
			num = fmt.Sprintf("%d ", i+1)
		}
		name := m.com.agentLabel(i, ansi.StringWidth(m.com.agentName(i)))
		if m.table.rows.scope == i {
			name = st.Bold.Render("[") + name + st.Bold.Render("]")
		}
		parts = append(parts, st.Muted.Render(num)+name+" "+style.Render(strings.TrimSpace(sym+" "+cut(text, 60))))
	}
	return strings.Join(parts, st.Muted.Render("  "))
}

// pulse counts tasks started and failed per minute over the last
// pulseMinutes minutes, in a ring of per-minute buckets.
type pulse struct {
	minute  [pulseMinutes]int64 // the unix minute each bucket counts
	started [pulseMinutes]int
	failed  [pulseMinutes]int
}

const pulseMinutes = 30

func (p *pulse) bucket(at time.Time) int {
	m := at.Unix() / 60
	i := int(m % pulseMinutes)
	if p.minute[i] != m {
		p.minute[i], p.started[i], p.failed[i] = m, 0, 0
	}
	return i
}

func (p *pulse) add(now, at time.Time, failed bool) {
	if at.IsZero() || now.Sub(at) >= pulseMinutes*time.Minute || at.After(now.Add(time.Minute)) {
		return
	}
	i := p.bucket(at)
	if failed {
		p.failed[i]++
	} else {
		p.started[i]++
	}
}

// series returns the last pulseMinutes minutes as of now, oldest first.
func (p *pulse) series(now time.Time, failed bool) []int {
	out := make([]int, pulseMinutes)
	nowMin := now.Unix() / 60
	for k := range pulseMinutes {
		m := nowMin - int64(pulseMinutes-1-k)
		i := int(((m % pulseMinutes) + pulseMinutes) % pulseMinutes)
		if p.minute[i] == m {
			if failed {
				out[k] = p.failed[i]
			} else {
				out[k] = p.started[i]
			}
		}
	}
	return out
}

var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws counts with one block per value, scaled to the largest;
// zero is a dot so an idle agent reads as idle.
func sparkline(counts []int) string {
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	for _, c := range counts {
		if c == 0 {
			b.WriteRune('·')
			continue
		}
		b.WriteRune(sparkBlocks[c*(len(sparkBlocks)-1)/top])
	}
	return b.String()
}
