package ui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// updateKey routes a key by focus: an open dialog gets every key (only
// esc, enter and ctrl keys mean something else there), then the detail
// pane or the table.
func (m *Model) updateKey(msg tea.KeyPressMsg) tea.Cmd {
	if !key.Matches(msg, m.com.Keys.Quit) {
		m.quitArmed = false
	}
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	switch m.dialogs.open {
	case dialogFilter:
		return m.keyFilter(msg)
	case dialogAnswer:
		return m.keyAnswer(msg)
	case dialogCompose:
		return m.keyCompose(msg)
	case dialogConfirmCancel:
		return m.keyConfirmCancel(msg)
	case dialogSave:
		return m.keySave(msg)
	case dialogConfirmOverwrite:
		return m.keyConfirmOverwrite(msg)
	case dialogCommand:
		return m.keyCommand(msg)
	case dialogAgents:
		return m.keyAgents(msg)
	case dialogPickAgent:
		return m.keyPickAgent(msg)
	case dialogHelp, dialogAgent, dialogDescribe:
		return m.keyFull(msg)
	}
	if cmd, ok := m.keyGlobal(msg); ok {
		return cmd
	}
	if m.focus == focusDetail && m.detailVisible() {
		return m.keyDetail(msg)
	}
	return m.keyTable(msg)
}

// quit quits, unless tasks of this process's engine are running: those
// stop with it (and start over the next time a2atop opens the store), so
// the first q only says so and a second q quits.
func (m *Model) quit() tea.Cmd {
	running := 0
	for _, a := range m.fleet {
		if a.localEngine {
			c := m.table.rows.agentCounts[a.index]
			running += c[a2a.StateWorking] + c[a2a.StateSubmitted]
		}
	}
	if running > 0 && !m.quitArmed {
		m.quitArmed = true
		return m.setFlash(fmt.Sprintf("%d task(s) running: unless another a2atop has this store open they stop now and start over next time · q again quits", running), true)
	}
	return m.quitNow()
}

func (m *Model) quitNow() tea.Cmd {
	m.quitting = true
	return tea.Quit
}

// openFull opens a full-screen view (help, agent card) at its top.
func (m *Model) openFull(kind dialogKind) tea.Cmd {
	m.dialogs.open = kind
	switch kind {
	case dialogHelp:
		m.dialogs.helpPager = pager{}
	case dialogAgent:
		m.dialogs.agentPager = pager{}
	}
	return nil
}

// keyFull handles the full-screen views: they scroll with the table's
// keys; esc (or the key that opened them) closes them.
func (m *Model) keyFull(msg tea.KeyPressMsg) tea.Cmd {
	k := m.com.Keys
	p := &m.dialogs.helpPager
	switch m.dialogs.open {
	case dialogAgent:
		p = &m.dialogs.agentPager
	case dialogDescribe:
		p = &m.dialogs.describe.pager
	}
	if p.scroll(k, msg, len(m.pagerLines()), m.pagerHeight()-1) {
		return nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case m.dialogs.open == dialogDescribe && key.Matches(msg, k.NextTab, k.PrevTab):
		m.dialogs.describe.json = !m.dialogs.describe.json
		m.dialogs.describe.pager = pager{}
	case m.dialogs.open == dialogDescribe && key.Matches(msg, k.Copy):
		text, err := m.dialogs.describe.text()
		if err != nil || text == "" {
			return m.setFlash("nothing to copy yet", true)
		}
		return m.copyText(text, "the task")
	case key.Matches(msg, k.Back, k.Help, k.Agent, k.Describe):
		m.dialogs.open = dialogNone
	case key.Matches(msg, k.Command):
		return m.openCommand()
	}
	return nil
}

// openDescribe shows the selected task whole, as YAML (tab: JSON).
func (m *Model) openDescribe() tea.Cmd {
	r := m.table.selected()
	if r == nil {
		return m.setFlash("select a task to describe it", true)
	}
	d := &m.dialogs.describe
	a := m.agentAt(r.agent)
	if a == nil || !a.open() {
		return m.setFlash("the task's agent is not connected: nothing to describe", true)
	}
	*d = describeDialog{key: r.key, json: d.json}
	m.dialogs.open = dialogDescribe
	return a.calls.describe(r.id)
}

