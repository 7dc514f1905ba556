package ui

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/charmbracelet/x/ansi"
)

// newFleetModel is newTestModel over several agents.
func newFleetModel(t testing.TB, agents []Agent, w, h int) *Model {
	t.Helper()
	o := Options{Now: func() time.Time { return testNow }, NoColor: true, SaveDir: t.TempDir()}
	m := NewFleet(context.Background(), agents, o)
	m.after = func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
		return func() tea.Msg { return timerFired{d: d, msg: fn(testNow)} }
	}
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	drain(t, m, m.Init(), nil)
	return m
}

// twoAgents: alpha and beta, each with a task "shared-1" (working on
// alpha, waiting on beta) and one of their own.
func twoAgents(t testing.TB, betaReadOnly bool) (alpha, beta *fakeService, m *Model) {
	t.Helper()
	alpha, beta = newFakeService(), newFakeService()
	alpha.card.Name, beta.card.Name = "Alpha card", "Beta card"
	alpha.tasks["shared-1"] = task("shared-1", a2a.StateWorking, "alpha works", 5*time.Second)
	alpha.tasks["alpha-only"] = task("alpha-only", a2a.StateCompleted, "alpha done", time.Minute)
	beta.tasks["shared-1"] = task("shared-1", a2a.StateInputRequired, "beta asks", 3*time.Second)
	beta.tasks["beta-only"] = task("beta-only", a2a.StateWorking, "beta works", 2*time.Second)
	m = newFleetModel(t, []Agent{
		{Name: "alpha", Service: alpha, Target: "http://alpha"},
		{Name: "beta", Service: beta, Target: "http://beta", ReadOnly: betaReadOnly},
	}, 140, 30)
	return alpha, beta, m
}

func screen(m *Model) string { return ansi.Strip(m.View().Content) }

func selectKey(t testing.TB, m *Model, k rowKey) {
	t.Helper()
	i := m.table.rows.indexOf(k)
	if i < 0 {
		t.Fatalf("row %+v is not visible", k)
	}
	m.table.cursor = i
	drain(t, m, m.moved(m.sizedTable().afterCursorMove()), fireDetail)
}

func TestFleetRowsKeyedByAgentAndID(t *testing.T) {
	_, _, m := twoAgents(t, false)
	rows := m.table.rows
	a, b := rows.byKey[rowKey{0, "shared-1"}], rows.byKey[rowKey{1, "shared-1"}]
	if len(rows.byKey) != 4 || a == nil || b == nil || a.state != a2a.StateWorking || b.state != a2a.StateInputRequired {
		t.Fatalf("rows: %d, alpha's shared-1 %+v, beta's %+v", len(rows.byKey), a, b)
	}
	// A live event of beta's shared-1 changes beta's row only.
	drain(t, m, func() tea.Msg {
		return eventsMsg{agent: 1, events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "shared-1",
			Status: a2a.TaskStatus{State: a2a.StateFailed, Timestamp: testNow}}}}}
	}, nil)
	if a.state != a2a.StateWorking || b.state != a2a.StateFailed {
		t.Fatalf("after beta's event: alpha %s beta %s", a.state, b.state)
	}
	if rows.agentCounts[0][a2a.StateWorking] != 1 || rows.agentCounts[1][a2a.StateFailed] != 1 || rows.counts[a2a.StateWorking] != 2 {
		t.Fatalf("counts: fleet %v per agent %v", rows.counts, rows.agentCounts)
	}
	v := screen(m)
	for _, want := range []string{"AGENT", "alpha", "beta", "1 alpha ● live", "2 beta ● live", "2/2 agents up", "scope: all agents"} {
		if !strings.Contains(v, want) {
			t.Errorf("screen lacks %q:\n%s", want, v)
		}
	}
}

func TestFleetWaitingBadgeCountsTheWholeFleet(t *testing.T) {
	_, _, m := twoAgents(t, false)
	press(t, m, "1") // scope to alpha, which has nothing waiting
	if v := screen(m); !strings.Contains(v, "◆ 1 waiting on you") {
		t.Fatalf("the badge should count beta's waiting task while scoped to alpha:\n%s", v)
	}
}

