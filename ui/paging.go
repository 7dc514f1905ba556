package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// Lazy loading. A store may hold a million tasks: the dashboard never
// lists them all up front. It lists one page (newest first), enough for
// the first screen, and the next page only when the cursor comes within
// prefetchPages pages of the last row loaded; G keeps asking until the
// last page is in and then selects the oldest task. The per-state counts
// come from the service (a List of one task per state: the store answers
// from its counters), so the header counts every task, loaded or not.
// State, conversation and (on enter) text filters are sent to the service
// as the query, so a filter finds tasks that were never loaded.
//
// In a fleet each agent pages on its own (fleetAgent.list): the first
// page of every agent comes at once, and the next pages of the agents in
// scope as the cursor nears the last row; the header sums each agent's
// counts.

// listPageSize is the page the dashboard asks for: the protocol's most.
const listPageSize = a2a.MaxPageSize

// prefetchRows is how close to the last loaded row the cursor may come
// before the next page is asked for.
const prefetchRows = 2 * listPageSize

// listing is the paging of the current query.
type listing struct {
	query    a2a.ListRequest // the filters (State, ContextID, Text); no paging
	next     string          // token of the next page
	done     bool            // every page of query is in
	inFlight bool
	loaded   int
}

// storeCounts are the service's counts by state, for the header while
// not every task is loaded.
type storeCounts struct {
	byState map[a2a.TaskState]int
	total   int // -1 when the service did not say
}

// countsMsg answers calls.counts.
type countsMsg struct {
	agent  int
	gen    int
	counts storeCounts
}

// counts asks the service how many tasks it holds in each state. A
// service that does not say (TotalSize -1) leaves the header to the rows
// loaded.
func (c serviceCalls) counts(gen int) tea.Cmd {
	zero := 0
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		out := storeCounts{byState: map[a2a.TaskState]int{}, total: -1}
		page, err := c.svc.List(ctx, a2a.ListRequest{PageSize: 1, HistoryLength: &zero})
		if err != nil || page.TotalSize < 0 {
			return nil
		}
		out.total = page.TotalSize
		for _, st := range a2a.States() {
			p, err := c.svc.List(ctx, a2a.ListRequest{State: st, PageSize: 1, HistoryLength: &zero})
			if err != nil || p.TotalSize < 0 {
				return nil
			}
			if p.TotalSize > 0 {
				out.byState[st] = p.TotalSize
			}
		}
		return countsMsg{agent: c.agent, gen: gen, counts: out}
	}
}

// countsEvery is how often the service's counts are asked for again
// while not every task is loaded (live events change them).
const countsEvery = 2 * time.Second

// refreshCounts asks each agent not wholly loaded for its counts again
// when they are due.
func (m *Model) refreshCounts() tea.Cmd {
	var cmds []tea.Cmd
	for _, a := range m.fleet {
		if !a.open() || m.agentLoaded(a) || a.countsInFlight || m.com.Now.Sub(a.countsAt) < countsEvery {
			continue
		}
		a.countsInFlight = true
		a.countsAt = m.com.Now
		cmds = append(cmds, a.calls.counts(a.listGen))
	}
	return tea.Batch(cmds...)
}

// onCounts takes an agent's counts.
func (m *Model) onCounts(msg countsMsg) {
	a := m.agentAt(msg.agent)
	if a == nil {
		return
	}
	a.countsInFlight = false
	c := msg.counts
	a.counts = &c
}

// startListing lists query from its first page on every open agent,
// replacing the listings in progress (whose late pages are dropped by
// generation).
func (m *Model) startListing(query a2a.ListRequest) tea.Cmd {
	m.table.query = query
	m.table.wantAll = false
	cmds := make([]tea.Cmd, 0, len(m.fleet))
	for _, a := range m.fleet {
		cmds = append(cmds, m.listAgent(a))
	}
	return tea.Batch(cmds...)
}

// listAgent lists the table's query on one agent from its first page.
func (m *Model) listAgent(a *fleetAgent) tea.Cmd {
	if !a.open() {
		return nil
	}
	a.listGen++
	a.list = listing{query: m.table.query, inFlight: true}
	a.loading = true
	m.table.loading = true
	a.countsInFlight = true
	a.countsAt = m.com.Now
	return tea.Batch(a.calls.list(a.listGen, "", a.list.query), a.calls.counts(a.listGen))
}

// inScope says whether agent a's rows show.
func (m *Model) inScope(a *fleetAgent) bool {
	s := m.table.rows.scope
	return s == allAgents || s == a.index
}

// moreRows asks the agents in scope for their next page when the cursor
// nears the last row loaded, or when G asked for all of them.
func (m *Model) moreRows() tea.Cmd {
	t := &m.table
	t.hasMore = m.morePages()
	if !t.wantAll && len(t.rows.visible)-t.cursor > prefetchRows {
		return nil
	}
	var cmds []tea.Cmd
	for _, a := range m.fleet {
		l := &a.list
		if !a.open() || !m.inScope(a) || l.done || l.inFlight || l.next == "" {
			continue
		}
		l.inFlight = true
		a.loading = true
		t.loading = true
		cmds = append(cmds, a.calls.list(a.listGen, l.next, l.query))
	}
	return tea.Batch(cmds...)
}

// agentLoaded reports whether every task of agent a's unfiltered listing
// is in.
func (m *Model) agentLoaded(a *fleetAgent) bool {
	return a.list.done && a.list.query == (a2a.ListRequest{})
}

