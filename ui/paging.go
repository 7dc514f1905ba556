package ui

import (
	"fmt"
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
	wantAll  bool // G: keep going to the last page, then select it
}

// storeCounts are the service's counts by state, for the header while
// not every task is loaded.
type storeCounts struct {
	byState map[a2a.TaskState]int
	total   int // -1 when the service did not say
}

// countsMsg answers calls.counts.
type countsMsg struct {
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
		return countsMsg{gen: gen, counts: out}
	}
}

// countsEvery is how often the service's counts are asked for again
// while not every task is loaded (live events change them).
const countsEvery = 2 * time.Second

// refreshCounts asks for the counts again when they are due.
func (m *Model) refreshCounts() tea.Cmd {
	t := &m.table
	if t.allLoaded() || t.countsInFlight || m.com.Now.Sub(t.countsAt) < countsEvery {
		return nil
	}
	t.countsInFlight = true
	t.countsAt = m.com.Now
	return m.calls.counts(t.listGen)
}

// onCounts takes the service's counts.
func (m *Model) onCounts(msg countsMsg) {
	m.table.countsInFlight = false
	c := msg.counts
	m.table.counts = &c
}

// startListing lists query from its first page, replacing the listing
// in progress (whose late pages are dropped by generation).
func (m *Model) startListing(query a2a.ListRequest) tea.Cmd {
	t := &m.table
	t.listGen++
	t.list = listing{query: query, inFlight: true}
	t.loading = true
	t.countsInFlight = true
	t.countsAt = m.com.Now
	return tea.Batch(m.calls.list(t.listGen, "", query), m.calls.counts(t.listGen))
}

// moreRows asks for the next page when the cursor nears the last row
// loaded, or when G asked for all of them.
func (m *Model) moreRows() tea.Cmd {
	t := &m.table
	l := &t.list
	if l.done || l.inFlight || l.next == "" {
		return nil
	}
	if !l.wantAll && len(t.rows.visible)-t.cursor > prefetchRows {
		return nil
	}
	l.inFlight = true
	t.loading = true
	return m.calls.list(t.listGen, l.next, l.query)
}

// allLoaded reports whether every task of the unfiltered listing is in,
// so the rows' own counts are the whole truth.
func (t *taskTable) allLoaded() bool {
	return t.list.done && t.list.query == (a2a.ListRequest{})
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
	if q == t.list.query || t.allLoaded() {
		return nil
	}
	return m.startListing(q)
}

// jumpToOldest is G: the last row once every page is in.
func (m *Model) jumpToOldest() tea.Cmd {
	t := m.sizedTable()
	if t.list.done || t.list.next == "" {
		return m.moved(t.selectIndex(len(t.rows.visible) - 1))
	}
	t.list.wantAll = true
	return tea.Batch(m.moreRows(), m.setNote("loading every task to reach the oldest…"))
}

// onList adds a page of tasks and asks for the next one if needed.
func (m *Model) onList(msg listMsg) tea.Cmd {
	tbl := m.sizedTable()
	if msg.gen != tbl.listGen {
		return nil
	}
	tbl.list.inFlight = false
	tbl.loading = false
	if msg.err != nil {
		return m.listFailed(msg.err)
	}
	if msg.page == nil {
		msg.page = &a2a.ListPage{}
	}
	m.live.needsAuth = false
	tbl.emptyNote = ""
	moved := tbl.change(m.com.Now, len(msg.page.Tasks), func(b *rowBatch) {
		for _, t := range msg.page.Tasks {
			if t != nil && t.ID != "" {
				b.change(t.ID, func(r *row) { r.applyTask(t, m.com.Now) })
			}
		}
	})
	l := &tbl.list
	l.loaded += len(msg.page.Tasks)
	l.next = msg.page.NextPageToken
	l.done = l.next == "" || len(msg.page.Tasks) == 0
	cmds := []tea.Cmd{m.moved(moved)}
	if l.done && l.wantAll {
		l.wantAll = false
		cmds = append(cmds, m.moved(tbl.selectIndex(len(tbl.rows.visible)-1)))
	}
	return tea.Batch(append(cmds, m.moreRows())...)
}

// shownCounts are the counts the header shows: the rows' own once every
// task is loaded, else the service's (when it gave them).
func (m *Model) shownCounts() (byState map[a2a.TaskState]int, total int) {
	t := &m.table
	if t.allLoaded() || t.counts == nil {
		return t.rows.counts, len(t.rows.byID)
	}
	return t.counts.byState, max(t.counts.total, len(t.rows.byID))
}

// loadedNote is the header's word on how much is loaded.
func (m *Model) loadedNote() string {
	t := &m.table
	switch {
	case t.loading && t.list.wantAll:
		return fmt.Sprintf(", loading %d…", t.list.loaded)
	case t.loading:
		return ", loading…"
	case !t.list.done && t.list.next != "":
		return fmt.Sprintf(", %d loaded (more as you scroll, G for all)", len(t.rows.byID))
	}
	return ""
}