// copyText puts text on the clipboard (OSC 52), within what terminals take.
func (m *Model) copyText(text, what string) tea.Cmd {
	if len(text) > maxClipboard {
		return m.setFlash(fmt.Sprintf("%s is %s, too large to copy", what, humanBytes(len(text))), true)
	}
	return tea.Batch(tea.SetClipboard(text), m.setFlash(fmt.Sprintf("copied %s to the clipboard (OSC 52)", what), false))
}

// keyGlobal handles the keys that mean the same with the table or the
// detail pane focused.
func (m *Model) keyGlobal(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := m.com.Keys
	if m.opts.ReadOnly && isAction(msg) {
		return m.setFlash("read-only: this dashboard does not answer, cancel or send (started with --read-only)", true), true
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit(), true
	case key.Matches(msg, k.Help):
		return m.openFull(dialogHelp), true
	case key.Matches(msg, k.Agent):
		a := m.agentAt(m.focusedAgent())
		m.agentsView.card = a.index
		cmd := m.openFull(dialogAgent)
		if a.info.card == nil && a.open() {
			return tea.Batch(cmd, a.calls.card()), true
		}
		return cmd, true
	case key.Matches(msg, k.Agents):
		return m.openAgentsView(), true
	case key.Matches(msg, k.Command):
		return m.openCommand(), true
	case key.Matches(msg, k.Describe):
		return m.openDescribe(), true
	case key.Matches(msg, k.Scope):
		return m.scopeTo(int(msg.String()[0]) - '1'), true // "0" is allAgents
	case key.Matches(msg, k.Filter):
		m.dialogs.open = dialogFilter
		return m.dialogs.filter.input.Focus(), true
	case key.Matches(msg, k.StateFilter):
		m.table.rows.state = (m.table.rows.state + 1) % numStateFilters
		return m.refilter(), true
	case key.Matches(msg, k.Sort):
		m.table.rows.order = sorting{order: (m.table.rows.order.order + 1) % numSortOrders}
		return m.refilter(), true
	case key.Matches(msg, k.SortID, k.SortState, k.SortAge, k.SortUpdated, k.SortMessage):
		return m.sortBy(columnSort(k, msg)), true
	case key.Matches(msg, k.Reload):
		return m.reload(), true
	case key.Matches(msg, k.Layout):
		// From auto, step past the layout auto already shows, so the
		// first z always changes something.
		if m.layout == layoutAuto {
			m.layout = m.autoLayout()
		}
		m.layout = (m.layout + 1) % numLayouts
		if m.layout == layoutOff {
			m.focus = focusTable
		}
		m.setSize(m.width, m.height)
		if m.detailVisible() && m.detail.task == nil {
			return m.fetchDetail(), true
		}
		return nil, true
	case key.Matches(msg, k.NextTab):
		m.detail.nextTab(1)
		return m.ensureDetail(), true
	case key.Matches(msg, k.PrevTab):
		m.detail.nextTab(-1)
		return m.ensureDetail(), true
	case key.Matches(msg, k.Answer):
		return m.openAnswer(), true
	case key.Matches(msg, k.Cancel):
		if keys := m.table.markedKeys(); len(keys) > 0 {
			m.dialogs.open = dialogConfirmCancel
			m.dialogs.cancelPrompt = fmt.Sprintf("cancel %d marked task(s)? y/n", len(keys))
			m.dialogs.cancelKeys = keys
			return nil, true
		}
		if r := m.table.selected(); r != nil && !r.state.Terminal() {
			if _, refuse := m.agentForAction(r.agent, "cancel"); refuse != nil {
				return refuse, true
			}
			m.dialogs.open = dialogConfirmCancel
			// The question is frozen when asked: the status text
			// ticking under the user's eyes would change what y means.
			m.dialogs.cancelPrompt = fmt.Sprintf("cancel task %s (%s)? y/n", shortID(r.id), cut(r.text, 40))
			m.dialogs.cancelKeys = []rowKey{r.key}
			return nil, true
		}
		return m.setFlash("select a task that is not finished to cancel it", true), true
	case key.Matches(msg, k.New):
		return m.openNew(), true
	case key.Matches(msg, k.Reply):
		r := m.table.selected()
		if r == nil || r.contextID == "" {
			return m.setFlash("select a task with a context to message it", true), true
		}
		return m.replyOn(r), true
	}
	return nil, false
}

