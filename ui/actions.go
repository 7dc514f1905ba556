package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/google/uuid"
)

const (
	callTimeout = 30 * time.Second
	debounce    = 80 * time.Millisecond
)

// Replies to the dashboard's own calls. Each carries what it answers, so a
// stale reply (the user moved on) is recognised and dropped.
type (
	listMsg struct {
		agent int
		gen   int
		page  *a2a.ListPage
		err   error
		// firstSeen is when the client first saw each task, from a
		// service that knows (a2a.FirstSeer): the created time of a task
		// whose id carries none.
		firstSeen map[string]time.Time
	}
	taskMsg struct {
		key  rowKey
		task *a2a.Task
		err  error
	}
	timelineMsg struct {
		key     rowKey
		entries []timelineEntry
		err     error
	}
	cardMsg struct {
		agent int
		card  *a2a.AgentCard
		err   error
	}
	sentMsg struct {
		agent  int
		answer bool // an answer to a question, not a new task
		taskID string
		res    *a2a.SendResult
		err    error
	}
	canceledMsg struct {
		agent int
		id    string
		task  *a2a.Task
		err   error
	}
)

// serviceCalls builds the Cmds that call the service: each runs off the
// Update loop, is bounded by callTimeout, and reports back with a message.
type serviceCalls struct {
	ctx   context.Context // the dashboard's: canceled when it stops
	svc   a2a.Service
	agent int // the agent's index in the fleet, carried by every reply
}

func (c serviceCalls) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, callTimeout)
}

func (c serviceCalls) list(gen int, token string, query a2a.ListRequest) tea.Cmd {
	req := query
	req.PageSize, req.PageToken, req.IncludeArtifacts = listPageSize, token, true
	// With their history: the first user message names the task (the
	// MESSAGE column).
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		page, err := c.svc.List(ctx, req)
		return listMsg{agent: c.agent, gen: gen, page: page, err: err, firstSeen: firstSeen(c.svc, page)}
	}
}

// firstSeen asks a FirstSeer when each listed task was first seen. It
// reads the client's journal, so it runs in the list Cmd, never in Update.
func firstSeen(svc a2a.Service, page *a2a.ListPage) map[string]time.Time {
	fs, ok := svc.(a2a.FirstSeer)
	if !ok || page == nil {
		return nil
	}
	out := make(map[string]time.Time, len(page.Tasks))
	for _, t := range page.Tasks {
		if t == nil || !createdFromID(t.ID).IsZero() {
			continue // a UUIDv7 id already says when the task was created
		}
		if at, ok := fs.FirstSeen(t.ID); ok {
			out[t.ID] = at
		}
	}
	return out
}

func (c serviceCalls) card() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		card, err := c.svc.Card(ctx)
		return cardMsg{agent: c.agent, card: card, err: err}
	}
}

func (c serviceCalls) get(id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		t, err := c.svc.Get(ctx, a2a.GetRequest{ID: id})
		return taskMsg{key: rowKey{c.agent, id}, task: t, err: err}
	}
}

// reconcileMsg is a task as GetTask returned it on r: the agent's word,
// applied whatever the row showed.
type reconcileMsg struct {
	agent int
	task  *a2a.Task
}

// maxReconcile bounds the Gets one r sends: the unfinished tasks are the
// ones whose state can be wrong, and there are few of them.
const maxReconcile = 64

func (c serviceCalls) reconcile(id string) tea.Cmd {
	zero := 0
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		t, err := c.svc.Get(ctx, a2a.GetRequest{ID: id, HistoryLength: &zero})
		if err != nil || t == nil || t.ID != id {
			return nil
		}
		return reconcileMsg{agent: c.agent, task: t}
	}
}

// describeMsg is the whole task for the describe view.
type describeMsg struct {
	key  rowKey
	task *a2a.Task
	err  error
}

func (c serviceCalls) describe(id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		t, err := c.svc.Get(ctx, a2a.GetRequest{ID: id})
		return describeMsg{key: rowKey{c.agent, id}, task: t, err: err}
	}
}

