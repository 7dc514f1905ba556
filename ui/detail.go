package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/choice"
	"github.com/charmbracelet/x/ansi"
)

const (
	tabTimeline = iota
	tabArtifacts
	tabHistory
	numTabs
)

var tabNames = [numTabs]string{"Timeline", "Artifacts", "History"}

// detailPane shows the selected task in full. It holds the only full task
// the dashboard keeps; the tab body is laid out in Update (refresh) and
// only sliced in View. It draws with the shared styles and clock, its own
// size, and the selected task's row (set by the root with setRow).
type detailPane struct {
	com *Common
	row *row // the table's row of key, for the head; nil before it exists

	key         rowKey // the agent and task shown
	task        *a2a.Task
	timeline    []timelineEntry // from the service's TimelineSource
	hasTimeline bool
	loading     bool
	err         error

	tab    int
	offset int
	artIdx int
	// paused is set when the user scrolled up: the pane stops following
	// the tail of the timeline (or of a running task's output) until G.
	paused bool

	width, height int // the whole pane, border included
	bodyHeight    int
	focused       bool

	lines    []string // the current tab's body, laid out
	artStart []int    // line where each artifact starts (artifacts tab)
	dirty    bool
	laidW    int

	jumpToArtifact bool
}

func (d *detailPane) clear(key rowKey) {
	if d.key == key && d.task != nil {
		return
	}
	*d = detailPane{com: d.com, row: d.row, tab: d.tab, paused: d.paused && d.key == key, width: d.width, height: d.height, bodyHeight: d.bodyHeight, focused: d.focused, key: key, dirty: true}
}

// SetSize sets the pane's size, border included.
func (d *detailPane) SetSize(w, h int) { d.width, d.height = w, h }

// SetFocused draws the border of the focused pane.
func (d *detailPane) SetFocused(focused bool) { d.focused = focused }

// setRow gives the pane the table's row of the task it shows (state, ids,
// times, and the timeline seen live when the service keeps none).
func (d *detailPane) setRow(r *row) { d.row = r }

// ShortHelp is the pane's part of the keymap, for the help line.
func (d *detailPane) ShortHelp() []key.Binding { return d.com.Keys.detailHelp() }

// navigate handles the pane's own keys (scrolling, picking an artifact);
// handled is false for a key that is not the pane's.
func (d *detailPane) navigate(msg tea.KeyPressMsg) (handled bool) {
	k := d.com.Keys
	switch {
	case key.Matches(msg, k.Up):
		d.scroll(-1)
	case key.Matches(msg, k.Down):
		d.scroll(1)
	case key.Matches(msg, k.PageUp):
		d.scroll(-max(d.bodyHeight-1, 1))
	case key.Matches(msg, k.PageDown):
		d.scroll(max(d.bodyHeight-1, 1))
	case key.Matches(msg, k.Top):
		d.scrollTo(0)
	case key.Matches(msg, k.Bottom):
		d.paused = false
		d.scrollTo(1 << 30)
	case key.Matches(msg, k.PrevArtifact):
		d.pickArtifact(-1)
	case key.Matches(msg, k.NextArtifact):
		d.pickArtifact(1)
	default:
		return false
	}
	return true
}

func (d *detailPane) setTask(t *a2a.Task) {
	d.task, d.err, d.loading = t, nil, false
	d.artIdx = min(d.artIdx, max(len(t.Artifacts)-1, 0))
	d.dirty = true
}

func (d *detailPane) setTimeline(entries []timelineEntry) {
	if len(entries) > maxDetailTimeline {
		entries = entries[len(entries)-maxDetailTimeline:]
	}
	d.timeline, d.hasTimeline = entries, true
	d.dirty = true
}

// applyLive folds a live event of the shown task into it, so chunked
// artifacts and new statuses appear without a new Get.
func (d *detailPane) applyLive(se a2a.StreamEvent, now time.Time) {
	if d.task != nil {
		if t, err := a2a.Apply(d.task, se.Event); err == nil && t != nil {
			d.task = t
		}
	}
	if d.hasTimeline {
		if e, ok := timelineOf(se.Event, eventTime(se, now)); ok {
			d.timeline = appendBounded(d.timeline, e)
		}
	}
	// Lay the body out again only when the event shows on the open tab:
	// a long artifact is not re-wrapped for every status tick.
	switch se.Event.(type) {
	case *a2a.ArtifactUpdateEvent:
		d.dirty = d.dirty || d.tab == tabArtifacts || d.tab == tabTimeline
	case *a2a.Message, *a2a.StatusUpdateEvent:
		d.dirty = d.dirty || d.tab == tabHistory || d.tab == tabTimeline
	default:
		d.dirty = true
	}
}

