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
	message       string // the first user message's text, cleaned, at most maxRowText bytes
	meta          string // metadata as compact JSON, cleaned and bounded, for filter and detail
	created       time.Time
	updated       time.Time
	// agentAt is the newest status time the agent itself stamped. Only
	// agent stamps order snapshots and events: a time the client or the
	// dashboard stamped on arrival says nothing about the agent's order.
	agentAt   time.Time
	artifacts []string // artifact ids seen (bounded); count is len
	progress  float64  // 0..1 parsed from "i/n" or "n%" status text; <0 when none
	// form is the options a waiting task's question offers (nil: none);
	// labels are the agent's, cleaned where shown.
	form     *choice.Form
	timeline []timelineEntry
	// mark flags a row taken out of the visible list during a merge.
	mark bool
	// shown says the row is in the visible list, listed that it is in
	// all (both kept by merge and rebuild), so a merge of rows not listed
	// skips the pass over the list and indexOf can binary-search.
	shown, listed bool
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

// stale reports whether a status is older than what the row shows: its
// agent stamp is before the newest agent stamp seen, or it would take a
// finished task back to an unfinished state (terminal states are final).
func (r *row) stale(st a2a.TaskStatus) bool {
	if !st.Timestamp.IsZero() && !r.agentAt.IsZero() && st.Timestamp.Before(r.agentAt) {
		return true
	}
	return r.state.Terminal() && !st.State.Terminal()
}

// applyTask replaces what the row knows with a snapshot. It returns false
// when the snapshot is older than what the row already has (a List page
// racing with live events).
func (r *row) applyTask(t *a2a.Task, at time.Time) bool {
	if r.stale(t.Status) {
		return false
	}
	return r.replaceWith(t, at)
}

