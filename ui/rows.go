package ui

import (
	"cmp"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/choice"
	"github.com/a2atop/a2atop/internal/termsafe"
	"github.com/google/uuid"
)

// row is what the UI remembers of a task: enough to draw its table row,
// filter and sort it. The full task is fetched with Get only for the
// selected one.
type row struct {
	key           rowKey // the agent and the task id as the agent gave it
	agent         int    // index of the agent in the fleet
	id, contextID string
	state         a2a.TaskState
	text          string // latest status text, cleaned, at most maxRowText bytes
	meta          string // metadata as compact JSON, cleaned and bounded, for filter and detail
	created       time.Time
	updated       time.Time
	artifacts     []string // artifact ids seen (bounded); count is len
	progress      float64  // 0..1 parsed from "i/n" or "n%" status text; <0 when none
	// form is the options a waiting task's question offers (nil: none);
	// labels are the agent's, cleaned where shown.
	form     *choice.Form
	timeline []timelineEntry
	// mark flags a row taken out of the visible list during a merge.
	mark bool
}

// rowKey names a row: two agents of a fleet may use the same task id, so
// the agent is part of every row's identity. The zero key names no row.
type rowKey struct {
	agent int
	id    string
}

// timelineEntry is one state change or status message of a task.
type timelineEntry struct {
	at    time.Time
	state a2a.TaskState
	text  string
}

const (
	maxArtifactIDs  = 64
	maxTimeline     = 32
	maxTimelineText = 200
	maxMetaText     = 1 << 10
)

var progressRe = regexp.MustCompile(`(\d+)\s*(?:/|of)\s*(\d+)|(\d{1,3})\s*%`)

// parseProgress finds "3/5", "3 of 5" or "60%" in a status text.
func parseProgress(text string) float64 {
	if !strings.ContainsAny(text, "/%") && !strings.Contains(text, " of ") {
		return -1 // the common case, without a regexp
	}
	m := progressRe.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	if m[3] != "" {
		p, _ := strconv.Atoi(m[3])
		return min(float64(p)/100, 1)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	if b <= 0 || a > b {
		return -1
	}
	return float64(a) / float64(b)
}

// createdFromID reads the creation time out of a UUIDv7 task id (the local
// engine's); other ids give the zero time.
func createdFromID(id string) time.Time {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec)
}

func metaText(md a2a.Metadata) string {
	if len(md) == 0 {
		return ""
	}
	raw, err := json.Marshal(md)
	if err != nil {
		return ""
	}
	return cleanLine(string(raw), maxMetaText)
}

func statusText(st a2a.TaskStatus) string {
	return cleanLine(st.Message.Text(), maxRowText)
}

// applyTask replaces what the row knows with a snapshot. It returns false
// when the snapshot is older than what the row already has (a List page
// racing with live events).
func (r *row) applyTask(t *a2a.Task, at time.Time) bool {
	if ts := t.Status.Timestamp; !ts.IsZero() {
		at = ts
	}
	if !r.updated.IsZero() && at.Before(r.updated) {
		return false
	}
	if r.contextID == "" {
		r.contextID = cleanLine(t.ContextID, maxIDText)
	}
	r.setStatus(t.Status, at)
	r.artifacts = r.artifacts[:0]
	for _, a := range t.Artifacts {
		r.addArtifact(a.ID)
	}
	r.meta = metaText(t.Metadata)
	return true
}

func (r *row) setStatus(st a2a.TaskStatus, at time.Time) {
	text := statusText(st)
	state := st.State
	if state == "" {
		state = a2a.StateUnknown
	}
	if state != r.state || text != r.text {
		r.addTimeline(timelineEntry{at: at, state: state, text: termsafe.TruncateBytes(text, maxTimelineText)})
	}
	r.state = state
	r.text = text
	if st.Message != nil || !state.Interrupted() {
		r.form = formOf(st)
	}
	r.progress = -1
	if state == a2a.StateWorking {
		r.progress = parseProgress(text)
	}
	r.touch(at)
}

func (r *row) touch(at time.Time) {
	if at.After(r.updated) {
		r.updated = at
	}
	// Without a UUIDv7 id the creation time is a guess (first seen);
	// never later than the earliest change seen.
	if !at.IsZero() && at.Before(r.created) {
		r.created = at
	}
}

func (r *row) addArtifact(id string) {
	if slices.Contains(r.artifacts, id) || len(r.artifacts) >= maxArtifactIDs {
		return
	}
	r.artifacts = append(r.artifacts, termsafe.TruncateBytes(id, maxIDText))
}

func (r *row) addTimeline(e timelineEntry) {
	if len(r.timeline) >= maxTimeline {
		copy(r.timeline, r.timeline[1:])
		r.timeline = r.timeline[:len(r.timeline)-1]
	}
	r.timeline = append(r.timeline, e)
}