func TestFleetScope(t *testing.T) {
	_, _, m := twoAgents(t, false)
	visibleAgents := func() map[int]int {
		out := map[int]int{}
		for _, r := range m.table.rows.visible {
			out[r.agent]++
		}
		return out
	}
	press(t, m, "2")
	if got := visibleAgents(); got[1] != 2 || got[0] != 0 {
		t.Fatalf("scope 2: %v", got)
	}
	press(t, m, "0")
	if got := visibleAgents(); got[0] != 2 || got[1] != 2 {
		t.Fatalf("scope all: %v", got)
	}
	press(t, m, ":")
	if m.dialogs.open != dialogCommand {
		t.Fatalf(": opened %v", m.dialogs.open)
	}
	typeText(t, m, "agent alpha")
	press(t, m, "enter")
	if got := visibleAgents(); got[0] != 2 || got[1] != 0 || m.table.rows.scope != 0 {
		t.Fatalf(":agent alpha: %v", got)
	}
	press(t, m, ":")
	typeText(t, m, "agent all")
	press(t, m, "enter")
	if m.table.rows.scope != allAgents {
		t.Fatalf(":agent all: scope %d", m.table.rows.scope)
	}
	press(t, m, ":")
	typeText(t, m, "agent nobody")
	press(t, m, "enter")
	if !m.flash.err || !strings.Contains(m.flash.text, "no agent nobody") {
		t.Fatalf("unknown agent: flash %q", m.flash.text)
	}
	press(t, m, "7")
	if !m.flash.err || m.table.rows.scope != allAgents {
		t.Fatalf("agent 7 of 2: flash %q scope %d", m.flash.text, m.table.rows.scope)
	}
}

func TestFleetAgentsView(t *testing.T) {
	_, _, m := twoAgents(t, false)
	press(t, m, "A")
	if m.dialogs.open != dialogAgents {
		t.Fatalf("A opened %v", m.dialogs.open)
	}
	v := screen(m)
	for _, want := range []string{"Agents", "Alpha card", "Beta card", "http://alpha", "started ", "failed ", "per minute, last 30", "no event yet"} {
		if !strings.Contains(v, want) {
			t.Errorf("agents view lacks %q:\n%s", want, v)
		}
	}
	press(t, m, "down", "enter")
	if m.dialogs.open != dialogNone || m.table.rows.scope != 1 {
		t.Fatalf("enter: dialog %v scope %d", m.dialogs.open, m.table.rows.scope)
	}
	press(t, m, "A", "i")
	if m.dialogs.open != dialogAgent || !strings.Contains(screen(m), "Beta card") {
		t.Fatalf("i in the agents view shows the agent's card:\n%s", screen(m))
	}
}

func TestFleetActionsRouteToTheRowsAgent(t *testing.T) {
	alpha, beta, m := twoAgents(t, false)
	// Answer beta's shared-1: the answer goes to beta, with beta's id.
	selectKey(t, m, rowKey{1, "shared-1"})
	press(t, m, "a")
	typeText(t, m, "tomorrow")
	press(t, m, "enter")
	if len(beta.sent) != 1 || beta.sent[0].Message.TaskID != "shared-1" || len(alpha.sent) != 0 {
		t.Fatalf("answer: alpha got %d, beta got %d", len(alpha.sent), len(beta.sent))
	}
	// Cancel alpha's shared-1: alpha only.
	selectKey(t, m, rowKey{0, "shared-1"})
	press(t, m, "x", "y")
	if len(alpha.canceled) != 1 || alpha.canceled[0] != "shared-1" || len(beta.canceled) != 0 {
		t.Fatalf("cancel: alpha %v beta %v", alpha.canceled, beta.canceled)
	}
	if st := m.table.rows.byKey[rowKey{0, "shared-1"}].state; st != a2a.StateCanceled {
		t.Fatalf("alpha's row: %s", st)
	}
	if st := m.table.rows.byKey[rowKey{1, "shared-1"}].state; st != a2a.StateWorking {
		t.Fatalf("beta's row after the answer: %s", st)
	}
	// The detail pane asks the row's agent.
	alpha.gets, beta.gets = nil, nil
	selectKey(t, m, rowKey{1, "beta-only"})
	if len(beta.gets) == 0 || len(alpha.gets) != 0 {
		t.Fatalf("detail: alpha gets %v beta gets %v", alpha.gets, beta.gets)
	}
}

