package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/choice"
)

// maxDataField bounds the JSON typed into a dialog's data field.
const maxDataField = 64 << 10

// maxPickerRows is how many options the answer dialog shows at once.
const maxPickerRows = 6

// formOf is the options a waiting task's status message offers, if any.
func formOf(st a2a.TaskStatus) *choice.Form {
	if !st.State.Interrupted() {
		return nil
	}
	f, ok := choice.FromMessage(st.Message)
	if !ok {
		return nil
	}
	return &f
}

// optionPicker lists an agent's options; ↑/↓ move, enter picks.
type optionPicker struct {
	form   *choice.Form
	cursor int
	// rows is how many options show at once (SetSize: fewer on a short
	// screen); 1 draws the option under the cursor on the header line.
	rows int
}

// setHeight fits the list to a screen h lines high.
func (p *optionPicker) setHeight(h int) {
	switch {
	case h < 16:
		p.rows = 1
	case h < 30:
		p.rows = 3
	default:
		p.rows = maxPickerRows
	}
}

func (p *optionPicker) visibleRows() int {
	if p.rows <= 0 {
		return maxPickerRows
	}
	return p.rows
}

func (p *optionPicker) reset(f *choice.Form) { p.form, p.cursor = f, 0 }

func (p *optionPicker) active() bool { return p.form != nil && len(p.form.Options) > 0 }

func (p *optionPicker) move(delta int) {
	if !p.active() {
		return
	}
	p.cursor = min(max(p.cursor+delta, 0), len(p.form.Options)-1)
}

// answer is the part that sends the option under the cursor, as text or
// as data, as the agent asked (see package choice).
func (p *optionPicker) answer() a2a.Part { return p.form.Answer(p.cursor) }

// height is the number of lines View takes.
func (p *optionPicker) height() int {
	if !p.active() {
		return 0
	}
	if p.visibleRows() == 1 {
		return 1
	}
	return min(len(p.form.Options), p.visibleRows()) + 1
}

// View draws a window of the options around the cursor; labels came from
// the agent, so they are cleaned and cut to the width.
func (p *optionPicker) View(st Styles, w int, focused bool) string {
	if !p.active() {
		return ""
	}
	opts := p.form.Options
	n := p.visibleRows()
	if n == 1 {
		o := opts[p.cursor]
		return cut(st.Muted.Render(fmt.Sprintf("option %d/%d (↑/↓) ", p.cursor+1, len(opts)))+"▸ "+st.Key.Render(cleanLine(o.Label, 200)), w)
	}
	first := 0
	if p.cursor >= n {
		first = p.cursor - n + 1
	}
	last := min(first+n, len(opts))
	how := "as text"
	if p.form.AsData {
		how = "as data {" + cleanLine(p.form.Field, 40) + ": …}"
	}
	lines := []string{st.Muted.Render(cut(fmt.Sprintf("options %d/%d · ↑/↓ pick · enter sends %s · tab types instead", p.cursor+1, len(opts), how), w))}
	for i := first; i < last; i++ {
		o := opts[i]
		label := cleanLine(o.Label, 200)
		if o.Description != "" {
			label += st.Muted.Render(" — " + cleanLine(o.Description, 200))
		}
		mark := "  "
		if i == p.cursor {
			mark = "▸ "
			if focused {
				label = st.Key.Render(cleanLine(o.Label, 200)) + strings.TrimPrefix(label, cleanLine(o.Label, 200))
			}
		}
		lines = append(lines, cut(mark+label, w))
	}
	return strings.Join(lines, "\n")
}

// newDataInput is a dialog's optional JSON data part field.
func newDataInput() textinput.Model {
	in := textinput.New()
	in.Prompt = "data: "
	in.Placeholder = `{"k": "v"} optional`
	in.CharLimit = maxDataField
	return in
}

// messageParts builds a message from a dialog's text and data fields:
// the text (if any), then the data part (if any, checked to be JSON).
func messageParts(text, data string) ([]a2a.Part, error) {
	var parts []a2a.Part
	if text = strings.TrimSpace(text); text != "" {
		parts = append(parts, a2a.TextPart(text))
	}
	if data = strings.TrimSpace(data); data != "" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(data)); err != nil {
			msg := err.Error()
			if se, ok := err.(*json.SyntaxError); ok {
				msg = fmt.Sprintf("%v (at character %d)", se, se.Offset)
			}
			return nil, fmt.Errorf("data is not valid JSON: %s", msg)
		}
		parts = append(parts, a2a.Part{Kind: a2a.PartData, Data: buf.Bytes(), MediaType: "application/json"})
	}
	return parts, nil
}

// formSummary is one line naming a form's options, for the detail pane.
func formSummary(f *choice.Form) string {
	labels := make([]string, 0, len(f.Options))
	for _, o := range f.Options {
		labels = append(labels, cleanLine(o.Label, 60))
	}
	return strings.Join(labels, " · ")
}

// messageData is a message's data parts as one cleaned line of compact
// JSON ("" when it has none), for the detail pane's head.
func messageData(m *a2a.Message) string {
	var out []string
	for _, p := range m.Parts {
		if p.Kind == a2a.PartData {
			out = append(out, cleanLine(string(p.Data), 500))
		}
	}
	return strings.Join(out, " ")
}