// eventTime is when an event happened, as well as the UI can tell.
func eventTime(se a2a.StreamEvent, now time.Time) time.Time {
	if st, ok := se.Event.(*a2a.StatusUpdateEvent); ok && !st.Status.Timestamp.IsZero() {
		return st.Status.Timestamp
	}
	if !se.Time.IsZero() {
		return se.Time
	}
	return now
}

// applyEvent folds one live event into the row.
func (r *row) applyEvent(se a2a.StreamEvent, now time.Time) {
	at := eventTime(se, now)
	switch ev := se.Event.(type) {
	case *a2a.Task:
		r.applyTask(ev, at)
	case *a2a.StatusUpdateEvent:
		if r.contextID == "" {
			r.contextID = cleanLine(ev.ContextID, maxIDText)
		}
		r.setStatus(ev.Status, at)
	case *a2a.ArtifactUpdateEvent:
		r.addArtifact(ev.Artifact.ID)
		r.touch(at)
	case *a2a.Message:
		r.touch(at)
	}
}

// The state filters the f key cycles through.
type stateFilter int

const (
	filterAll stateFilter = iota
	filterActive
	filterWaiting
	filterFailed
	filterDone
	numStateFilters
)

func (f stateFilter) String() string {
	return [...]string{"all", "active", "waiting on me", "failed", "done"}[f]
}

func (f stateFilter) keep(st a2a.TaskState) bool {
	switch f {
	case filterActive:
		return st.Active()
	case filterWaiting:
		return st.Interrupted()
	case filterFailed:
		return st == a2a.StateFailed || st == a2a.StateRejected
	case filterDone:
		return st.Terminal()
	}
	return true
}

// The orders the o key cycles through.
type sortOrder int

const (
	sortUpdated sortOrder = iota
	sortCreated
	sortState
	numSortOrders
)

func (s sortOrder) String() string {
	return [...]string{"updated", "created", "state"}[s]
}

// stateRank puts the tasks that need the user first, then running work,
// then finished work.
func stateRank(st a2a.TaskState) int {
	switch st {
	case a2a.StateInputRequired, a2a.StateAuthRequired:
		return 0
	case a2a.StateWorking:
		return 1
	case a2a.StateSubmitted:
		return 2
	case a2a.StateFailed, a2a.StateRejected:
		return 3
	case a2a.StateCompleted:
		return 4
	case a2a.StateCanceled:
		return 5
	}
	return 6
}

// less orders a before b (a shows higher in the table).
func (s sortOrder) less(a, b *row) bool { return s.cmp(a, b) < 0 }

// cmp orders rows: newest first by the order's time (or state rank), then
// by update time, task id and agent. One comparison per pair (not two
// less calls), as a rebuild sorts every row of a fleet.
func (s sortOrder) cmp(a, b *row) int {
	switch s {
	case sortCreated:
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
	case sortState:
		if c := cmp.Compare(stateRank(a.state), stateRank(b.state)); c != 0 {
			return c
		}
	}
	if c := b.updated.Compare(a.updated); c != 0 {
		return c
	}
	if c := strings.Compare(b.id, a.id); c != 0 {
		return c
	}
	return cmp.Compare(a.agent, b.agent)
}

// rowSet holds every row, the visible (filtered, sorted) list, and counts
// per state. Changes arrive in batches; a batch costs O(rows + changed log
// changed), not a full re-sort.
type rowSet struct {
	byKey   map[rowKey]*row
	visible []*row
	// all is every row in allOrder (nil until the first rebuild); the
	// visible list is all itself when nothing is filtered out.
	all      []*row
	allOrder sortOrder
	counts   map[a2a.TaskState]int // across the whole fleet, whatever the scope
	// agentCounts are the counts of each agent, for the agents view.
	agentCounts map[int]map[a2a.TaskState]int

	// scope is the agent whose rows show, or allAgents.
	scope int

	text  string // lower-case filter text
	state stateFilter
	order sortOrder
}

func newRowSet() *rowSet {
	return &rowSet{byKey: map[rowKey]*row{}, counts: map[a2a.TaskState]int{}, agentCounts: map[int]map[a2a.TaskState]int{}, scope: allAgents}
}

// allAgents is the scope that shows every agent's rows.
const allAgents = -1

// count adds d to the counts of state for r's agent and the fleet.
func (s *rowSet) count(agent int, state a2a.TaskState, d int) {
	s.counts[state] += d
	if s.counts[state] <= 0 {
		delete(s.counts, state)
	}
	ac := s.agentCounts[agent]
	if ac == nil {
		ac = map[a2a.TaskState]int{}
		s.agentCounts[agent] = ac
	}
	ac[state] += d
	if ac[state] <= 0 {
		delete(ac, state)
	}
}

