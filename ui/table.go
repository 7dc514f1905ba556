package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/charmbracelet/x/ansi"
)

// tableColumns are the widths of the table's columns at a width; columns
// that do not fit are dropped, least needed first (context, artifacts,
// updated, message). AGE is the time since the task was created (as in
// k9s), UPDATED the time since its last change; MESSAGE is the first
// thing the user asked, the task's best name.
type tableColumns struct {
	agent, id, state, age, updated, art, ctx, msg, text int
}

// columnsFor lays the columns out; agentW is the AGENT column's width, 0
// when the dashboard watches one agent (the column is hidden).
func columnsFor(width, agentW int) tableColumns {
	c := tableColumns{agent: agentW, id: 8, state: 11, age: 4, updated: 8, art: 3, ctx: 8, msg: 16}
	used := func() int {
		n := 2 + c.id + 1 + c.state + 1 + c.age + 1
		for _, w := range []int{c.agent, c.updated, c.art, c.ctx, c.msg} {
			if w > 0 {
				n += w + 1
			}
		}
		return n
	}
	for _, drop := range []*int{&c.ctx, &c.art, &c.updated, &c.msg} {
		if width-used() >= 16 {
			break
		}
		*drop = 0
	}
	if width >= 140 {
		c.msg = 30
	}
	c.text = max(width-used(), 0)
	return c
}

// taskTable is the task list: it owns the rows (with their filter and
// sort), the cursor, the scroll offset, the selection and the paging of the
// initial load. Every change to the rows goes through change, the one path
// that merges changed rows and keeps the selected task under the cursor.
// Columns, sorting and paging belong here.
type taskTable struct {
	com  *Common
	rows *rowSet

	cursor      int
	offset      int
	selectedKey rowKey // the selected row; the zero key when none
	// marked are the tasks marked with space, for x to cancel together;
	// keyed by row so a cancel goes to each task's own agent.
	marked map[rowKey]bool

	width, height int  // height: task rows shown, without the column header
	focused       bool // the selection is drawn as a whole reversed line

	// loading is true while any agent's first List pages are coming in;
	// each agent's paging is its own (fleetAgent).
	loading bool
	// query is the filters the agents are listed with (see paging.go);
	// wantEnd: G (1) or g (-1) waits for the agents' pages from that end,
	// then selects the row there.
	query   a2a.ListRequest
	wantEnd int
	// heading is the way the user last moved (-1 up, 0 none, 1 down):
	// the window follows it.
	heading int
	// beyondAbove and beyondBelow are the tasks of the agents in scope
	// outside their windows, above and below the rows held (unknown: an
	// agent did not say how many it has).
	beyondAbove, beyondBelow int
	beyondUnknown            bool
	// emptyNote replaces "no tasks yet" when the list failed for a
	// reason the user must fix (credentials).
	emptyNote string
}

func newTaskTable(com *Common) taskTable {
	return taskTable{com: com, rows: newRowSet(), marked: map[rowKey]bool{}}
}

// toggleMark marks or unmarks the selected task.
func (t *taskTable) toggleMark() {
	r := t.selected()
	if r == nil {
		return
	}
	if t.marked[r.key] {
		delete(t.marked, r.key)
	} else {
		t.marked[r.key] = true
	}
}

func (t *taskTable) clearMarks() { clear(t.marked) }

