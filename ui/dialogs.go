package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

type dialogKind int

const (
	dialogNone dialogKind = iota
	dialogFilter
	dialogAnswer
	dialogCompose
	dialogConfirmCancel
	dialogSave
	dialogConfirmOverwrite
	dialogHelp
	dialogAgent
	dialogDescribe
	dialogCommand   // the ":" command line (command.go)
	dialogAgents    // the fleet's agents view (agents.go)
	dialogPickAgent // which agent gets a new task (agents.go)
)

// dialogs holds which dialog is open and each dialog with its inputs.
// Which keys a dialog takes is the root's routing (input.go); what a
// dialog holds and draws is its own.
type dialogs struct {
	open   dialogKind
	filter filterDialog
	// cancelPrompt and cancelKeys are the cancel confirmation as asked:
	// frozen when it opened.
	cancelPrompt string
	cancelKeys   []rowKey
	answer       answerDialog
	compose      composeDialog
	save         saveDialog
	// The full-screen views keep where the user scrolled to.
	helpPager, agentPager pager
	describe              describeDialog
	command               commandDialog
}

func newDialogs(com *Common) dialogs {
	d := dialogs{
		filter:  filterDialog{input: textinput.New()},
		answer:  answerDialog{com: com, box: newTextArea("type the answer"), data: newDataInput()},
		compose: composeDialog{com: com, box: newTextArea("message to the agent, e.g. `slow 5`"), meta: textinput.New(), data: newDataInput()},
		save:    saveDialog{com: com, input: textinput.New()},
		command: newCommandDialog(),
	}
	d.filter.input.Prompt = "/"
	d.filter.input.Placeholder = "filter by id, status text, metadata"
	d.save.input.Prompt = "save to folder: "
	d.compose.meta.Prompt = "metadata: "
	d.compose.meta.Placeholder = "k=v k2=v2 (optional)"
	return d
}

func newTextArea(placeholder string) textarea.Model {
	ta := textarea.New()
	ta.Placeholder = placeholder
	ta.ShowLineNumbers = false
	ta.Prompt = "│ "
	ta.SetHeight(3)
	// enter sends; ctrl+j or alt+enter starts a new line.
	ta.KeyMap.InsertNewline.SetKeys("ctrl+j", "alt+enter")
	ta.CharLimit = 64 << 10
	return ta
}

// SetSize fits every dialog's inputs to a screen of w×h.
func (d *dialogs) SetSize(w, h int) {
	inner := max(w-4, 10)
	boxH := 3
	if h < 16 {
		boxH = 1
	}
	d.filter.input.SetWidth(max(w-2, 5))
	d.save.input.SetWidth(max(inner-16, 5))
	d.compose.meta.SetWidth(max(inner-10, 5))
	d.compose.data.SetWidth(max(inner-6, 5))
	d.answer.data.SetWidth(max(inner-6, 5))
	for _, ta := range []*textarea.Model{&d.answer.box, &d.compose.box} {
		ta.SetWidth(inner)
		ta.SetHeight(boxH)
	}
	d.answer.width, d.compose.width, d.save.width = w, w, w
	d.answer.picker.setHeight(h)
}

// setStyles gives the inputs their styles, with a steady cursor: no blink
// timer running under every dialog.
func (d *dialogs) setStyles(dark, color bool) {
	ta := textarea.DefaultStyles(dark)
	ti := textinput.DefaultStyles(dark)
	if !color {
		ta = textarea.Styles{Cursor: textarea.CursorStyle{Shape: tea.CursorBlock}}
		ti = textinput.Styles{Cursor: textinput.CursorStyle{Shape: tea.CursorBlock}}
	}
	ta.Cursor.Blink = false
	ti.Cursor.Blink = false
	d.answer.box.SetStyles(ta)
	d.compose.box.SetStyles(ta)
	d.filter.input.SetStyles(ti)
	d.save.input.SetStyles(ti)
	d.command.input.SetStyles(ti)
	d.compose.meta.SetStyles(ti)
	d.compose.data.SetStyles(ti)
	d.answer.data.SetStyles(ti)
}