func TestFleetReadOnlyAgentRefuses(t *testing.T) {
	_, beta, m := twoAgents(t, true)
	selectKey(t, m, rowKey{1, "shared-1"})
	press(t, m, "a")
	if m.dialogs.open != dialogNone || !strings.Contains(m.flash.text, "beta is read-only") {
		t.Fatalf("answer on read-only beta: dialog %v flash %q", m.dialogs.open, m.flash.text)
	}
	selectKey(t, m, rowKey{1, "beta-only"})
	press(t, m, "x")
	if m.dialogs.open != dialogNone || !strings.Contains(m.flash.text, "read-only") {
		t.Fatalf("cancel on read-only beta: dialog %v flash %q", m.dialogs.open, m.flash.text)
	}
	if v := screen(m); !strings.Contains(v, "beta is read-only") {
		t.Fatalf("the reason is not on screen:\n%s", v)
	}
	if len(beta.sent)+len(beta.canceled) != 0 {
		t.Fatal("beta was called")
	}
}

func TestFleetNewAsksWhichAgent(t *testing.T) {
	alpha, beta, m := twoAgents(t, false)
	press(t, m, "n")
	if m.dialogs.open != dialogPickAgent || m.agentsView.pick != 0 {
		t.Fatalf("n: dialog %v pick %d", m.dialogs.open, m.agentsView.pick)
	}
	if v := screen(m); !strings.Contains(v, "new task on:") {
		t.Fatalf("picker not shown:\n%s", v)
	}
	press(t, m, "l", "enter")
	if m.dialogs.open != dialogCompose {
		t.Fatalf("enter: dialog %v", m.dialogs.open)
	}
	typeText(t, m, "hello")
	press(t, m, "enter")
	if len(beta.sent) != 1 || len(alpha.sent) != 0 {
		t.Fatalf("new task: alpha %d beta %d", len(alpha.sent), len(beta.sent))
	}
	if m.table.selectedKey != (rowKey{1, "new-task-01"}) {
		t.Fatalf("selected %+v", m.table.selectedKey)
	}
	press(t, m, "n")
	if m.agentsView.pick != 1 {
		t.Fatalf("the picker should default to the last used agent, got %d", m.agentsView.pick)
	}
	press(t, m, "esc")
	// Scoped to alpha: n goes straight to alpha.
	press(t, m, "1", "n")
	if m.dialogs.open != dialogCompose || m.lastNew != 0 {
		t.Fatalf("scoped n: dialog %v last %d", m.dialogs.open, m.lastNew)
	}
}