// ensureDetail shows the detail pane (if the layout hides it) so that tab
// switching is visible.
func (m *Model) ensureDetail() tea.Cmd {
	if m.layout == layoutOff {
		m.layout = layoutAuto
		m.setSize(m.width, m.height)
	}
	if m.detail.task == nil && m.table.selectedKey.id != "" && !m.detail.loading {
		return m.fetchDetail()
	}
	return nil
}

// sizedTable is the table sized for the screen as it is now: the rows it
// shows depend on the open dialog, the focus and the selection, which
// change within one Update.
func (m *Model) sizedTable() *taskTable {
	m.sizeComponents()
	return &m.table
}

// moved follows a selection change of the table with the detail pane.
func (m *Model) moved(selectionChanged bool) tea.Cmd {
	if selectionChanged {
		return m.selectionChanged()
	}
	return nil
}

func (m *Model) keyTable(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.com.Keys.Bottom):
		return m.jumpToEnd(true)
	case key.Matches(msg, m.com.Keys.Top):
		return m.jumpToEnd(false)
	}
	if handled, changed := m.sizedTable().navigate(msg); handled {
		return tea.Batch(m.moved(changed), m.moreRows())
	}
	k := m.com.Keys
	switch {
	case key.Matches(msg, k.Copy):
		r := m.table.selected()
		if r == nil {
			return m.setFlash("select a task to copy its id", true)
		}
		return m.copyText(r.id, "task id "+shortID(r.id))
	case key.Matches(msg, k.Mark):
		m.table.toggleMark()
		return m.moved(m.sizedTable().moveCursor(1))
	case key.Matches(msg, k.Open):
		if m.table.selected() == nil {
			return nil
		}
		m.focus = focusDetail
		return m.ensureDetail()
	case key.Matches(msg, k.Back):
		if len(m.table.marked) > 0 {
			m.table.clearMarks()
			return nil
		}
		if m.table.rows.text != "" {
			m.dialogs.filter.input.SetValue("")
			m.table.rows.text = ""
			return m.refilter()
		}
		// Then the command line's filters (:ctx, :state STATE).
		if m.table.rows.context != "" || m.table.rows.only != "" {
			m.table.rows.context, m.table.rows.only = "", ""
			return m.refilter()
		}
		// Then f's state filter.
		if m.table.rows.state != filterAll {
			m.table.rows.state = filterAll
			return m.refilter()
		}
	}
	return nil
}

func (m *Model) keyDetail(msg tea.KeyPressMsg) tea.Cmd {
	if m.detail.navigate(msg) {
		return nil
	}
	k := m.com.Keys
	switch {
	case key.Matches(msg, k.Back):
		m.focus = focusTable
	case key.Matches(msg, k.Save):
		return m.openSave()
	case key.Matches(msg, k.Copy):
		return m.copyArtifact()
	}
	return nil
}

// refilter rebuilds the visible list after a filter or sort change, and
// asks the service for what it can filter (state, conversation) when not
// every task is loaded.
func (m *Model) refilter() tea.Cmd {
	moved := m.moved(m.sizedTable().refilter())
	t := &m.table
	// The text goes to the service on enter (syncQuery), not per key;
	// a cleared text stops asking for it at once.
	text := t.query.Text
	if t.rows.text == "" {
		text = ""
	}
	q := t.rows.storeQuery(text)
	if (q == t.query && !m.orderStale()) || m.allLoaded() {
		return tea.Batch(moved, m.moreRows())
	}
	return tea.Batch(moved, m.startListing(q))
}

