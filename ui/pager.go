package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/charmbracelet/x/ansi"
)

// pager is the scroll position of a full-screen text view (help, the
// agent card, describe). The text itself is laid out by its owner at the
// current width, so it reflows on resize; the pager only keeps where the
// user is in it.
type pager struct {
	offset int
}

// scroll handles the pager keys for a text of total lines shown height
// lines at a time. handled is false for keys that are not the pager's.
func (p *pager) scroll(k KeyMap, msg tea.KeyPressMsg, total, height int) (handled bool) {
	page := max(height-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		p.offset--
	case key.Matches(msg, k.Down):
		p.offset++
	case key.Matches(msg, k.PageUp):
		p.offset -= page
	case key.Matches(msg, k.PageDown):
		p.offset += page
	case key.Matches(msg, k.Top):
		p.offset = 0
	case key.Matches(msg, k.Bottom):
		p.offset = total
	default:
		return false
	}
	p.clamp(total, height)
	return true
}

func (p *pager) clamp(total, height int) {
	p.offset = max(0, min(p.offset, total-height))
}

// view is the window of lines at the pager's offset, with a last line
// saying where the window is when the text does not fit.
func (p pager) view(lines []string, height int, st Styles) string {
	if height <= 0 {
		return ""
	}
	if len(lines) <= height {
		return strings.Join(lines, "\n")
	}
	body := height - 1
	off := max(0, min(p.offset, len(lines)-body))
	end := min(off+body, len(lines))
	out := append([]string(nil), lines[off:end]...)
	out = append(out, st.Muted.Render(fmt.Sprintf("── lines %d-%d of %d · j/k pgup/pgdn g/G scroll · esc closes", off+1, end, len(lines))))
	return strings.Join(out, "\n")
}

// pagerLines is the text of the open full-screen view at the current
// width, one entry per screen line.
func (m *Model) pagerLines() []string {
	switch m.dialogs.open {
	case dialogHelp:
		return m.helpLines()
	case dialogAgent:
		a := m.agentAt(m.agentsView.card)
		if a == nil {
			return nil
		}
		if !a.open() { // no card to wait for: say why
			_, health := a.health()
			return []string{m.com.Styles.Muted.Render(cut(m.com.agentName(a.index)+": "+health, m.width))}
		}
		return a.info.lines(m.com.Styles, m.width)
	case dialogDescribe:
		return m.dialogs.describe.lines(m.com.Styles, m.width)
	}
	return nil
}

// pagerHeight is the number of lines the full-screen views get.
func (m *Model) pagerHeight() int { return m.layoutFor().body }

// helpLines lays the full help out at the current width: the key groups
// as columns, wrapped into as many rows of columns as the width needs
// (nothing is cut at 60 columns), then the state legend.
func (m *Model) helpLines() []string {
	st := m.com.Styles
	out := wrapLines(st.Title.Render("Keys")+st.Muted.Render("  (esc closes; : opens the command line)"), m.width)
	out = append(out, "")
	var row []string
	rowW := 0
	flush := func() {
		if len(row) == 0 {
			return
		}
		out = append(out, strings.Split(lipgloss.JoinHorizontal(lipgloss.Top, row...), "\n")...)
		out = append(out, "")
		row, rowW = nil, 0
	}
	for _, g := range m.com.Keys.FullHelp() {
		block := m.help.FullHelpView([][]key.Binding{g})
		if block == "" {
			continue
		}
		w := lipgloss.Width(block) + 3
		if rowW > 0 && rowW+w > m.width {
			flush()
		}
		row = append(row, lipgloss.NewStyle().PaddingRight(3).Render(block))
		rowW += w
	}
	flush()
	legend := st.Muted.Render("states: ○ submitted  ⠋ working  ? input needed  ! auth needed  ✓ done (completed)  ✗ failed  ⊘ canceled  ⊗ rejected  ◆ waiting on you  • marked")
	out = append(out, wrapLines(legend, m.width)...)
	out = append(out, "", st.Title.Render("Commands"))
	for _, c := range m.commands.list() {
		out = append(out, wrapLines(st.Key.Render(":"+c.usage)+"  "+st.Muted.Render(c.help), m.width)...)
	}
	return out
}