func (s *rowSet) matches(r *row) bool {
	if s.scope != allAgents && r.agent != s.scope {
		return false
	}
	if !s.state.keep(r.state) {
		return false
	}
	if s.text == "" {
		return true
	}
	return strings.Contains(strings.ToLower(r.id), s.text) ||
		strings.Contains(strings.ToLower(r.text), s.text) ||
		strings.Contains(strings.ToLower(r.meta), s.text) ||
		strings.Contains(strings.ToLower(r.contextID), s.text)
}

// get returns the row for key, creating it.
func (s *rowSet) get(key rowKey, now time.Time) (r *row, created bool) {
	if r = s.byKey[key]; r != nil {
		return r, false
	}
	r = &row{key: key, agent: key.agent, id: cleanLine(key.id, maxIDText), state: a2a.StateUnknown, progress: -1, created: createdFromID(key.id)}
	if r.created.IsZero() {
		r.created = now
	}
	s.byKey[key] = r
	s.count(key.agent, r.state, 1)
	return r, true
}

// change runs f on the row of key and keeps counts right; the caller
// merges the changed rows afterwards.
func (s *rowSet) change(key rowKey, now time.Time, f func(r *row)) (r *row, created bool) {
	r, created = s.get(key, now)
	before := r.state
	f(r)
	if r.state != before {
		s.count(r.agent, before, -1)
		s.count(r.agent, r.state, 1)
	}
	return r, created
}

// merge puts changed rows back in place: they leave the lists, and are
// sorted and merged back in (into the visible list only if they match).
func (s *rowSet) merge(changed map[*row]struct{}) {
	if len(changed) == 0 {
		return
	}
	if s.all == nil || s.allOrder != s.order || len(changed) > len(s.byKey)/2 {
		s.all = nil
		s.rebuild()
		return
	}
	add := make([]*row, 0, len(changed))
	for r := range changed {
		r.mark = true
		add = append(add, r)
	}
	slices.SortFunc(add, s.order.cmp)
	filtered := s.filtered()
	if filtered {
		var addVisible []*row
		for _, r := range add {
			if s.matches(r) {
				addVisible = append(addVisible, r)
			}
		}
		s.visible = s.mergeSorted(s.visible, addVisible)
	}
	s.all = s.mergeSorted(s.all, add)
	if !filtered {
		s.visible = s.all
	}
	for _, r := range add {
		r.mark = false
	}
}

// mergeSorted drops the marked rows from list (in place) and merges add,
// sorted, into what is left.
func (s *rowSet) mergeSorted(list, add []*row) []*row {
	kept := list[:0]
	for _, r := range list {
		if !r.mark {
			kept = append(kept, r)
		}
	}
	out := make([]*row, 0, len(kept)+len(add))
	i, j := 0, 0
	for i < len(kept) && j < len(add) {
		if s.order.less(add[j], kept[i]) {
			out = append(out, add[j])
			j++
		} else {
			out = append(out, kept[i])
			i++
		}
	}
	out = append(out, kept[i:]...)
	return append(out, add[j:]...)
}

// filtered says whether some rows are hidden (scope, state or text).
func (s *rowSet) filtered() bool {
	return s.scope != allAgents || s.state != filterAll || s.text != ""
}

// rebuild makes the visible list again after a filter, scope or sort
// change. Every row stays sorted in all (re-sorted only when the order
// changed), so switching scope or filter is one pass over the rows, not a
// sort of the whole fleet; without a filter the visible list is all.
func (s *rowSet) rebuild() {
	if s.all == nil || s.allOrder != s.order {
		all := make([]*row, 0, len(s.byKey))
		for _, r := range s.byKey {
			all = append(all, r)
		}
		slices.SortFunc(all, s.order.cmp)
		s.all, s.allOrder = all, s.order
	}
	if !s.filtered() {
		s.visible = s.all
		return
	}
	visible := make([]*row, 0, len(s.visible))
	for _, r := range s.all {
		if s.matches(r) {
			visible = append(visible, r)
		}
	}
	s.visible = visible
}

func (s *rowSet) indexOf(key rowKey) int {
	for i, r := range s.visible {
		if r.key == key {
			return i
		}
	}
	return -1
}

// oldestWaiting is the task in scope that has waited on the user
// longest, or nil.
func (s *rowSet) oldestWaiting() *row {
	var best *row
	for _, r := range s.byKey {
		if s.scope != allAgents && r.agent != s.scope {
			continue
		}
		if r.state.Interrupted() && (best == nil || r.updated.Before(best.updated) || (r.updated.Equal(best.updated) && r.id < best.id)) {
			best = r
		}
	}
	return best
}

func (s *rowSet) waiting() int {
	return s.counts[a2a.StateInputRequired] + s.counts[a2a.StateAuthRequired]
}
