package ui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// Lazy loading in a window. A store may hold a million tasks: the
// dashboard never lists them all, and never holds them all. Each agent's
// listing is a window of at most windowRows tasks of the store's order
// (newest change first, or newest created first while the table is sorted
// by AGE and the service can: a2a.ListRequest.ByCreated), made of whole pages: the first page fills the
// first screen; the next page is asked for when the cursor comes within
// prefetchRows of the window's edge, and the page at the far edge is
// dropped once the window is full (its token is kept, so scrolling back
// lists it again). G lists from the other end (a2a.ListRequest.Reverse:
// the oldest task in one page); a service that cannot (a remote agent)
// pages forward to its end instead, still holding one window. The
// per-state counts come from the service (a List of one task per state:
// the store answers from its counters), so the header counts every task,
// and the tasks above and below the window are counted in "↑ N more" /
// "↓ N more". State, conversation and (on enter) text filters are sent to
// the service as the query, so a filter finds tasks that were never
// loaded; the other filters and sorts (and AGE on a service that lists
// by the last change only) apply to the rows held, and the header says so.
//
// In a fleet each agent pages on its own (fleetAgent.list): the first
// page of every agent comes at once, and the next pages of the agents in
// scope as the cursor nears an edge; the header sums each agent's counts.

// listPageSize is the page the dashboard asks for: the protocol's most.
const listPageSize = a2a.MaxPageSize

// prefetchRows is how close to the edge of the rows held the cursor may
// come before the next page is asked for.
const prefetchRows = 2 * listPageSize

// windowRows is the most tasks held of one agent's listing: pages beyond
// it are dropped at the edge away from the cursor. 20 pages are 40
// screens of 50 rows, and a few MiB.
const windowRows = 20 * listPageSize

// listing is the window of the current query on one agent. Its pages are
// in the listing's order: newest first, or oldest first when reverse.
// The window's start is the listing's first task (done listing from its
// start) unless pages were dropped there (behind).
type listing struct {
	query   a2a.ListRequest // the filters (State, ContextID, Text); no paging
	reverse bool            // listed oldest first (G)
	// byCreated: listed in creation order (a2a.ListRequest.ByCreated),
	// the table's sort being by AGE; else in the order of the last change.
	byCreated bool
	pages     []winPage
	next      string // token of the page after the last one held
	done      bool   // the last page held is the listing's end
	// behind are the pages dropped from the window's start, the last
	// dropped last: listing behind[i].token again gives that page back.
	behind  []droppedPage
	skipped int // tasks in behind
	// moved counts the tasks that moved to the head of the store's order
	// (live changes) while the window of a forward listing did not reach
	// it: they are above the window too.
	moved int
	total int // the listing's size as the service last said; -1 unknown
	// toEnd: page on until the listing's end (G where the service cannot
	// list oldest first).
	toEnd    bool
	inFlight bool
	fetch    fetchEnd // where the page in flight goes
	token    string   // the token it was asked with
	loose    []rowKey // tasks first seen live before the first page came
	loaded   int      // tasks fetched since the listing began
}

// winPage is one page held: the token it was listed with and its tasks.
type winPage struct {
	token string
	keys  []rowKey
}

// droppedPage is a page dropped from the window's start.
type droppedPage struct {
	token string
	n     int
}

// fetchEnd is where a page goes in the window.
type fetchEnd int

const (
	fetchFirst  fetchEnd = iota // a new listing's first page: replaces the rows held
	fetchAhead                  // after the last page
	fetchBehind                 // before the first page (dropped earlier)
)

// held is how many tasks the window holds.
func (l *listing) held() int {
	n := 0
	for _, p := range l.pages {
		n += len(p.keys)
	}
	return n
}

// atHead says whether the window reaches the head of the store's order
// (the newest change), where live changes land.
func (l *listing) atHead() bool {
	if l.reverse {
		return l.done
	}
	return len(l.behind) == 0
}