func TestFleetAgentNotOpenYet(t *testing.T) {
	alpha := newFakeService()
	alpha.tasks["a-1"] = task("a-1", a2a.StateWorking, "on", time.Second)
	m := newFleetModel(t, []Agent{
		{Name: "alpha", Service: alpha},
		{Name: "hole", Target: "http://10.255.255.1", Open: func(ctx context.Context) (OpenedAgent, error) { return OpenedAgent{}, nil }},
	}, 140, 30)
	if v := screen(m); len(m.table.rows.byKey) != 1 || !strings.Contains(v, "hole ◌ connecting…") || !strings.Contains(v, "1/2 agents up (connecting: hole)") {
		t.Fatalf("alpha's rows should load while hole connects:\n%s", screen(m))
	}
	m.Update(agentDownMsg{agent: 1, err: errors.New("dial tcp: i/o timeout"), retryIn: 4 * time.Second})
	if v := screen(m); !strings.Contains(v, "hole ✗ down: dial tcp: i/o timeout · retry in 4s") || !strings.Contains(v, "1/2 agents up") {
		t.Fatalf("strip:\n%s", v)
	}
	press(t, m, "2", "n")
	if !strings.Contains(m.flash.text, "hole is not connected yet") {
		t.Fatalf("n on a down agent: %q", m.flash.text)
	}
	// It opens later: its rows load.
	hole := newFakeService()
	hole.tasks["h-1"] = task("h-1", a2a.StateSubmitted, "late", 0)
	drain(t, m, func() tea.Msg { return agentOpenedMsg{agent: 1, svc: hole, target: "http://hole · A2A v1.0"} }, nil)
	if m.table.rows.byKey[rowKey{1, "h-1"}] == nil || !strings.Contains(screen(m), "[hole] ● live") {
		t.Fatalf("after open:\n%s", screen(m))
	}
}

// A blackholed agent (Open never returns until the dashboard stops) does
// not hold back another agent's events, and stopping ends its goroutine.
func TestFleetPumpsIsolateABlackholedAgent(t *testing.T) {
	alpha := newFakeService()
	var (
		mu   sync.Mutex
		msgs []tea.Msg
	)
	got := make(chan struct{}, 100)
	send := func(msg tea.Msg) {
		mu.Lock()
		msgs = append(msgs, msg)
		mu.Unlock()
		got <- struct{}{}
	}
	p := newPumps(context.Background())
	opening := make(chan struct{})
	p.agent(0, Agent{Name: "hole", Open: func(ctx context.Context) (OpenedAgent, error) {
		close(opening)
		<-ctx.Done() // accepts and never answers
		return OpenedAgent{}, ctx.Err()
	}}, send, make(chan struct{}))
	p.agent(1, Agent{Name: "alpha", Service: alpha}, send, make(chan struct{}))
	<-opening
	alpha.watch <- a2a.StreamEvent{Event: &a2a.StatusUpdateEvent{TaskID: "x", Status: a2a.TaskStatus{State: a2a.StateWorking}}}
	for {
		<-got
		mu.Lock()
		var ev *eventsMsg
		for _, m := range msgs {
			if e, ok := m.(eventsMsg); ok {
				ev = &e
			}
		}
		mu.Unlock()
		if ev != nil {
			if ev.agent != 1 {
				t.Fatalf("event of agent %d", ev.agent)
			}
			break
		}
	}
	p.Stop() // returns only once the blackholed Open gave up
}

func TestPulse(t *testing.T) {
	var p pulse
	now := time.Unix(1_800_000_000, 0)
	p.add(now, now.Add(-30*time.Second), false)
	p.add(now, now.Add(-30*time.Second), false)
	p.add(now, now.Add(-5*time.Minute), false)
	p.add(now, now.Add(-5*time.Minute), true)
	p.add(now, now.Add(-31*time.Minute), false) // too old
	s := p.series(now, false)
	if len(s) != pulseMinutes || s[pulseMinutes-1]+s[pulseMinutes-2] != 2 || sum(s) != 3 {
		t.Fatalf("started: %v", s)
	}
	if f := p.series(now, true); sum(f) != 1 {
		t.Fatalf("failed: %v", f)
	}
	// Half an hour later the old buckets are gone.
	if s := p.series(now.Add(40*time.Minute), false); sum(s) != 0 {
		t.Fatalf("stale: %v", s)
	}
	if got := sparkline([]int{0, 1, 4, 8}); got != "·▁▄█" {
		t.Fatalf("sparkline = %q", got)
	}
}