// Height is the number of lines the open dialog's box takes above the
// status line (the filter and the confirmations use the status line).
func (d *dialogs) Height() int {
	switch d.open {
	case dialogAnswer:
		return 2 + 2 + d.answer.box.Height() + 1 + d.answer.picker.height() + d.answer.errHeight()
	case dialogCompose:
		return 2 + 1 + d.compose.box.Height() + 1 + 1 + d.compose.errHeight()
	case dialogSave:
		return 2 + 2
	}
	return 0
}

// View draws the open dialog's box.
func (d *dialogs) View() string {
	switch d.open {
	case dialogAnswer:
		return d.answer.View()
	case dialogCompose:
		return d.compose.View()
	case dialogSave:
		return d.save.View()
	}
	return ""
}

// ShortHelp is the open dialog's part of the keymap, for the help line;
// nil when no dialog is open.
func (d *dialogs) ShortHelp(k KeyMap) []key.Binding {
	switch d.open {
	case dialogAnswer:
		if d.answer.field == fieldOptions {
			return []key.Binding{k.Up, k.Down, k.Submit, k.NextField, k.Close}
		}
		return []key.Binding{k.Submit, k.Newline, k.NextField, k.Close}
	case dialogCompose:
		return []key.Binding{k.Submit, k.Newline, k.NextField, k.Close}
	case dialogPickAgent:
		return []key.Binding{k.Submit, k.Close}
	case dialogAgents:
		return []key.Binding{k.Up, k.Down, k.Open, k.Scope, k.Agent, k.Back}
	case dialogSave:
		return []key.Binding{k.SubmitSave, k.Close}
	case dialogFilter:
		return []key.Binding{k.SubmitFilter, k.Close}
	case dialogConfirmCancel, dialogConfirmOverwrite:
		return []key.Binding{k.Confirm, k.Deny}
	case dialogHelp, dialogAgent:
		return []key.Binding{k.Up, k.Down, k.PageDown, k.Bottom, k.Back, k.Quit}
	case dialogDescribe:
		return []key.Binding{k.Up, k.Down, k.PageDown, k.NextTab, k.Copy, k.Back}
	case dialogCommand:
		return []key.Binding{k.Complete, k.Submit, k.Close}
	}
	return nil
}

// paste sends pasted text to the open dialog's focused input. filtered
// reports that the filter text may have changed.
func (d *dialogs) paste(msg tea.PasteMsg) (cmd tea.Cmd, filtered bool) {
	switch d.open {
	case dialogFilter:
		return d.filter.update(msg), true
	case dialogAnswer:
		return d.answer.update(msg), false
	case dialogCompose:
		return d.compose.update(msg), false
	case dialogSave:
		d.save.input, cmd = d.save.input.Update(msg)
	}
	return cmd, false
}

// filterDialog is the text filter on the status line.
type filterDialog struct{ input textinput.Model }

func (d *filterDialog) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return cmd
}

// The fields of the answer and compose dialogs, in tab order.
const (
	fieldOptions = iota // the agent's options (answer dialog, when offered)
	fieldText
	fieldMeta // compose only
	fieldData // the optional JSON data part
)

// answerDialog is the answer box for a task that waits on the user: the
// agent's options when its question lists some, a text box, and an
// optional JSON data part; tab moves between them.
type answerDialog struct {
	com    *Common
	box    textarea.Model
	data   textinput.Model
	picker optionPicker
	field  int
	err    string // why the last enter did not send (invalid JSON…)
	task   *row   // the task answered
	width  int
}

func (d *answerDialog) open(r *row) tea.Cmd {
	d.task = r
	d.box.Reset()
	d.data.SetValue("")
	d.err = ""
	d.picker.reset(r.form)
	if d.picker.active() {
		return d.focus(fieldOptions)
	}
	return d.focus(fieldText)
}

func (d *answerDialog) close() {
	d.box.Blur()
	d.data.Blur()
}