// unloaded are the tasks of the listing before the window and after it,
// in the store's order (newest first); unknown when the service did not
// say how many there are.
func (l *listing) unloaded() (newer, older int, unknown bool) {
	if len(l.pages) == 0 {
		return 0, 0, false // the first page is on its way: nothing to say yet
	}
	rest := 0
	if !l.done {
		if l.total < 0 {
			unknown = true
		}
		rest = max(l.total-l.skipped-l.moved-l.held(), 0)
	}
	if l.reverse {
		return rest, l.skipped, unknown
	}
	return l.skipped + l.moved, rest, unknown
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

// onCounts takes an agent's counts; an unfiltered listing's size is the
// store's count (live tasks change it between pages).
func (m *Model) onCounts(msg countsMsg) {
	a := m.agentAt(msg.agent)
	if a == nil {
		return
	}
	a.countsInFlight = false
	c := msg.counts
	a.counts = &c
	if msg.gen == a.listGen && a.list.query == (a2a.ListRequest{}) && c.total >= 0 {
		a.list.total = c.total
	}
}

// startListing lists query from its first page on every open agent,
// replacing the listings in progress (whose late pages are dropped by
// generation).
func (m *Model) startListing(query a2a.ListRequest) tea.Cmd {
	m.table.query = query
	m.table.wantEnd, m.table.heading = 0, 0
	cmds := make([]tea.Cmd, 0, len(m.fleet))
	for _, a := range m.fleet {
		cmds = append(cmds, m.listAgent(a))
	}
	return tea.Batch(cmds...)
}

// listAgent lists the table's query on one agent from its first page,
// newest first.
func (m *Model) listAgent(a *fleetAgent) tea.Cmd {
	return m.relist(a, false, false)
}

// relist starts agent a's listing again from one end: newest first, or
// oldest first (reverse); toEnd pages on to the listing's end. The rows
// held stay until the first page replaces them.
func (m *Model) relist(a *fleetAgent, reverse, toEnd bool) tea.Cmd {
	if !a.open() {
		return nil
	}
	a.listGen++
	a.list = listing{query: m.table.query, reverse: reverse, toEnd: toEnd, total: -1, byCreated: m.wantsCreated(a)}
	a.loading = true
	m.table.loading = true
	a.countsInFlight = true
	a.countsAt = m.com.Now
	return tea.Batch(m.fetch(a, fetchFirst), a.calls.counts(a.listGen))
}

// fetch asks for the page of agent a's listing that goes at end.
func (m *Model) fetch(a *fleetAgent, end fetchEnd) tea.Cmd {
	l := &a.list
	token := l.next
	switch end {
	case fetchFirst:
		token = ""
	case fetchBehind:
		token = l.behind[len(l.behind)-1].token
	}
	l.inFlight, l.fetch, l.token = true, end, token
	a.loading = true
	m.table.loading = true
	q := l.query
	q.Reverse, q.ByCreated = l.reverse, l.byCreated
	return a.calls.list(a.listGen, token, q)
}

// inScope says whether agent a's rows show.
func (m *Model) inScope(a *fleetAgent) bool {
	s := m.table.rows.scope
	return s == allAgents || s == a.index
}

// displayReversed says the table shows the store's order upside down
// (oldest at the top), so the window's edges swap.
func (m *Model) displayReversed() bool { return m.table.rows.order.reverse }

// moreRows asks the agents in scope for the page next to the window's
// edge the cursor nears (or, for G on a service that lists newest first
// only, the next page until the last).
func (m *Model) moreRows() tea.Cmd {
	t := &m.table
	// The window moves the way the user last moved only: with few rows
	// showing (a filter the rows held answer) the cursor is near both
	// edges, and pages asked for at both would swing it back and forth.
	nearBottom := t.heading >= 0 && len(t.rows.visible)-t.cursor <= prefetchRows
	nearTop := t.heading < 0 && t.cursor < prefetchRows
	var cmds []tea.Cmd
	for _, a := range m.fleet {
		l := &a.list
		if !a.open() || !m.inScope(a) || l.inFlight || (len(l.pages) == 0 && !l.done) {
			continue
		}
		// down: toward the oldest task (the bottom, unless reversed).
		listingGoesDown := l.reverse == m.displayReversed()
		ahead, behind := !l.done, len(l.behind) > 0
		switch {
		case l.toEnd && ahead:
			cmds = append(cmds, m.fetch(a, fetchAhead))
		case nearBottom && listingGoesDown && ahead, nearTop && !listingGoesDown && ahead:
			cmds = append(cmds, m.fetch(a, fetchAhead))
		case nearBottom && !listingGoesDown && behind, nearTop && listingGoesDown && behind:
			cmds = append(cmds, m.fetch(a, fetchBehind))
		}
	}
	return tea.Batch(cmds...)
}

// agentLoaded reports whether every task of agent a's unfiltered listing
// is held.
func (m *Model) agentLoaded(a *fleetAgent) bool {
	l := &a.list
	return l.done && len(l.behind) == 0 && len(l.pages) > 0 && !l.inFlight && l.query == (a2a.ListRequest{})
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

// unloaded sums the tasks of the agents in scope above and below their
// windows, as the table shows them; unknown when an agent did not say.
func (m *Model) unloaded() (above, below int, unknown bool) {
	for _, a := range m.fleet {
		if !a.open() || !m.inScope(a) {
			continue
		}
		newer, older, u := a.list.unloaded()
		above, below, unknown = above+newer, below+older, unknown || u
	}
	if m.displayReversed() {
		above, below = below, above
	}
	return above, below, unknown
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

// storeFilters says whether the service answers the state filter (the
// others filter the rows held).
func (s *rowSet) storeFilters() bool {
	return s.only != "" || s.state == filterAll || s.state == filterDone
}

// storeSorted says whether the table's order is the store's (each
// window is then exactly a slice of it): the order of the last change,
// or creation where every agent in scope lists by creation.
func (m *Model) storeSorted() bool {
	switch m.table.rows.order.order {
	case sortUpdated:
		return true
	case sortCreated:
		for _, a := range m.fleet {
			if a.open() && m.inScope(a) && !a.list.byCreated {
				return false
			}
		}
		return true
	}
	return false
}

// wantsCreated says whether agent a's listing should be in creation
// order: the table is sorted by AGE and the service can (a local store,
// or a2atop's own socket or serve; a remote agent answers ErrUnsupported).
func (m *Model) wantsCreated(a *fleetAgent) bool {
	return m.table.rows.order.order == sortCreated && !a.noCreated
}

// orderStale says whether some agent lists in another order than the
// table's sort wants (the sort changed between AGE and another).
func (m *Model) orderStale() bool {
	for _, a := range m.fleet {
		if a.open() && a.list.byCreated != m.wantsCreated(a) {
			return true
		}
	}
	return false
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

// jumpToEnd is G (bottom) and g (top). When the window holds that end
// (or everything), it selects the row there; otherwise each agent in
// scope lists from that end: oldest first with Reverse, or, where the
// service lists newest first only, page by page to its end (the window
// still bounded); the row is selected when the pages are in.
func (m *Model) jumpToEnd(bottom bool) tea.Cmd {
	t := m.sizedTable()
	above, below, unknown := m.unloaded()
	beyond := above > 0
	if bottom {
		beyond = below > 0 || unknown
	}
	if !beyond || m.allLoaded() {
		if bottom {
			return m.moved(t.selectIndex(len(t.rows.visible) - 1))
		}
		return m.moved(t.selectIndex(0))
	}
	t.wantEnd, t.heading = -1, -1
	if bottom {
		t.wantEnd, t.heading = 1, 1
	}
	oldest := bottom != m.displayReversed()
	var cmds []tea.Cmd
	for _, a := range m.fleet {
		if !a.open() || !m.inScope(a) {
			continue
		}
		switch {
		case oldest && a.noReverse:
			cmds = append(cmds, m.relist(a, false, true))
		default:
			cmds = append(cmds, m.relist(a, oldest, false))
		}
	}
	if bottom && !m.displayReversed() && slices.ContainsFunc(m.fleet, func(a *fleetAgent) bool { return a.noReverse && m.inScope(a) }) {
		cmds = append(cmds, m.setNote("paging to the oldest task (this agent lists newest first only)…"))
	}
	return tea.Batch(cmds...)
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
	fetched := 0
	for _, a := range m.fleet {
		if a.list.toEnd {
			fetched += a.list.loaded
		}
	}
	switch {
	case t.loading && fetched > 0:
		return fmt.Sprintf(", paging %d…", fetched)
	case t.loading:
		return ", loading…"
	case m.allLoaded():
		return ""
	}
	return fmt.Sprintf(", %d loaded", len(t.rows.byKey))
}
