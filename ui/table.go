package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// tableColumns are the widths of the table's columns at a width; columns
// that do not fit are dropped, narrowest value first.
type tableColumns struct {
	id, state, age, art, ctx, text int
}

func columnsFor(width int) tableColumns {
	c := tableColumns{id: 8, state: 11, age: 4, art: 3, ctx: 8}
	used := 2 + c.id + 1 + c.state + 1 + c.age + 1 + c.art + 1 + c.ctx + 1
	if width-used < 24 {
		c.ctx = 0
		used -= 9
	}
	if width-used < 16 {
		c.art = 0
		used -= 4
	}
	c.text = max(width-used, 0)
	return c
}

// tableView draws the column header and the visible rows only: its cost
// depends on the height, not on the number of tasks.
func (m *Model) tableView(width, height int) string {
	if height <= 0 || width <= 0 {
		return ""
	}
	st := m.styles
	c := columnsFor(width)
	var b strings.Builder
	head := "  " + fit("ID", c.id) + " " + fit("STATE", c.state) + " " + fit("AGE", c.age) + " "
	if c.art > 0 {
		head += fit("ART", c.art) + " "
	}
	if c.ctx > 0 {
		head += fit("CONTEXT", c.ctx) + " "
	}
	head += "STATUS"
	b.WriteString(st.TableHead.Render(fit(head, width)))
	rows := height - 1
	if len(m.rows.visible) == 0 {
		b.WriteString("\n")
		msg := "no tasks yet: press n to send the agent a message"
		if len(m.rows.byID) > 0 {
			msg = "no task matches the filter (f cycles state filters, / edits text, esc clears)"
		}
		if m.loading {
			msg = "loading tasks…"
		}
		b.WriteString(st.Muted.Render(cut(msg, width)))
		return b.String()
	}
	end := min(m.offset+rows, len(m.rows.visible))
	for i := m.offset; i < end; i++ {
		b.WriteString("\n")
		b.WriteString(m.rowView(m.rows.visible[i], c, width, i == m.cursor))
	}
	return b.String()
}

func (m *Model) rowView(r *row, c tableColumns, width int, selected bool) string {
	st := m.styles
	mark := " "
	switch {
	case selected:
		mark = "›"
	case r.state.Interrupted():
		mark = "◆"
	}
	sym := stateSymbol(r.state)
	if r.state == a2a.StateWorking {
		sym = spinnerFrames[m.frame%len(spinnerFrames)]
	}
	stateCell := st.State(r.state).Render(fit(sym+" "+stateName(r.state), c.state))
	line := mark + " " + fit(shortID(r.id), c.id) + " " + stateCell + " " + fit(age(m.now, r.updated), c.age) + " "
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
	text := r.text
	if r.progress >= 0 && c.text >= 20 {
		text = progressBar(r.progress, 8) + " " + text
	}
	if r.state.Interrupted() {
		text = st.Badge.Render(cut("ANSWER ▸ "+text, c.text))
	} else {
		text = cut(text, c.text)
	}
	line += text
	if selected {
		if m.focus == focusTable && m.dialog == dialogNone {
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