func (d *answerDialog) errHeight() int {
	if d.err == "" {
		return 0
	}
	return 1
}

// focus gives field f the keys.
func (d *answerDialog) focus(f int) tea.Cmd {
	d.field = f
	d.box.Blur()
	d.data.Blur()
	switch f {
	case fieldText:
		return d.box.Focus()
	case fieldData:
		return d.data.Focus()
	}
	return nil
}

// nextField: options (when offered) → text → data → …
func (d *answerDialog) nextField(delta int) tea.Cmd {
	order := []int{fieldText, fieldData}
	if d.picker.active() {
		order = []int{fieldOptions, fieldText, fieldData}
	}
	i := 0
	for j, f := range order {
		if f == d.field {
			i = j
		}
	}
	return d.focus(order[(i+delta+len(order))%len(order)])
}

func (d *answerDialog) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch d.field {
	case fieldText:
		d.box, cmd = d.box.Update(msg)
	case fieldData:
		d.data, cmd = d.data.Update(msg)
	}
	return cmd
}

func (d *answerDialog) View() string {
	st, w := d.com.Styles, d.width
	title, question := "Answer", ""
	if r := d.task; r != nil {
		verb := "Answer"
		if r.state == a2a.StateAuthRequired {
			verb = "Authenticate"
		}
		title = fmt.Sprintf("%s task %s", verb, shortID(r.id))
		question = r.text
	}
	content := st.Title.Render(cut(title, w-4)) + "\n" + st.Badge.Render(cut(question, w-4)) + "\n"
	if d.picker.active() {
		content += d.picker.View(st, w-4, d.field == fieldOptions) + "\n"
	}
	content += d.box.View() + "\n" + d.data.View()
	if d.err != "" {
		content += "\n" + st.Error.Render(cut("✗ "+d.err, w-4))
	}
	return st.Dialog.Width(w).Render(content)
}

// composeDialog is the new-task form: the message, optional metadata and
// an optional JSON data part; tab moves between them.
type composeDialog struct {
	com   *Common
	box   textarea.Model
	meta  textinput.Model
	data  textinput.Model
	field int    // fieldText, fieldMeta or fieldData
	err   string // why the last enter did not send
	width int
	// contextID, when set, sends the message in that conversation (c on
	// a task) instead of starting a new one (n).
	contextID string
}

func (d *composeDialog) open(contextID string) tea.Cmd {
	d.contextID = contextID
	d.err = ""
	return d.focus(fieldText)
}

func (d *composeDialog) close() {
	d.box.Blur()
	d.meta.Blur()
	d.data.Blur()
}

func (d *composeDialog) errHeight() int {
	if d.err == "" {
		return 0
	}
	return 1
}

// reset empties the fields after a send.
func (d *composeDialog) reset() {
	d.box.Reset()
	d.meta.SetValue("")
	d.data.SetValue("")
	d.err = ""
}

func (d *composeDialog) focus(f int) tea.Cmd {
	d.field = f
	d.close()
	switch f {
	case fieldMeta:
		return d.meta.Focus()
	case fieldData:
		return d.data.Focus()
	}
	return d.box.Focus()
}

// nextField moves the focus: message → metadata → data → message.
func (d *composeDialog) nextField(delta int) tea.Cmd {
	order := []int{fieldText, fieldMeta, fieldData}
	i := 0
	for j, f := range order {
		if f == d.field {
			i = j
		}
	}
	return d.focus(order[(i+delta+len(order))%len(order)])
}

// update sends a key or a paste to the focused field.
func (d *composeDialog) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch d.field {
	case fieldMeta:
		d.meta, cmd = d.meta.Update(msg)
	case fieldData:
		d.data, cmd = d.data.Update(msg)
	default:
		d.box, cmd = d.box.Update(msg)
	}
	return cmd
}