func (c serviceCalls) timeline(id string) tea.Cmd {
	src, ok := c.svc.(a2a.TimelineSource)
	if !ok {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		evs, err := src.Timeline(ctx, id)
		if err != nil {
			return timelineMsg{key: rowKey{c.agent, id}, err: err}
		}
		entries := make([]timelineEntry, 0, len(evs))
		for _, ev := range evs {
			if e, ok := timelineOf(ev.Event, ev.Time); ok {
				entries = append(entries, e)
			}
		}
		return timelineMsg{key: rowKey{c.agent, id}, entries: entries}
	}
}

// timelineOf describes one event for the timeline tab.
func timelineOf(ev a2a.Event, at time.Time) (timelineEntry, bool) {
	switch ev := ev.(type) {
	case *a2a.Task:
		return timelineEntry{at: at, state: ev.Status.State, text: cleanLine(ev.Status.Message.Text(), maxDetailText)}, true
	case *a2a.StatusUpdateEvent:
		if !ev.Status.Timestamp.IsZero() {
			at = ev.Status.Timestamp
		}
		return timelineEntry{at: at, state: ev.Status.State, text: cleanLine(ev.Status.Message.Text(), maxDetailText)}, true
	case *a2a.ArtifactUpdateEvent:
		what := "artifact "
		if ev.Append {
			what = "artifact chunk "
		}
		name := ev.Artifact.Name
		if name == "" {
			name = ev.Artifact.ID
		}
		if ev.LastChunk {
			what += "(last) "
		}
		return timelineEntry{at: at, text: cleanLine(what+name, maxIDText*2)}, true
	case *a2a.Message:
		return timelineEntry{at: at, text: cleanLine(fmt.Sprintf("message from %s: %s", roleName(ev.Role), ev.Text()), maxDetailText)}, true
	}
	return timelineEntry{}, false
}

func roleName(r a2a.Role) string {
	if r == a2a.RoleUnspecified {
		return "unknown"
	}
	return string(r)
}

// send sends parts as a new task (taskID empty) or as the answer to
// task taskID. It returns as soon as the service accepted the message.
func (c serviceCalls) send(parts []a2a.Part, taskID, contextID string, md a2a.Metadata) tea.Cmd {
	req := &a2a.SendRequest{
		Message: a2a.Message{
			ID:        uuid.NewString(),
			Role:      a2a.RoleUser,
			Parts:     parts,
			TaskID:    taskID,
			ContextID: contextID,
		},
		Config:   a2a.SendConfig{ReturnImmediately: true},
		Metadata: md,
	}
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		res, err := c.svc.Send(ctx, req)
		return sentMsg{agent: c.agent, answer: taskID != "", taskID: taskID, res: res, err: err}
	}
}

func (c serviceCalls) cancel(id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := c.call()
		defer cancel()
		t, err := c.svc.Cancel(ctx, id)
		return canceledMsg{agent: c.agent, id: id, task: t, err: err}
	}
}

// parseMetadata reads "k=v k2=v2" (commas also separate pairs). A value
// of true, false or a number stays a string: agents read what they expect.
func parseMetadata(s string) (a2a.Metadata, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(fields) == 0 {
		return nil, nil
	}
	md := a2a.Metadata{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("metadata %q: want key=value", f)
		}
		md[k] = v
	}
	return md, nil
}