// allLoaded reports whether every task of every open agent's unfiltered
// listing is in, so the rows' own counts are the whole truth.
func (m *Model) allLoaded() bool {
	for _, a := range m.fleet {
		if a.open() && !m.agentLoaded(a) {
			return false
		}
	}
	return true
}

// morePages says whether an agent in scope has pages not asked for yet.
func (m *Model) morePages() bool {
	for _, a := range m.fleet {
		if a.open() && m.inScope(a) && !a.list.done && a.list.next != "" {
			return true
		}
	}
	return false
}

// storeQuery is the query the service can answer for the table's
// filters: one state, one conversation, and the text once it is entered.
func (s *rowSet) storeQuery(text string) a2a.ListRequest {
	q := a2a.ListRequest{ContextID: s.context, Text: text}
	switch {
	case s.only != "":
		q.State = s.only
	case s.state == filterDone:
		q.State = a2a.StateCompleted
	}
	return q
}

// syncQuery lists again from the service when the filters changed what
// it must be asked, unless every task is loaded already (then filtering
// the rows is the whole answer).
func (m *Model) syncQuery() tea.Cmd {
	t := &m.table
	q := t.rows.storeQuery(t.rows.text)
	if q == t.query || m.allLoaded() {
		return nil
	}
	return m.startListing(q)
}

// jumpToOldest is G: the last row once every page is in.
func (m *Model) jumpToOldest() tea.Cmd {
	t := m.sizedTable()
	if !m.morePages() {
		return m.moved(t.selectIndex(len(t.rows.visible) - 1))
	}
	t.wantAll = true
	return tea.Batch(m.moreRows(), m.setNote("loading every task to reach the oldest…"))
}

// onList adds a page of an agent's tasks and asks for the next one if
// needed.
func (m *Model) onList(msg listMsg) tea.Cmd {
	a := m.agentAt(msg.agent)
	if a == nil || msg.gen != a.listGen {
		return nil
	}
	tbl := m.sizedTable()
	a.list.inFlight = false
	a.loading = false
	tbl.loading = m.anyLoading()
	if msg.err != nil {
		return m.listFailed(a, msg.err)
	}
	if msg.page == nil {
		msg.page = &a2a.ListPage{}
	}
	a.live.needsAuth = false
	a.live.listErr = nil
	tbl.emptyNote = ""
	moved := tbl.change(m.com.Now, len(msg.page.Tasks), func(b *rowBatch) {
		for _, t := range msg.page.Tasks {
			if t != nil && t.ID != "" {
				b.change(rowKey{a.index, t.ID}, func(r *row) {
					r.applyTask(t, m.com.Now)
					if seen, ok := msg.firstSeen[t.ID]; ok && seen.Before(r.created) {
						r.created = seen
					}
				})
			}
		}
		// The store's recent history feeds the pulse: tasks first seen
		// here were started (and maybe failed) when their times say.
		for _, r := range b.created {
			a.pulse.add(m.com.Now, r.created, false)
			if r.state == a2a.StateFailed {
				a.pulse.add(m.com.Now, r.updated, true)
			}
		}
	})
	l := &a.list
	l.loaded += len(msg.page.Tasks)
	l.next = msg.page.NextPageToken
	l.done = l.next == "" || len(msg.page.Tasks) == 0
	cmds := []tea.Cmd{m.moved(moved)}
	if tbl.wantAll && !m.morePages() && !tbl.loading {
		tbl.wantAll = false
		cmds = append(cmds, m.moved(tbl.selectIndex(len(tbl.rows.visible)-1)))
	}
	return tea.Batch(append(cmds, m.moreRows())...)
}

// listFailed reports an agent's List that failed: a refusal for want of
// credentials once, in the header, instead of a retry loop's errors.
func (m *Model) listFailed(a *fleetAgent, err error) tea.Cmd {
	a.live.listErr = err
	name := ""
	if m.fleetMode() {
		name = m.com.agentName(a.index) + ": "
	}
	if errors.Is(err, a2a.ErrUnauthenticated) {
		a.live.needsAuth = true
		if !m.fleetMode() {
			m.table.emptyNote = needsAuthText + " (then r)"
			return nil
		}
		return m.setFlash(name+needsAuthText+" (then r)", true)
	}
	text := err.Error()
	if !strings.HasPrefix(text, "list tasks") {
		text = "list tasks: " + text
	}
	return m.setFlash(name+text, true)
}

// shownCounts are the counts the header shows, summed over the agents:
// an agent's rows' own counts once every task of it is loaded, else the
// service's (when it gave them).
func (m *Model) shownCounts() (byState map[a2a.TaskState]int, total int) {
	rows := m.table.rows
	if m.allLoaded() {
		return rows.counts, len(rows.byKey)
	}
	byState = map[a2a.TaskState]int{}
	for _, a := range m.fleet {
		own := rows.agentCounts[a.index]
		n := 0
		for _, c := range own {
			n += c
		}
		if !m.agentLoaded(a) && a.counts != nil {
			for st, c := range a.counts.byState {
				byState[st] += c
			}
			total += max(a.counts.total, n)
			continue
		}
		for st, c := range own {
			byState[st] += c
		}
		total += n
	}
	return byState, total
}

// loadedNote is the header's word on how much is loaded.
func (m *Model) loadedNote() string {
	t := &m.table
	switch {
	case t.loading && t.wantAll:
		loaded := 0
		for _, a := range m.fleet {
			loaded += a.list.loaded
		}
		return fmt.Sprintf(", loading %d…", loaded)
	case t.loading:
		return ", loading…"
	case m.morePages():
		return fmt.Sprintf(", %d loaded (more as you scroll, G for all)", len(t.rows.byKey))
	}
	return ""
}