// reload forgets nothing but asks every agent in scope for every task
// again.
func (m *Model) reload() tea.Cmd {
	cmds := []tea.Cmd{m.setFlash("reloading tasks", false)}
	m.table.query = m.table.rows.storeQuery(m.table.rows.text)
	m.table.wantEnd = 0
	for _, a := range m.fleet {
		if m.inScope(a) {
			cmds = append(cmds, m.loadAgent(a))
			if a.live.watchPause {
				a.live.watchPause = false
				wake := a.wake
				cmds = append(cmds, func() tea.Msg {
					select {
					case wake <- struct{}{}:
					default:
					}
					return nil
				})
			}
		}
	}
	if m.detailVisible() && m.table.selectedKey.id != "" {
		cmds = append(cmds, m.fetchDetail())
	}
	// The tasks still shown as unfinished are asked for one by one: an
	// event lost or taken out of order must not leave one stuck.
	n := 0
	for _, r := range m.table.rows.visible {
		if n >= maxReconcile {
			break
		}
		if a := m.agentAt(r.agent); a != nil && a.open() && !r.state.Terminal() {
			cmds = append(cmds, a.calls.reconcile(r.id))
			n++
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) keyFilter(msg tea.KeyPressMsg) tea.Cmd {
	f := &m.dialogs.filter
	switch msg.String() {
	case "esc":
		f.input.SetValue("")
		f.input.Blur()
		m.dialogs.open = dialogNone
		m.table.rows.text = ""
		return m.refilter()
	case "enter":
		f.input.Blur()
		m.dialogs.open = dialogNone
		return m.syncQuery() // the service searches what is not loaded
	}
	return tea.Batch(f.update(msg), m.setFilterText(f.input.Value()))
}

func (m *Model) setFilterText(s string) tea.Cmd {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == m.table.rows.text {
		return nil
	}
	m.table.rows.text = s
	return m.refilter()
}

// openAnswer opens the answer box for the selected task, or for the task
// that has waited longest when the selected one is not waiting.
func (m *Model) openAnswer() tea.Cmd {
	r := m.table.selected()
	if r == nil || !r.state.Interrupted() {
		r = m.table.rows.oldestWaiting()
		if r == nil {
			return m.setFlash("no task is waiting for an answer", true)
		}
		if i := m.table.rows.indexOf(r.key); i >= 0 {
			m.table.cursor = i
		}
	}
	if _, refuse := m.agentForAction(r.agent, "answer"); refuse != nil {
		return refuse
	}
	m.dialogs.open = dialogAnswer
	focus := m.dialogs.answer.open(r)
	return tea.Batch(m.moved(m.sizedTable().afterCursorMove()), focus)
}

func (m *Model) keyAnswer(msg tea.KeyPressMsg) tea.Cmd {
	a := &m.dialogs.answer
	switch msg.String() {
	case "esc":
		a.close()
		m.dialogs.open = dialogNone
		return nil
	case "tab":
		return a.nextField(1)
	case "shift+tab":
		return a.nextField(-1)
	case "up", "down":
		if a.field == fieldOptions {
			a.picker.move(map[string]int{"up": -1, "down": 1}[msg.String()])
			return nil
		}
	case "enter":
		r := a.task
		if r == nil {
			return nil
		}
		ag, refuse := m.agentForAction(r.agent, "answer")
		if refuse != nil {
			return refuse
		}
		var parts []a2a.Part
		if a.field == fieldOptions && a.picker.active() {
			parts = []a2a.Part{a.picker.answer()}
		} else {
			var err error
			if parts, err = messageParts(a.box.Value(), a.data.Value()); err != nil {
				a.err = err.Error()
				m.setSize(m.width, m.height) // the error line changes the dialog's height
				return nil
			}
		}
		if len(parts) == 0 {
			a.err = "type an answer or JSON data first (esc closes)"
			m.setSize(m.width, m.height)
			return nil
		}
		a.err = ""
		a.close()
		m.dialogs.open = dialogNone
		return tea.Batch(ag.calls.send(parts, r.key.id, r.contextID, nil), m.setFlash("sending answer to "+shortID(r.id), false))
	}
	if a.field == fieldOptions {
		return nil // the option list takes no typing: tab goes to the text box
	}
	return a.update(msg)
}

func (m *Model) keyCompose(msg tea.KeyPressMsg) tea.Cmd {
	c := &m.dialogs.compose
	switch msg.String() {
	case "esc":
		c.close()
		m.dialogs.open = dialogNone
		return nil
	case "tab":
		return c.nextField(1)
	case "shift+tab":
		return c.nextField(-1)
	case "enter":
		parts, err := messageParts(c.box.Value(), c.data.Value())
		if err == nil && len(parts) == 0 {
			err = errors.New("type a message or JSON data first (esc closes)")
		}
		var md a2a.Metadata
		if err == nil {
			md, err = parseMetadata(c.meta.Value())
		}
		if err != nil {
			c.err = err.Error()
			m.setSize(m.width, m.height) // the error line changes the dialog's height
			return nil
		}
		ag, refuse := m.agentForAction(m.lastNew, "new task")
		if refuse != nil {
			return refuse
		}
		ctxID := c.contextID
		c.reset()
		c.close()
		m.dialogs.open = dialogNone
		return ag.calls.send(parts, "", ctxID, md)
	}
	return c.update(msg)
}

func (m *Model) keyConfirmCancel(msg tea.KeyPressMsg) tea.Cmd {
	switch k := m.com.Keys; {
	case key.Matches(msg, k.Confirm):
		m.dialogs.open = dialogNone
		keys := m.dialogs.cancelKeys
		m.dialogs.cancelKeys = nil
		if len(keys) == 1 {
			ag, refuse := m.agentForAction(keys[0].agent, "cancel")
			if refuse != nil {
				return refuse
			}
			return tea.Batch(ag.calls.cancel(keys[0].id), m.setFlash("canceling "+shortID(keys[0].id), false))
		}
		if len(keys) > 1 {
			cmds := []tea.Cmd{m.setFlash(fmt.Sprintf("canceling %d tasks", len(keys)), false)}
			refused := 0
			for _, k := range keys {
				ag := m.agentAt(k.agent)
				if ag == nil || ag.readOnly || !ag.open() {
					refused++
					continue
				}
				cmds = append(cmds, ag.calls.cancel(k.id))
			}
			if refused > 0 {
				cmds[0] = m.setFlash(fmt.Sprintf("canceling %d tasks; %d on read-only or unconnected agents left alone", len(keys)-refused, refused), true)
			}
			m.table.clearMarks()
			return tea.Batch(cmds...)
		}
	case key.Matches(msg, k.Deny):
		m.dialogs.open = dialogNone
	}
	return nil
}

func (m *Model) updatePaste(msg tea.PasteMsg) tea.Cmd {
	cmd, filtered := m.dialogs.paste(msg)
	if filtered {
		return tea.Batch(cmd, m.setFilterText(m.dialogs.filter.input.Value()))
	}
	return cmd
}

func (m *Model) updateWheel(msg tea.MouseWheelMsg) tea.Cmd {
	if m.dialogs.open != dialogNone {
		return nil
	}
	mouse := msg.Mouse()
	delta := 0
	switch mouse.Button {
	case tea.MouseWheelUp:
		delta = -3
	case tea.MouseWheelDown:
		delta = 3
	default:
		return nil
	}
	if m.inDetail(mouse.X, mouse.Y) {
		m.detail.scroll(delta)
		return nil
	}
	return tea.Batch(m.moved(m.sizedTable().moveCursor(delta)), m.moreRows())
}

func (m *Model) updateClick(msg tea.MouseClickMsg) tea.Cmd {
	mouse := msg.Mouse()
	if m.dialogs.open != dialogNone || mouse.Button != tea.MouseLeft {
		return nil
	}
	if m.inDetail(mouse.X, mouse.Y) {
		m.focus = focusDetail
		return nil
	}
	lay := m.sizeComponents()
	if mouse.X >= lay.tableWidth {
		return nil
	}
	i := m.table.rowAt(mouse.Y - lay.tableTop - 1) // below the column header
	if i < 0 {
		return nil
	}
	m.focus = focusTable
	return m.moved(m.sizedTable().selectIndex(i))
}

// isAction reports whether msg is one of the keys that change tasks
// (whether or not they are enabled), so a read-only dashboard can say why
// it ignores them.
func isAction(msg tea.KeyPressMsg) bool {
	all := DefaultKeyMap(false)
	return key.Matches(msg, all.Answer, all.Cancel, all.New, all.Reply)
}

// columnSort is the order a column's sort key stands for.
func columnSort(k KeyMap, msg tea.KeyPressMsg) sortOrder {
	switch {
	case key.Matches(msg, k.SortID):
		return sortID
	case key.Matches(msg, k.SortState):
		return sortState
	case key.Matches(msg, k.SortAge):
		return sortCreated
	case key.Matches(msg, k.SortMessage):
		return sortMessage
	}
	return sortUpdated
}

// sortBy sorts the table by o; asking again for the order it has
// reverses it (as k9s does).
func (m *Model) sortBy(o sortOrder) tea.Cmd {
	cur := m.table.rows.order
	if cur.order == o {
		m.table.rows.order.reverse = !cur.reverse
	} else {
		m.table.rows.order = sorting{order: o}
	}
	return m.refilter()
}
