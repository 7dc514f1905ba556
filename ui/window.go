package ui

import (
	"errors"
	"slices"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// The window's upkeep (see paging.go): pages coming in, pages dropped at
// the far edge, and live changes, which land at the head of the store's
// order, kept out of a window that does not reach it.

// onList places a page of an agent's tasks in its window and asks for
// the next one if needed.
func (m *Model) onList(msg listMsg) tea.Cmd {
	a := m.agentAt(msg.agent)
	if a == nil || msg.gen != a.listGen {
		return nil
	}
	tbl := m.sizedTable()
	l := &a.list
	l.inFlight = false
	a.loading = false
	tbl.loading = m.anyLoading()
	if msg.err != nil {
		if l.byCreated && errors.Is(msg.err, a2a.ErrUnsupported) {
			// The service lists by the last change only (a remote
			// agent): the AGE order is then over the rows loaded.
			a.noCreated = true
			return m.relist(a, l.reverse, l.toEnd)
		}
		if l.reverse && errors.Is(msg.err, a2a.ErrUnsupported) {
			// The service lists newest first only (a remote agent):
			// reach the oldest task by paging forward to the end.
			a.noReverse = true
			return m.relist(a, false, true)
		}
		return m.listFailed(a, msg.err)
	}
	if msg.page == nil {
		msg.page = &a2a.ListPage{}
	}
	a.live.needsAuth = false
	a.live.listErr = nil
	tbl.emptyNote = ""
	keys := make([]rowKey, 0, len(msg.page.Tasks))
	moved := tbl.change(m.com.Now, len(msg.page.Tasks), func(b *rowBatch) {
		for _, t := range msg.page.Tasks {
			if t != nil && t.ID != "" {
				r := b.change(rowKey{a.index, t.ID}, func(r *row) {
					r.applyTask(t, m.com.Now)
					if seen, ok := msg.firstSeen[t.ID]; ok && seen.Before(r.created) {
						r.created = seen
					}
				})
				keys = append(keys, r.key)
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
	if m.place(a, keys, msg.page) {
		moved = true
	}
	if tbl.wantEnd != 0 && !m.pendingEnd() {
		i := 0
		if tbl.wantEnd > 0 {
			i = len(tbl.rows.visible) - 1
		}
		tbl.wantEnd = 0
		if tbl.selectIndex(i) {
			moved = true
		}
	}
	if m.dropLoose(a) {
		moved = true
	}
	return tea.Batch(m.moved(moved), m.moreRows())
}

// dropLoose forgets agent a's rows outside its window (a task kept while
// selected, a snapshot fetched), unless selected: the rows held stay one
// run of the store's order.
func (m *Model) dropLoose(a *fleetAgent) (selectionChanged bool) {
	l := &a.list
	if len(l.pages) == 0 || m.table.wantEnd != 0 {
		return false
	}
	held := l.keySet()
	var loose []rowKey
	for k := range m.table.rows.byKey {
		if _, ok := held[k]; !ok && k.agent == a.index && k != m.table.selectedKey {
			loose = append(loose, k)
		}
	}
	return m.table.remove(loose, true)
}

// pendingEnd says whether G or g still waits on an agent's pages.
func (m *Model) pendingEnd() bool {
	for _, a := range m.fleet {
		if a.open() && m.inScope(a) && (a.list.inFlight || (a.list.toEnd && !a.list.done)) {
			return true
		}
	}
	return false
}

// place puts a page's tasks (already in the rows) in agent a's window
// where it was asked for, and drops pages beyond windowRows at the other
// edge. It reports whether the selection changed.
func (m *Model) place(a *fleetAgent, keys []rowKey, page *a2a.ListPage) (selectionChanged bool) {
	l := &a.list
	l.loaded += len(keys)
	switch {
	case page.TotalSize >= 0:
		l.total = page.TotalSize
	case l.query == (a2a.ListRequest{}) && a.counts != nil:
		l.total = a.counts.total
	}
	if l.fetch == fetchFirst {
		if !l.reverse {
			keys = append(keys, l.loose...)
		}
		l.loose = nil
		l.pages = []winPage{{keys: dedupe(keys, nil)}}
		l.next, l.done = page.NextPageToken, page.NextPageToken == "" || len(page.Tasks) == 0
		l.toEnd = l.toEnd && !l.done
		// The rows of the listing this one replaced go.
		var stale []rowKey
		held := l.keySet()
		for k := range m.table.rows.byKey {
			if _, ok := held[k]; !ok && k.agent == a.index {
				stale = append(stale, k)
			}
		}
		return m.table.remove(stale, false)
	}
	keys = dedupe(keys, l.keySet())
	var dropped []rowKey
	if l.fetch == fetchAhead {
		l.pages = append(l.pages, winPage{token: l.token, keys: keys})
		l.next, l.done = page.NextPageToken, page.NextPageToken == "" || len(page.Tasks) == 0
		l.toEnd = l.toEnd && !l.done
		for l.held() > windowRows && len(l.pages) > 1 {
			dropped = append(dropped, l.dropFirst()...)
		}
	} else {
		b := l.behind[len(l.behind)-1]
		l.behind = l.behind[:len(l.behind)-1]
		l.skipped -= b.n
		l.pages = append([]winPage{{token: b.token, keys: keys}}, l.pages...)
		for l.held() > windowRows && len(l.pages) > 1 {
			dropped = append(dropped, l.dropLast()...)
		}
	}
	return m.table.remove(dropped, true)
}

// dedupe drops from keys those in held and repeated ones (a task that
// moved while the window was listed comes twice).
func dedupe(keys []rowKey, held map[rowKey]struct{}) []rowKey {
	seen := make(map[rowKey]struct{}, len(keys))
	out := keys[:0]
	for _, k := range keys {
		if _, ok := held[k]; ok {
			continue
		}
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out
}

// keySet is every task the window holds.
func (l *listing) keySet() map[rowKey]struct{} {
	set := make(map[rowKey]struct{}, l.held())
	for _, p := range l.pages {
		for _, k := range p.keys {
			set[k] = struct{}{}
		}
	}
	return set
}

// dropFirst drops the window's first page, keeping its token to list it
// again.
func (l *listing) dropFirst() []rowKey {
	p := l.pages[0]
	l.pages = l.pages[1:]
	l.behind = append(l.behind, droppedPage{token: p.token, n: len(p.keys)})
	l.skipped += len(p.keys)
	return p.keys
}

// dropLast drops the window's last page: the listing goes on from it.
func (l *listing) dropLast() []rowKey {
	p := l.pages[len(l.pages)-1]
	l.pages = l.pages[:len(l.pages)-1]
	l.next, l.done = p.token, false
	return p.keys
}

// adoptLive keeps the window true to the store's order after live
// changes of agent a (rows in b): a task changed lands at the head of
// the order, so it joins a window that reaches the head, and leaves one
// that does not (counted above it), unless it is the selected task. In
// creation order only a new task lands at the head (a task not held
// that changed is taken for one: the window does not know where it is). A
// snapshot fetched (live false: a Get, a reconcile) moved nothing: only
// the tasks it made new are placed. It reports whether the selection
// changed.
func (m *Model) adoptLive(a *fleetAgent, b *rowBatch, live bool) (selectionChanged bool) {
	l := &a.list
	var drop []rowKey
	switch {
	case len(l.pages) == 0 && !l.reverse:
		// The first page is on its way: these join it.
		for _, r := range b.created {
			l.loose = append(l.loose, r.key)
		}
	case len(l.pages) == 0:
		for _, r := range b.created {
			drop = append(drop, r.key)
		}
	case l.atHead():
		head := &l.pages[0]
		if l.reverse {
			head = &l.pages[len(l.pages)-1]
		}
		for _, r := range b.created {
			head.keys = append(head.keys, r.key)
		}
		if l.held() > windowRows+listPageSize && len(l.pages) > 1 {
			// Live tasks filled the window: the edge away from the head goes.
			if l.reverse {
				drop = l.dropFirst()
			} else {
				drop = l.dropLast()
			}
		}
	default:
		gone := map[rowKey]struct{}{}
		for r := range b.changed {
			isNew := slices.Contains(b.created, r)
			// In creation order a change moves no task: only tasks new
			// here (created since, or not held) land at the head.
			if r.agent != a.index || r.key == m.table.selectedKey || ((!live || l.byCreated) && !isNew) {
				continue
			}
			gone[r.key] = struct{}{}
			drop = append(drop, r.key)
			switch {
			case !l.reverse:
				l.moved++
			case isNew && l.total >= 0:
				// A task new here is above a reverse window: until the
				// next counts, the listing is one longer.
				l.total++
			}
		}
		if len(gone) > 0 {
			for i := range l.pages {
				l.pages[i].keys = dedupe(l.pages[i].keys, gone)
			}
		}
	}
	return m.table.remove(drop, true)
}