// maxDetailTimeline bounds the timeline the detail pane keeps (the newest
// entries): a task that ticks for hours must not grow the pane forever.
const maxDetailTimeline = 2000

func appendBounded(tl []timelineEntry, e timelineEntry) []timelineEntry {
	if len(tl) >= maxDetailTimeline {
		tl = append(tl[:0:0], tl[len(tl)-maxDetailTimeline+1:]...)
	}
	return append(tl, e)
}

func (d *detailPane) nextTab(delta int) {
	d.tab = (d.tab + delta + numTabs) % numTabs
	d.offset = 0
	d.paused = false
	d.dirty = true
}

// scroll moves the body by delta lines: up pauses following, reaching
// the bottom again resumes it (like less +F and tail -f).
func (d *detailPane) scroll(delta int) {
	d.scrollTo(d.offset + delta)
	if delta < 0 && d.offset < d.maxOffset() {
		d.paused = true
	}
	if d.offset >= d.maxOffset() {
		d.paused = false
	}
}

func (d *detailPane) maxOffset() int { return max(len(d.lines)-d.bodyHeight, 0) }

// follows reports whether the open tab follows its tail: the timeline
// always, the artifacts while the task still runs (a command's output).
func (d *detailPane) follows() bool {
	switch d.tab {
	case tabTimeline:
		return true
	case tabArtifacts:
		return d.task != nil && !d.task.Status.State.Terminal() && !d.jumpToArtifact
	}
	return false
}

func (d *detailPane) scrollTo(off int) {
	d.offset = max(0, min(off, len(d.lines)-d.bodyHeight))
}

func (d *detailPane) pickArtifact(delta int) {
	if d.task == nil || len(d.task.Artifacts) == 0 {
		return
	}
	if d.tab != tabArtifacts {
		d.tab = tabArtifacts
		d.dirty = true
	}
	d.artIdx = (d.artIdx + delta + len(d.task.Artifacts)) % len(d.task.Artifacts)
	d.dirty = true
	d.jumpToArtifact = true
}

// refresh lays the tab body out again when the task, the tab or the size
// changed. It runs at the end of Update (while the pane shows), never in
// View.
func (d *detailPane) refresh() {
	innerW := max(d.width-2, 1)
	if !d.dirty && innerW == d.laidW {
		return
	}
	d.laidW = innerW
	d.dirty = false
	d.lines, d.artStart = d.layoutTab(innerW)
	if d.jumpToArtifact && d.artIdx < len(d.artStart) {
		d.offset = d.artStart[d.artIdx]
	}
	if d.jumpToArtifact {
		d.paused = true
	}
	d.jumpToArtifact = false
	d.bodyHeight = max(d.height-2-len(d.head(innerW, max(d.height-2, 1))), 1)
	if d.follows() && !d.paused {
		d.offset = d.maxOffset()
	}
	d.scrollTo(d.offset)
}

func (d *detailPane) layoutTab(w int) ([]string, []int) {
	st := d.com.Styles
	if d.task == nil {
		switch {
		case d.err != nil:
			return []string{st.Error.Render(cut("✗ "+cleanLine(d.err.Error(), 500), w))}, nil
		default:
			return []string{st.Muted.Render("loading…")}, nil
		}
	}
	switch d.tab {
	case tabArtifacts:
		if len(d.task.Artifacts) == 0 && d.task.Status.State.Terminal() {
			return []string{st.Muted.Render("no artifacts: the task " + string(d.task.Status.State) + " without any")}, nil
		}
		return layoutArtifacts(d.task.Artifacts, d.artIdx, w, st)
	case tabHistory:
		return layoutHistory(d.task.History, w, st), nil
	}
	entries := d.timeline
	if !d.hasTimeline && d.row != nil {
		entries = d.row.timeline
	}
	return layoutTimeline(entries, w, st, d.hasTimeline), nil
}

func layoutTimeline(entries []timelineEntry, w int, st Styles, complete bool) []string {
	var out []string
	if !complete {
		out = append(out, st.Muted.Render(cut("(changes seen since the dashboard started)", w)))
	}
	if len(entries) == 0 {
		return append(out, st.Muted.Render("no events yet"))
	}
	for _, e := range entries {
		head := e.at.Format("15:04:05.000") + " "
		if e.state != "" {
			head += st.State(e.state).Render(stateSymbol(e.state)+" "+string(e.state)) + " "
		} else {
			head += st.Muted.Render("· ")
		}
		out = append(out, wrapLines(head+e.text, w)...)
	}
	return out
}