func (d *composeDialog) View() string {
	st := d.com.Styles
	title := "New task"
	if d.contextID != "" {
		title = "New task in context " + shortID(d.contextID)
	}
	content := cut(st.Title.Render(title)+st.Muted.Render(" (enter sends · ctrl+j new line · tab metadata, data)"), d.width-4) + "\n" + d.box.View() + "\n" + d.meta.View() + "\n" + d.data.View()
	if d.err != "" {
		content += "\n" + st.Error.Render(cut("✗ "+d.err, d.width-4))
	}
	return st.Dialog.Width(d.width).Render(content)
}

// saveDialog asks for the folder to save an artifact in, and then, when
// the file exists, whether to overwrite it (dialogConfirmOverwrite).
type saveDialog struct {
	com   *Common
	input textinput.Model
	job   *saveJob // the artifact being saved
	width int
}

func (d *saveDialog) open(job *saveJob, dir string) tea.Cmd {
	d.job = job
	d.input.SetValue(dir)
	d.input.CursorEnd()
	return d.input.Focus()
}

func (d *saveDialog) View() string {
	st := d.com.Styles
	name := ""
	if d.job != nil {
		name = d.job.name
	}
	content := st.Title.Render(cut("Save artifact as "+name, d.width-4)) + "\n" + d.input.View()
	return st.Dialog.Width(d.width).Render(content)
}

// agentInfo is the agent card view: the card once loaded, or why not.
type agentInfo struct {
	card *a2a.AgentCard
	err  error
}

// lines lays the agent card out at width w: who the agent is, where it
// listens, what it can do. The pager shows a window of it.
func (a agentInfo) lines(st Styles, w int) []string {
	if a.card == nil {
		if a.err != nil {
			return []string{st.Error.Render(cut("✗ agent card: "+cleanLine(a.err.Error(), 500), w))}
		}
		return []string{st.Muted.Render("loading the agent card…")}
	}
	c := a.card
	var lines []string
	add := func(s string) { lines = append(lines, wrapLines(s, w)...) }
	add(st.Title.Render(cleanLine(c.Name, 200)) + st.Muted.Render("  "+cleanLine(c.Version, 50)))
	if c.Description != "" {
		add(cleanLine(c.Description, 2000))
	}
	if c.Provider != nil {
		add(st.Muted.Render("provider ") + cleanLine(c.Provider.Organization, 200) + " " + cleanLine(c.Provider.URL, 500))
	}
	for _, in := range c.AllInterfaces() {
		add(st.Muted.Render("endpoint ") + cleanLine(in.URL, 500) + st.Muted.Render(fmt.Sprintf(" (%s, v%s)", cleanLine(in.ProtocolBinding, 40), cleanLine(in.ProtocolVersion, 20))))
	}
	caps := []string{}
	yes := func(b bool, name string) {
		mark := "✗"
		if b {
			mark = "✓"
		}
		caps = append(caps, mark+" "+name)
	}
	yes(c.Capabilities.Streaming, "streaming")
	yes(c.Capabilities.PushNotifications, "push notifications")
	yes(c.Capabilities.StateTransitionHistory, "state history")
	yes(c.SupportsExtendedCard, "extended card")
	add(st.Muted.Render("capabilities ") + strings.Join(caps, "  "))
	for _, e := range c.Capabilities.Extensions {
		add(st.Muted.Render("extension ") + cleanLine(e.URI, 500))
	}
	if len(c.DefaultInputModes)+len(c.DefaultOutputModes) > 0 {
		add(st.Muted.Render("modes in ") + cleanLine(strings.Join(c.DefaultInputModes, ", "), 300) + st.Muted.Render("  out ") + cleanLine(strings.Join(c.DefaultOutputModes, ", "), 300))
	}
	lines = append(lines, "", st.Title.Render(fmt.Sprintf("Skills (%d)", len(c.Skills))))
	for _, s := range c.Skills {
		add(st.Key.Render("• "+cleanLine(s.Name, 200)) + " " + cleanLine(s.Description, 1000))
		if len(s.Examples) > 0 {
			add(st.Muted.Render("    e.g. " + cleanLine(strings.Join(s.Examples, " | "), 500)))
		}
	}
	return lines
}