// describeDialog shows one whole task as YAML or JSON (d), to read,
// scroll and copy.
type describeDialog struct {
	key   rowKey // the task's agent and id
	task  *a2a.Task
	err   error
	json  bool // JSON instead of YAML
	pager pager
}

// text is the task in the chosen format: A2A v1.0 JSON, indented, or the
// same as YAML. Strings stay quoted and escaped in both, so nothing an
// agent wrote can reach the terminal as a control sequence.
func (d *describeDialog) text() (string, error) {
	if d.task == nil {
		return "", d.err
	}
	raw, err := wire.V10().EncodeTask(d.task)
	if err != nil {
		return "", fmt.Errorf("describe: %w", err)
	}
	if d.json {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return "", fmt.Errorf("describe: %w", err)
		}
		return b.String(), nil
	}
	return jsonToYAML(raw)
}

func (d *describeDialog) lines(st Styles, w int) []string {
	format := "YAML"
	if d.json {
		format = "JSON"
	}
	head := st.Title.Render("Task "+cleanLine(d.key.id, maxIDText)) + st.Muted.Render("  "+format+" · tab YAML/JSON · y copies · esc closes")
	out := []string{cut(head, w), ""}
	text, err := d.text()
	switch {
	case err != nil:
		return append(out, st.Error.Render(cut("✗ "+cleanLine(err.Error(), 500), w)))
	case d.task == nil:
		return append(out, st.Muted.Render("loading…"))
	}
	for _, l := range strings.Split(text, "\n") {
		out = append(out, wrapLines(ansi.Strip(l), w)...)
	}
	return out
}

// jsonToYAML writes JSON as YAML, keeping the order of object keys.
// Strings are written as YAML double-quoted scalars (JSON escapes are
// valid there), so the output is plain, safe text.
func jsonToYAML(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	if err := yamlValue(dec, &b, 0, ""); err != nil {
		return "", fmt.Errorf("describe as YAML: %w", err)
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// yamlValue writes the next JSON value; lead is what goes before a
// scalar on its line ("key: " or "- ").
func yamlValue(dec *json.Decoder, b *strings.Builder, indent int, lead string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	pad := strings.Repeat("  ", indent)
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			if !dec.More() {
				_, err := dec.Token()
				fmt.Fprintf(b, "%s%s{}\n", pad, lead)
				return err
			}
			if lead != "" {
				fmt.Fprintf(b, "%s%s\n", pad, strings.TrimRight(lead, " "))
				indent++
			}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				name, _ := k.(string)
				if err := yamlValue(dec, b, indent, quoteYAML(name)+": "); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			return err
		case '[':
			if !dec.More() {
				_, err := dec.Token()
				fmt.Fprintf(b, "%s%s[]\n", pad, lead)
				return err
			}
			if lead != "" {
				fmt.Fprintf(b, "%s%s\n", pad, strings.TrimRight(lead, " "))
				indent++
			}
			for dec.More() {
				if err := yamlValue(dec, b, indent, "- "); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			return err
		}
	case string:
		fmt.Fprintf(b, "%s%s%s\n", pad, lead, quoteYAML(t))
	case json.Number:
		fmt.Fprintf(b, "%s%s%s\n", pad, lead, t.String())
	case bool:
		fmt.Fprintf(b, "%s%s%t\n", pad, lead, t)
	case nil:
		fmt.Fprintf(b, "%s%snull\n", pad, lead)
	default:
		return fmt.Errorf("unexpected JSON token %v", tok)
	}
	return nil
}

// quoteYAML leaves plain words bare and quotes everything else.
func quoteYAML(s string) string {
	plain := s != "" && !strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@` 0123456789")
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			plain = false
			break
		}
	}
	switch s {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~":
		plain = false
	}
	if plain {
		return s
	}
	q, _ := json.Marshal(s)
	return string(q)
}
