package ui

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/termsafe"
	"github.com/google/uuid"
)

// row is what the UI remembers of a task: enough to draw its table row,
// filter and sort it. The full task is fetched with Get only for the
// selected one.
type row struct {
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
	timeline  []timelineEntry
	// mark flags a row taken out of the visible list during a merge.
	mark bool
	// shown says the row is in the visible list (kept by merge and
	// rebuild), so a merge of rows not shown skips the pass over the list
	// and indexOf can binary-search.
	shown bool
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

// less orders a before b (a shows higher in the table) in the order's
// natural direction: newest first for times, the tasks that need the
// user first for state, A to Z for ids and messages.
func (s sortOrder) less(a, b *row) bool {
	switch s {
	case sortID:
		return a.id < b.id
	case sortMessage:
		if a.message != b.message {
			return a.message < b.message
		}
	case sortCreated:
		if !a.created.Equal(b.created) {
			return a.created.After(b.created)
		}
	case sortState:
		if ra, rb := stateRank(a.state), stateRank(b.state); ra != rb {
			return ra < rb
		}
		if !a.updated.Equal(b.updated) {
			return a.updated.After(b.updated)
		}
	}
	if !a.updated.Equal(b.updated) {
		return a.updated.After(b.updated)
	}
	return a.id > b.id
}

// sorting is an order and its direction.
type sorting struct {
	order   sortOrder
	reverse bool
}

func (s sorting) less(a, b *row) bool {
	if s.reverse {
		return s.order.less(b, a)
	}
	return s.order.less(a, b)
}

func (s sorting) cmp(a, b *row) int {
	if s.less(a, b) {
		return -1
	}
	if s.less(b, a) {
		return 1
	}
	return 0
}

func (s sorting) String() string {
	if s.reverse {
		return s.order.String() + " (reversed)"
	}
	return s.order.String()
}

// rowSet holds every row, the visible (filtered, sorted) list, and counts
// per state. Changes arrive in batches; a batch costs O(visible + changed
// log changed), not a full re-sort.
type rowSet struct {
	byID    map[string]*row
	visible []*row
	counts  map[a2a.TaskState]int

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
	return &rowSet{byID: map[string]*row{}, counts: map[a2a.TaskState]int{}}
}

func (s *rowSet) matches(r *row) bool {
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

// get returns the row for id, creating it.
func (s *rowSet) get(id string, now time.Time) (r *row, created bool) {
	if r = s.byID[id]; r != nil {
		return r, false
	}
	r = &row{id: cleanLine(id, maxIDText), state: a2a.StateUnknown, progress: -1, created: createdFromID(id)}
	if r.created.IsZero() {
		r.created = now
	}
	s.byID[id] = r
	s.counts[r.state]++
	return r, true
}

// change runs f on the row of id and keeps counts right; the caller merges
// the changed rows afterwards.
func (s *rowSet) change(id string, now time.Time, f func(r *row)) *row {
	r, _ := s.get(id, now)
	before := r.state
	f(r)
	if r.state != before {
		s.counts[before]--
		if s.counts[before] == 0 {
			delete(s.counts, before)
		}
		s.counts[r.state]++
	}
	return r
}

// merge puts changed rows back in place: they leave the visible list, and
// those that match the filter are sorted and merged back in.
func (s *rowSet) merge(changed map[*row]struct{}) {
	if len(changed) == 0 {
		return
	}
	if len(changed) > len(s.byID)/2 {
		s.rebuild()
		return
	}
	anyShown := false
	for r := range changed {
		if r.shown {
			r.mark, anyShown = true, true
		}
	}
	// Only rows already shown need taking out: a page of tasks never seen
	// (lazy loading) costs O(page), not O(rows).
	kept := s.visible
	if anyShown {
		kept = s.visible[:0]
		for _, r := range s.visible {
			if !r.mark {
				kept = append(kept, r)
			}
		}
	}
	add := make([]*row, 0, len(changed))
	for r := range changed {
		r.mark = false
		r.shown = s.matches(r)
		if r.shown {
			add = append(add, r)
		}
	}
	slices.SortFunc(add, s.order.cmp)
	if len(add) == 0 || len(kept) == 0 || !s.order.less(add[0], kept[len(kept)-1]) {
		s.visible = append(kept, add...) // all after the last row: the next page
		return
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
	out = append(out, add[j:]...)
	s.visible = out
}

// rebuild filters and sorts every row: after a filter or sort change.
func (s *rowSet) rebuild() {
	s.visible = s.visible[:0]
	for _, r := range s.byID {
		r.shown = s.matches(r)
		if r.shown {
			s.visible = append(s.visible, r)
		}
	}
	slices.SortFunc(s.visible, s.order.cmp)
}

// indexOf is the visible index of task id, or -1: a binary search, as
// the visible list is sorted by the order's total comparison.
func (s *rowSet) indexOf(id string) int {
	r := s.byID[id]
	if r == nil || !r.shown {
		return -1
	}
	if i, ok := slices.BinarySearchFunc(s.visible, r, s.order.cmp); ok && s.visible[i] == r {
		return i
	}
	return slices.Index(s.visible, r)
}

// oldestWaiting is the task that has waited on the user longest, or nil.
func (s *rowSet) oldestWaiting() *row {
	var best *row
	for _, r := range s.byID {
		if r.state.Interrupted() && (best == nil || r.updated.Before(best.updated) || (r.updated.Equal(best.updated) && r.id < best.id)) {
			best = r
		}
	}
	return best
}

func (s *rowSet) waiting() int {
	return s.counts[a2a.StateInputRequired] + s.counts[a2a.StateAuthRequired]
}