func sum(s []int) int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// BenchmarkFleetKeys is the dashboard's own key response over a fleet of
// 20 agents × 5,000 tasks: a scope key (one agent, then all again) with the
// View that follows, and one live event with its View.
//
//	go test ./ui/ -run '^$' -bench FleetKeys -benchtime 20x
func BenchmarkFleetKeys(b *testing.B) {
	const agents, perAgent = 20, 5000
	fleet := make([]Agent, agents)
	for i := range fleet {
		f := newFakeService()
		for j := range perAgent {
			id := fmt.Sprintf("task-%05d", j)
			f.tasks[id] = task(id, a2a.StateCompleted, "seeded", time.Duration(j)*time.Second)
		}
		fleet[i] = Agent{Name: fmt.Sprintf("agent%02d", i), Service: f}
	}
	m := newFleetModel(b, fleet, 120, 40)
	if n := len(m.table.rows.byKey); n != agents*perAgent {
		b.Fatalf("loaded %d rows", n)
	}
	ev := eventsMsg{agent: 3, events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: "task-00007", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow}}}}}
	b.Run("scope-key+view", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			k := "2"
			if i%2 == 1 {
				k = "0"
			}
			m.Update(keyMsg(k))
			_ = m.View()
		}
	})
	b.Run("cursor-key+view", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			k := "j"
			if i%2 == 1 {
				k = "k"
			}
			m.Update(keyMsg(k))
			_ = m.View()
		}
	})
	b.Run("event+view", func(b *testing.B) {
		for b.Loop() {
			m.Update(ev)
			_ = m.View()
		}
	})
}

// The visible list, kept by merges and filter switches over the sorted
// list of every row, is always what filtering and sorting every row from
// scratch gives.
func TestRowSetMatchesAFullRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newRowSet()
	states := []a2a.TaskState{a2a.StateWorking, a2a.StateCompleted, a2a.StateFailed, a2a.StateInputRequired}
	for step := range 400 {
		changed := map[*row]struct{}{}
		for range 1 + rng.IntN(20) {
			key := rowKey{agent: rng.IntN(3), id: fmt.Sprintf("t%02d", rng.IntN(40))}
			r, _ := s.change(key, testNow, func(r *row) {
				r.state = states[rng.IntN(len(states))]
				r.updated = testNow.Add(time.Duration(rng.IntN(50)) * time.Second)
				r.text = fmt.Sprint("text ", rng.IntN(3))
			})
			changed[r] = struct{}{}
		}
		s.merge(changed)
		switch rng.IntN(6) {
		case 0:
			s.scope = rng.IntN(4) - 1
			s.rebuild()
		case 1:
			s.state = stateFilter(rng.IntN(int(numStateFilters)))
			s.rebuild()
		case 2:
			s.order = sorting{order: sortOrder(rng.IntN(int(numSortOrders))), reverse: rng.IntN(2) == 0}
			s.rebuild()
		case 3:
			s.text = []string{"", "text 1"}[rng.IntN(2)]
			s.rebuild()
		}
		var want []*row
		for _, r := range s.byKey {
			if s.matches(r) {
				want = append(want, r)
			}
		}
		slices.SortFunc(want, s.order.cmp)
		if !slices.Equal(want, s.visible) {
			t.Fatalf("step %d: visible has %d rows, a full rebuild %d", step, len(s.visible), len(want))
		}
	}
}

func TestAgentColours(t *testing.T) {
	labels := newAgentLabels([]Agent{{Name: "a", Color: "Red"}, {Name: "b", Color: "#123456"}, {Name: "c", Color: "208"}, {Name: "d"}}, true)
	want := []string{"#ff5f5f", "#123456", "208", palette[3]}
	for i, l := range labels {
		if got := l.style.GetForeground(); got != lipgloss.Color(want[i]) {
			t.Errorf("agent %s: colour %v, want %s", l.name, got, want[i])
		}
	}
	if l := newAgentLabels([]Agent{{Name: "a", Color: "red"}}, false); l[0].style.GetForeground() != nil && l[0].style.GetForeground() != (lipgloss.NoColor{}) {
		t.Errorf("NO_COLOR: %v", l[0].style.GetForeground())
	}
}