func layoutHistory(history []a2a.Message, w int, st Styles) []string {
	if len(history) == 0 {
		return []string{st.Muted.Render("no messages")}
	}
	var out []string
	for _, msg := range history {
		who := st.Key.Render(roleName(msg.Role) + " ▸ ")
		text := cleanBlock(msg.Text(), maxDetailText)
		for _, p := range msg.Parts {
			switch p.Kind {
			case a2a.PartData:
				if f, ok := choice.Parse(p.Data); ok {
					text += "\n[options: " + formSummary(&f) + "]"
				} else {
					text += "\n[data " + cleanLine(string(p.Data), 200) + "]"
				}
			case a2a.PartFile:
				if p.File != nil {
					text += "\n[file " + cleanLine(p.File.Name, maxIDText) + "]"
				}
			}
		}
		out = append(out, wrapLines(who+text, w)...)
	}
	return out
}

// layoutArtifacts draws every artifact: text as is, JSON indented and
// coloured, files as name, media type, size and URL.
func layoutArtifacts(arts []a2a.Artifact, sel, w int, st Styles) ([]string, []int) {
	if len(arts) == 0 {
		return []string{st.Muted.Render("no artifacts yet")}, nil
	}
	var out []string
	starts := make([]int, 0, len(arts))
	for i, a := range arts {
		starts = append(starts, len(out))
		mark := "  "
		if i == sel {
			mark = "▶ "
		}
		name := cleanLine(a.Name, maxIDText)
		if name == "" {
			name = "(unnamed)"
		}
		head := fmt.Sprintf("%s[%d/%d] %s · %s · %d part(s)", mark, i+1, len(arts), name, cleanLine(a.ID, maxIDText), len(a.Parts))
		out = append(out, st.Title.Render(cut(head, w)))
		if a.Description != "" {
			out = append(out, wrapLines(st.Muted.Render(cleanLine(a.Description, 1000)), w)...)
		}
		budget := maxArtifact
		for _, p := range joinTextParts(a.Parts) {
			if budget <= 0 {
				out = append(out, st.Muted.Render("… (more parts not shown)"))
				break
			}
			lines, used := partLines(p, w, st, budget)
			budget -= used
			out = append(out, lines...)
		}
		out = append(out, "")
	}
	return out, starts
}