// markedKeys are the marked tasks that can still be canceled, in table
// order, then the marked tasks no longer held (scrolled out of the
// window: their state is not known here, the agent decides); each key
// names the task's agent, where its cancel goes.
func (t *taskTable) markedKeys() []rowKey {
	var keys, gone []rowKey
	for _, r := range t.rows.visible {
		if t.marked[r.key] && !r.state.Terminal() {
			keys = append(keys, r.key)
		}
	}
	for k := range t.marked {
		if t.rows.byKey[k] == nil {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, func(a, b rowKey) int { return cmp.Or(cmp.Compare(a.agent, b.agent), strings.Compare(a.id, b.id)) })
	return append(keys, gone...)
}

// SetSize sets the table's width and the number of task rows it shows. It
// does not scroll: keepCursorVisible does, where the dashboard asks.
func (t *taskTable) SetSize(width, rows int) { t.width, t.height = width, rows }

// SetFocused draws the selection as the whole reversed line (focused) or
// as a mark only.
func (t *taskTable) SetFocused(focused bool) { t.focused = focused }

// ShortHelp is the table's part of the keymap, for the help line.
func (t *taskTable) ShortHelp() []key.Binding { return t.com.Keys.tableHelp() }

// selected returns the row under the cursor, or nil.
func (t *taskTable) selected() *row {
	if t.cursor < 0 || t.cursor >= len(t.rows.visible) {
		return nil
	}
	return t.rows.visible[t.cursor]
}

// rowBatch collects the rows one change touches.
type rowBatch struct {
	set     *rowSet
	now     time.Time
	changed map[*row]struct{}
	created []*row // rows this batch made, for the agents' pulse
}

// change runs f on the row of key (creating it) and marks it for merging.
func (b *rowBatch) change(key rowKey, f func(r *row)) *row {
	r, created := b.set.change(key, b.now, f)
	b.changed[r] = struct{}{}
	if created {
		b.created = append(b.created, r)
	}
	return r
}

// change is the one way rows change: f folds snapshots or events into
// rows through the batch; the changed rows are merged back in place, and
// the selected task stays under the cursor at the same screen row (or, if
// it no longer shows, the cursor stays at its index). It reports whether
// the selection changed.
func (t *taskTable) change(now time.Time, sizeHint int, f func(b *rowBatch)) (selectionChanged bool) {
	prevID, prevScreen := t.selectedKey, t.cursor-t.offset
	atHead := t.offset == 0 && prevScreen == 0
	b := &rowBatch{set: t.rows, now: now, changed: make(map[*row]struct{}, sizeHint)}
	f(b)
	t.rows.merge(b.changed)
	if prevID != (rowKey{}) {
		if i := t.rows.indexOf(prevID); i >= 0 {
			t.cursor = i
			// The selected task keeps its screen row; rows that move
			// out of sight above it are counted in the header (View).
			// At the head of the table (first row selected, nothing
			// above) the head stays in view instead, as tail -f does:
			// new and moving rows show above the selection.
			t.offset = t.cursor - prevScreen
			if atHead {
				t.offset = 0
			}
			t.keepCursorVisible()
			return false
		}
	}
	t.keepCursorVisible()
	return t.syncSelection(prevID)
}

// remove forgets the rows of keys (all but the selected one when
// keepSelected); the selected task keeps its screen row, as in change.
// It reports whether the selection changed.
func (t *taskTable) remove(keys []rowKey, keepSelected bool) (selectionChanged bool) {
	prevID, prevScreen := t.selectedKey, t.cursor-t.offset
	var gone []*row
	for _, k := range keys {
		if r := t.rows.byKey[k]; r != nil && !(keepSelected && k == prevID) {
			gone = append(gone, r)
		}
	}
	if len(gone) == 0 {
		return false
	}
	t.rows.remove(gone)
	if i := t.rows.indexOf(prevID); i >= 0 {
		t.cursor = i
		t.offset = t.cursor - prevScreen
		t.keepCursorVisible()
		return false
	}
	t.keepCursorVisible()
	return t.syncSelection(prevID)
}

// refilter rebuilds the visible list after a filter or sort change and
// keeps the selection when the selected task still shows.
func (t *taskTable) refilter() (selectionChanged bool) {
	t.rows.rebuild()
	if i := t.rows.indexOf(t.selectedKey); i >= 0 {
		t.cursor = i
	}
	return t.afterCursorMove()
}

// clearFilters shows every task again.
func (t *taskTable) clearFilters() {
	t.rows.text, t.rows.state, t.rows.only, t.rows.context = "", filterAll, "", ""
	t.rows.rebuild()
}

// moveCursor moves the selection by delta rows.
func (t *taskTable) moveCursor(delta int) (selectionChanged bool) {
	t.cursor += delta
	switch {
	case delta < 0:
		t.heading = -1
	case delta > 0:
		t.heading = 1
	}
	return t.afterCursorMove()
}

// selectIndex puts the cursor on visible row i.
func (t *taskTable) selectIndex(i int) (selectionChanged bool) {
	t.cursor = i
	return t.afterCursorMove()
}

// selectKey puts the cursor on the row of key if it shows.
func (t *taskTable) selectKey(key rowKey) (selectionChanged bool) {
	if i := t.rows.indexOf(key); i >= 0 {
		t.cursor = i
	}
	return t.afterCursorMove()
}

func (t *taskTable) afterCursorMove() (selectionChanged bool) {
	t.keepCursorVisible()
	return t.syncSelection(t.selectedKey)
}

// syncSelection makes the selection the task under the cursor.
func (t *taskTable) syncSelection(prev rowKey) (changed bool) {
	t.selectedKey = rowKey{}
	if r := t.selected(); r != nil {
		t.selectedKey = r.key
	}
	return t.selectedKey != prev
}

// keepCursorVisible clamps the cursor and scrolls the table to show it.
func (t *taskTable) keepCursorVisible() {
	n := len(t.rows.visible)
	t.cursor = max(0, min(t.cursor, n-1))
	h := max(t.height, 1)
	if t.offset > t.cursor {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+h {
		t.offset = t.cursor - h + 1
	}
	t.offset = max(0, min(t.offset, n-h))
	t.offset = max(t.offset, 0)
}

// navigate handles the table's own keys (cursor movement). handled is
// false for a key that is not the table's.
func (t *taskTable) navigate(msg tea.KeyPressMsg) (handled, selectionChanged bool) {
	k := t.com.Keys
	page := max(t.height-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		return true, t.moveCursor(-1)
	case key.Matches(msg, k.Down):
		return true, t.moveCursor(1)
	case key.Matches(msg, k.PageUp):
		return true, t.moveCursor(-page)
	case key.Matches(msg, k.PageDown):
		return true, t.moveCursor(page)
	case key.Matches(msg, k.Top):
		return true, t.selectIndex(0)
	case key.Matches(msg, k.Bottom):
		return true, t.selectIndex(len(t.rows.visible) - 1)
	}
	return false, false
}

// rowAt is the index of the visible row drawn y lines below the column
// header, or -1.
func (t *taskTable) rowAt(y int) int {
	if y < 0 || y >= t.height {
		return -1
	}
	if i := t.offset + y; i < len(t.rows.visible) {
		return i
	}
	return -1
}

// View draws the column header and the visible rows only: its cost
// depends on the height, not on the number of tasks.
func (t *taskTable) View() string {
	width, height := t.width, t.height+1
	if height <= 0 || width <= 0 {
		return ""
	}
	st := t.com.Styles
	c := columnsFor(width, t.agentWidth())
	var b strings.Builder
	h := t.rows.heading
	head := "  "
	if c.agent > 0 {
		head += fit("AGENT", c.agent) + " "
	}
	head += fit(h(sortID, "ID"), c.id) + " " + fit(h(sortState, "STATE"), c.state) + " " + fit(h(sortCreated, "AGE"), c.age) + " "
	if c.updated > 0 {
		head += fit(h(sortUpdated, "UPDATED"), c.updated) + " "
	}
	if c.art > 0 {
		head += fit("ART", c.art) + " "
	}
	if c.ctx > 0 {
		head += fit("CONTEXT", c.ctx) + " "
	}
	if c.msg > 0 {
		head += fit(h(sortMessage, "MESSAGE"), c.msg) + " "
	}
	head += "STATUS"
	// Rows out of sight are never silent: the header counts them, held
	// or not.
	above := t.offset + t.beyondAbove
	below := max(len(t.rows.visible)-t.offset-t.height, 0) + t.beyondBelow
	more := ""
	if above > 0 {
		more += fmt.Sprintf(" ↑ %d more", above)
	}
	switch {
	case t.beyondUnknown:
		more += fmt.Sprintf(" ↓ %d+ more", below)
	case below > 0:
		more += fmt.Sprintf(" ↓ %d more", below)
	}
	if more != "" {
		head = fit(head, max(width-ansi.StringWidth(more), 0)) + more
	}
	b.WriteString(st.TableHead.Render(fit(head, width)))
	if len(t.rows.visible) == 0 {
		b.WriteString("\n")
		msg := "no tasks yet: press n to send the agent a message"
		if len(t.rows.byKey) > 0 {
			msg = "no task matches the filter (f cycles state filters, / edits text, esc clears)"
		}
		if t.loading {
			msg = "loading tasks…"
		}
		if t.emptyNote != "" {
			msg = t.emptyNote
		}
		b.WriteString(st.Muted.Render(cut(msg, width)))
		return b.String()
	}
	end := min(t.offset+t.height, len(t.rows.visible))
	for i := t.offset; i < end; i++ {
		b.WriteString("\n")
		b.WriteString(t.rowView(t.rows.visible[i], c, width, i == t.cursor))
	}
	return b.String()
}

func (t *taskTable) rowView(r *row, c tableColumns, width int, selected bool) string {
	st := t.com.Styles
	mark := " "
	switch {
	case selected:
		mark = "›"
	case t.marked[r.key]:
		mark = "•"
	case r.state.Interrupted():
		mark = "◆"
	}
	if selected && t.marked[r.key] {
		mark = "»"
	}
	sym := stateSymbol(r.state)
	if r.state == a2a.StateWorking {
		sym = spinnerFrames[t.com.Frame%len(spinnerFrames)]
	}
	stateCell := st.State(r.state).Render(fit(sym+" "+stateName(r.state), c.state))
	line := mark + " "
	if c.agent > 0 {
		line += t.com.agentLabel(r.agent, c.agent) + " "
	}
	line += fit(shortID(r.id), c.id) + " " + stateCell + " " + fit(age(t.com.Now, r.created), c.age) + " "
	if c.updated > 0 {
		line += fit(age(t.com.Now, r.updated), c.updated) + " "
	}
	if c.art > 0 {
		n := ""
		if len(r.artifacts) > 0 {
			n = fmt.Sprint(len(r.artifacts))
		}
		line += fit(n, c.art) + " "
	}
	if c.ctx > 0 {
		line += st.Muted.Render(fit(shortID(r.contextID), c.ctx)) + " "
	}
	if c.msg > 0 {
		line += fit(cut(r.message, c.msg), c.msg) + " "
	}
	text := r.text
	if r.progress >= 0 && c.text >= 20 {
		text = progressBar(r.progress, 8) + " " + text
	}
	if r.state.Interrupted() && t.com.Keys.Answer.Enabled() {
		text = st.Badge.Render(cut("ANSWER ▸ "+text, c.text))
	} else {
		text = cut(text, c.text)
	}
	line += text
	if selected {
		if t.focused {
			return st.Selected.Render(fit(stripStyles(line), width))
		}
		return st.SelectedMark.Render(mark) + line[len(mark):]
	}
	return line
}

func progressBar(p float64, w int) string {
	n := int(p*float64(w) + 0.5)
	n = max(0, min(n, w))
	return strings.Repeat("▰", n) + strings.Repeat("▱", w-n)
}

// age is a compact "time since": 5s, 3m, 2h, 4d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