// updateReply handles the answers to the dashboard's calls.
func (m *Model) updateReply(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case listMsg:
		return m.onList(msg)
	case taskMsg:
		if msg.key != m.detail.key {
			return nil
		}
		if msg.err != nil {
			m.detail.err = msg.err
			return nil
		}
		m.detail.setTask(msg.task)
		return nil
	case timelineMsg:
		if msg.key != m.detail.key {
			return nil
		}
		if msg.err == nil {
			m.detail.setTimeline(msg.entries)
		}
		return nil
	case cardMsg:
		if a := m.agentAt(msg.agent); a != nil {
			a.info = agentInfo{card: msg.card, err: msg.err}
		}
		return nil
	case countsMsg:
		m.onCounts(msg)
		return nil
	case reconcileMsg:
		t := msg.task
		moved := m.sizedTable().change(m.com.Now, 1, func(b *rowBatch) {
			b.change(rowKey{msg.agent, t.ID}, func(r *row) { r.replaceWith(t, m.com.Now) })
		})
		if (rowKey{msg.agent, t.ID}) == m.table.selectedKey {
			m.detail.dirty = true
		}
		return m.moved(moved)
	case describeMsg:
		if d := &m.dialogs.describe; d.key == msg.key {
			d.task, d.err = msg.task, msg.err
		}
		return nil
	case sentMsg:
		return m.onSent(msg)
	case canceledMsg:
		if msg.err != nil {
			if errors.Is(msg.err, a2a.ErrNotCancelable) {
				return m.setFlash("task "+shortID(msg.id)+" is already finished: nothing to cancel", true)
			}
			return m.setFlash("cancel "+shortID(msg.id)+": "+msg.err.Error(), true)
		}
		var cmd tea.Cmd
		if msg.task != nil {
			cmd = m.applySnapshot(msg.agent, msg.task)
		}
		return tea.Batch(cmd, m.setFlash("canceled task "+shortID(msg.id), false))
	case savedMsg:
		return m.onSaved(msg)
	case detailFetchMsg:
		if msg.gen != m.detailGen || msg.key != m.table.selectedKey {
			return nil
		}
		return m.fetchDetail()
	case flashExpiredMsg:
		if msg.gen == m.flash.gen {
			m.flash.text = ""
		}
		return nil
	}
	return nil
}

func (m *Model) fetchDetail() tea.Cmd {
	key := m.table.selectedKey
	a := m.agentAt(key.agent)
	if key.id == "" || a == nil || !a.open() {
		return nil
	}
	m.detail.clear(key)
	m.detail.loading = true
	return tea.Batch(a.calls.get(key.id), a.calls.timeline(key.id))
}

func (m *Model) onSent(msg sentMsg) tea.Cmd {
	if msg.err != nil {
		what := "send"
		if msg.answer {
			what = "answer " + shortID(msg.taskID)
		}
		return m.setFlash(what+": "+msg.err.Error(), true)
	}
	if msg.res == nil || msg.res.Task == nil {
		if msg.res != nil && msg.res.Message != nil {
			return m.setFlash("agent replied: "+msg.res.Message.Text(), false)
		}
		return nil
	}
	t := msg.res.Task
	snapCmd := m.applySnapshot(msg.agent, t)
	if msg.answer {
		return tea.Batch(snapCmd, m.setFlash("answer sent to "+shortID(t.ID), false))
	}
	// Select the new task: clear a filter that would hide it.
	tbl := m.sizedTable()
	key := rowKey{msg.agent, t.ID}
	if tbl.rows.indexOf(key) < 0 && (tbl.rows.text != "" || tbl.rows.state != filterAll) {
		tbl.clearFilters()
		m.dialogs.filter.input.SetValue("")
	}
	if tbl.rows.indexOf(key) < 0 && tbl.rows.scope != allAgents {
		tbl.rows.scope = allAgents
		tbl.rows.rebuild()
	}
	what := "created task " + shortID(t.ID)
	if m.fleetMode() {
		what += " on " + m.com.agentName(msg.agent)
	}
	return tea.Batch(snapCmd, m.moved(tbl.selectKey(key)), m.setFlash(what, false))
}

// shortID is the 8 characters a row shows of a task id. For UUIDs it is
// the tail: UUIDv7 ids made in the same minute share their first
// characters (a timestamp), while the tail is random.
func shortID(id string) string {
	id = cleanLine(id, maxIDText)
	if len(id) <= 8 {
		return id
	}
	if len(id) == 36 && strings.Count(id, "-") == 4 {
		return id[28:]
	}
	return id[:8]
}