func partLines(p a2a.Part, w int, st Styles, budget int) ([]string, int) {
	switch p.Kind {
	case a2a.PartText:
		text := cleanBlock(p.Text, min(budget, maxArtifact))
		return wrapLines(text, w), len(text)
	case a2a.PartData:
		text := prettyJSON(p.Data, min(budget, maxArtifact))
		return wrapLines(colorJSON(text, st), w), len(text)
	case a2a.PartFile:
		f := p.File
		if f == nil {
			return []string{st.Muted.Render("[empty file part]")}, 0
		}
		size := "by reference"
		if f.Bytes != nil {
			size = humanBytes(len(f.Bytes))
		}
		line := fmt.Sprintf("file %s · %s · %s", orDash(cleanLine(f.Name, maxIDText)), orDash(cleanLine(f.MediaType, maxIDText)), size)
		out := wrapLines(line, w)
		if f.URI != "" {
			out = append(out, wrapLines("url  "+cleanLine(f.URI, 2048), w)...)
		}
		return out, 0
	}
	return []string{st.Muted.Render("[part of an unknown kind]")}, 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func humanBytes(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// prettyJSON indents JSON data, cleaned and bounded; data that is not
// valid JSON is shown as cleaned text.
func prettyJSON(raw json.RawMessage, max int) string {
	if len(raw) > 4*max {
		return cleanBlock(string(raw), max) + "\n… (cut)"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return cleanBlock(string(raw), max)
	}
	return cleanBlock(b.String(), max)
}

// colorJSON colours indented JSON: keys, strings, numbers and literals.
func colorJSON(s string, st Styles) string {
	if !st.color {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' && s[j] != '\n' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k < len(s) && s[k] == ':' {
				b.WriteString(st.JSONKey.Render(s[i:j]))
			} else {
				b.WriteString(st.JSONString.Render(s[i:j]))
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				j++
			}
			b.WriteString(st.JSONNumber.Render(s[i:j]))
			i = j
		case strings.HasPrefix(s[i:], "true"), strings.HasPrefix(s[i:], "null"):
			b.WriteString(st.JSONLit.Render(s[i : i+4]))
			i += 4
		case strings.HasPrefix(s[i:], "false"):
			b.WriteString(st.JSONLit.Render(s[i : i+5]))
			i += 5
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// wrapLines wraps s (which may hold the dashboard's own styles) to w cells
// and splits it into lines.
func wrapLines(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// View draws the pane in its box.
func (d *detailPane) View() string {
	st := d.com.Styles
	w, h := d.width, d.height
	box := st.Border
	if d.focused {
		box = st.FocusBorder
	}
	innerW, innerH := max(w-2, 1), max(h-2, 1)
	head := d.head(innerW, innerH)
	bodyH := innerH - len(head)
	end := min(d.offset+bodyH, len(d.lines))
	body := d.lines[min(d.offset, end):end]
	content := strings.Join(append(head, body...), "\n")
	content = strings.Join(padBlock(content, innerW, innerH), "\n")
	return box.Width(w).Height(h).Render(content)
}

// head is the part of the pane above the tab body: state, ids, times,
// metadata, the latest status text, and the tab bar.
func (d *detailPane) head(innerW, innerH int) []string {
	st := d.com.Styles
	var head []string
	if r := d.row; r != nil {
		head = append(head, st.State(r.state).Render(stateSymbol(r.state)+" "+string(r.state))+"  "+st.Bold.Render(cut(r.id, innerW-len(string(r.state))-4)))
		if innerH >= 8 {
			head = append(head, cut(st.Muted.Render("context ")+r.contextID, innerW))
			head = append(head, cut(st.Muted.Render("created ")+fmtTime(r.created)+st.Muted.Render("  updated ")+fmtTime(r.updated)+" ("+age(d.com.Now, r.updated)+" ago)", innerW))
		}
		if innerH >= 10 && r.meta != "" {
			head = append(head, cut(st.Muted.Render("metadata ")+colorJSON(r.meta, st), innerW))
		}
		if r.text != "" && innerH >= 6 {
			status := r.text
			if d.task != nil {
				status = cleanBlock(d.task.Status.Message.Text(), maxDetailText)
			}
			lines := wrapLines(st.Muted.Render("status ")+status, innerW)
			keep := 1
			if innerH >= 14 {
				keep = 4
			}
			if len(lines) > keep {
				lines = append(lines[:keep-1], cut(lines[keep-1], innerW-1)+"…")
			}
			head = append(head, lines...)
		}
		if r.form != nil && innerH >= 6 {
			head = append(head, cut(st.Muted.Render("options ")+formSummary(r.form)+st.Muted.Render("  (a answers)"), innerW))
		} else if d.task != nil && d.task.Status.Message != nil && innerH >= 8 {
			if data := messageData(d.task.Status.Message); data != "" {
				head = append(head, cut(st.Muted.Render("data ")+colorJSON(data, st), innerW))
			}
		}
	}
	var tabs []string
	for i, name := range tabNames {
		label := name
		if i == tabArtifacts && d.task != nil {
			label = fmt.Sprintf("%s (%d)", name, len(d.task.Artifacts))
		}
		if i == tabHistory && d.task != nil {
			label = fmt.Sprintf("%s (%d)", name, len(d.task.History))
		}
		if i == d.tab {
			tabs = append(tabs, st.TabActive.Render("["+label+"]"))
		} else {
			tabs = append(tabs, st.TabInactive.Render(label))
		}
	}
	bar := strings.Join(tabs, st.Muted.Render(" │ "))
	if d.follows() {
		if d.paused {
			bar += st.Muted.Render(" · paused (G follows)")
		} else {
			bar += st.Muted.Render(" · following")
		}
	}
	head = append(head, cut(bar, innerW))
	if len(head) > innerH {
		head = head[len(head)-innerH:]
	}
	return head
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05")
}

// joinTextParts joins consecutive text parts into one: a streamed
// command's output arrives as one part per chunk, and drawing each chunk
// on its own put a blank line after every chunk that ended a line.
func joinTextParts(parts []a2a.Part) []a2a.Part {
	out := make([]a2a.Part, 0, len(parts))
	for _, p := range parts {
		if n := len(out); n > 0 && p.Kind == a2a.PartText && out[n-1].Kind == a2a.PartText {
			out[n-1].Text += p.Text
			continue
		}
		out = append(out, p)
	}
	return out
}