// replaceWith takes the snapshot as the truth (GetTask on r: the agent's
// own word beats whatever order the events came in).
func (r *row) replaceWith(t *a2a.Task, at time.Time) bool {
	if ts := t.Status.Timestamp; !ts.IsZero() {
		at = ts
		r.agentAt = ts
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
	if r.message == "" {
		for _, m := range t.History {
			if m.Role == a2a.RoleUser {
				r.message = cleanLine(m.Text(), maxRowText)
				break
			}
		}
	}
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
		if r.stale(ev.Status) {
			return
		}
		if ts := ev.Status.Timestamp; ts.After(r.agentAt) {
			r.agentAt = ts
		}
		r.setStatus(ev.Status, at)
	case *a2a.ArtifactUpdateEvent:
		r.addArtifact(ev.Artifact.ID)
		r.touch(at)
	case *a2a.Message:
		if r.message == "" && ev.Role == a2a.RoleUser {
			r.message = cleanLine(ev.Text(), maxRowText)
		}
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

// filterWords are the names :state takes for the filters (f's names,
// shortened where f's name has spaces).
var filterWords = [numStateFilters]string{"all", "active", "waiting", "failed", "done"}

func parseStateFilter(word string) (stateFilter, bool) {
	for f, w := range filterWords {
		if w == word {
			return stateFilter(f), true
		}
	}
	return filterAll, false
}

// stateFilterWords are what :state completes: the filters, then every
// task state they do not already name.
func stateFilterWords() []string {
	out := append([]string(nil), filterWords[:]...)
	for _, st := range a2a.States() {
		if !slices.Contains(out, string(st)) {
			out = append(out, string(st))
		}
	}
	return out
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
		// "done" means completed, as the header's "✓ n done" counts it;
		// failed and canceled work has its own filter and state names.
		return st == a2a.StateCompleted
	}
	return true
}

// The orders the o key cycles through; each also has a column key
// (sortKeys) and a name for `:sort`.
type sortOrder int

// The default is newest created first: rows stay put while their tasks
// tick (ordering by the last change made two live tasks swap rows at
// every event).
const (
	sortCreated sortOrder = iota
	sortUpdated
	sortState
	sortID
	sortMessage
	numSortOrders
)

func (s sortOrder) String() string {
	return [...]string{"created", "updated", "state", "id", "message"}[s]
}

// parseSortOrder reads a sort order's name (or a unique prefix of it).
func parseSortOrder(name string) (sortOrder, bool) {
	found, n := sortCreated, 0
	for o := range numSortOrders {
		if o.String() == name {
			return o, true
		}
		if name != "" && strings.HasPrefix(o.String(), name) {
			found, n = o, n+1
		}
	}
	return found, n == 1
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

// cmp orders rows (a before b: a shows higher in the table) in the
// order's natural direction: newest first for times, the tasks that need
// the user first for state, A to Z for ids and messages; by the order's key, then by update time (newest
// first; for created, by task id instead, as a store lists by creation), task id and agent: a total order, so the visible list can be
// binary-searched. One comparison per pair (not two less calls), as a
// rebuild sorts every row of a fleet.
func (s sortOrder) cmp(a, b *row) int {
	switch s {
	case sortID:
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.agent, b.agent)
	case sortMessage:
		if c := strings.Compare(a.message, b.message); c != 0 {
			return c
		}
	case sortCreated:
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		// Ties by id, newest first: the engine's UUIDv7 ids of one
		// millisecond order by their sequence, as a store lists them
		// (a2a.ListRequest.ByCreated).
		if c := strings.Compare(b.id, a.id); c != 0 {
			return c
		}
		return cmp.Compare(a.agent, b.agent)
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

// sorting is an order and its direction.
type sorting struct {
	order   sortOrder
	reverse bool
}

func (s sorting) less(a, b *row) bool { return s.cmp(a, b) < 0 }

func (s sorting) cmp(a, b *row) int {
	if s.reverse {
		return s.order.cmp(b, a)
	}
	return s.order.cmp(a, b)
}

func (s sorting) String() string {
	if s.reverse {
		return s.order.String() + " (reversed)"
	}
	return s.order.String()
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
	allOrder sorting
	counts   map[a2a.TaskState]int // across the whole fleet, whatever the scope
	// agentCounts are the counts of each agent, for the agents view.
	agentCounts map[int]map[a2a.TaskState]int

	// scope is the agent whose rows show, or allAgents.
	scope int

	text    string // lower-case filter text
	state   stateFilter
	only    a2a.TaskState // when set, only tasks in this state (:state canceled)
	context string        // when set, only tasks of this conversation (:ctx)
	order   sorting
}

// heading is a column's title, with ▼ (natural order) or ▲ (reversed)
// when the table is sorted by it.
func (s *rowSet) heading(o sortOrder, title string) string {
	if s.order.order != o {
		return title
	}
	if s.order.reverse {
		return title + "▲"
	}
	return title + "▼"
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
	if !s.state.keep(r.state) || (s.only != "" && r.state != s.only) || (s.context != "" && r.contextID != s.context) {
		return false
	}
	if s.text == "" {
		return true
	}
	return strings.Contains(strings.ToLower(r.id), s.text) ||
		strings.Contains(strings.ToLower(r.text), s.text) ||
		strings.Contains(strings.ToLower(r.message), s.text) ||
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
// Only rows already listed need taking out: a page of tasks never seen
// (lazy loading) after the last row costs O(page), not O(rows).
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
	anyListed, anyShown := false, false
	for r := range changed {
		r.mark = true
		anyListed = anyListed || r.listed
		anyShown = anyShown || r.shown
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
		s.visible = s.mergeSorted(s.visible, addVisible, anyShown)
	}
	s.all = s.mergeSorted(s.all, add, anyListed)
	if !filtered {
		s.visible = s.all
	}
	for _, r := range add {
		r.mark, r.listed = false, true
		r.shown = !filtered || s.matches(r)
	}
}

// mergeSorted drops the marked rows from list (in place, when some may be
// in it) and merges add, sorted, into what is left.
func (s *rowSet) mergeSorted(list, add []*row, dropMarked bool) []*row {
	kept := list
	if dropMarked {
		kept = list[:0]
		for _, r := range list {
			if !r.mark {
				kept = append(kept, r)
			} else {
				r.shown = false
			}
		}
	}
	if len(add) == 0 || len(kept) == 0 || !s.order.less(add[0], kept[len(kept)-1]) {
		return append(kept, add...) // all after the last row: the next page
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

// remove forgets rows (a window's page dropped): they leave byKey, the
// counts and both lists, which stay sorted.
func (s *rowSet) remove(rows []*row) {
	if len(rows) == 0 {
		return
	}
	for _, r := range rows {
		r.mark = true
		delete(s.byKey, r.key)
		s.count(r.agent, r.state, -1)
	}
	kept := func(list []*row) []*row {
		out := make([]*row, 0, len(list))
		for _, r := range list {
			if !r.mark {
				out = append(out, r)
			}
		}
		return out
	}
	if s.all != nil {
		s.all = kept(s.all)
	}
	if s.filtered() || s.all == nil {
		s.visible = kept(s.visible)
	} else {
		s.visible = s.all
	}
	for _, r := range rows {
		r.mark, r.shown, r.listed = false, false, false
	}
}

// filtered says whether some rows are hidden (scope, state,
// conversation or text).
func (s *rowSet) filtered() bool {
	return s.scope != allAgents || s.state != filterAll || s.only != "" || s.context != "" || s.text != ""
}

// rebuild makes the visible list again after a filter, scope or sort
// change. Every row stays sorted in all (re-sorted only when the order
// changed), so switching scope or filter is one pass over the rows, not a
// sort of the whole fleet; without a filter the visible list is all.
func (s *rowSet) rebuild() {
	// A row changed without a merge since (or a new order) needs the
	// sort; checking costs one pass, as the filter does.
	if s.all == nil || s.allOrder != s.order || len(s.all) != len(s.byKey) || !slices.IsSortedFunc(s.all, s.order.cmp) {
		all := make([]*row, 0, len(s.byKey))
		for _, r := range s.byKey {
			r.listed = true
			all = append(all, r)
		}
		slices.SortFunc(all, s.order.cmp)
		s.all, s.allOrder = all, s.order
	}
	filtered := s.filtered()
	visible := s.all
	if filtered {
		visible = make([]*row, 0, len(s.visible))
	}
	for _, r := range s.all {
		r.shown = !filtered || s.matches(r)
		if r.shown && filtered {
			visible = append(visible, r)
		}
	}
	s.visible = visible
}

// indexOf is the visible index of the row of key, or -1: a binary
// search, as the visible list is sorted by the order's total comparison.
func (s *rowSet) indexOf(key rowKey) int {
	r := s.byKey[key]
	if r == nil || !r.shown {
		return -1
	}
	if i, ok := slices.BinarySearchFunc(s.visible, r, s.order.cmp); ok && s.visible[i] == r {
		return i
	}
	return slices.Index(s.visible, r)
}

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
