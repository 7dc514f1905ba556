package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/internal/termsafe"
)

// Caps on what an agent wrote, so that one runaway field cannot flood a
// terminal; --json prints everything.
const (
	maxFieldLen    = 4000     // status text, names, metadata values
	maxArtifactLen = 64 << 10 // the text of one artifact
	maxPreviewLen  = 120      // one event line
)

// printer writes a command's results, for people or as JSON lines.
type printer interface {
	task(t *a2a.Task) error
	message(m *a2a.Message) error
	// event prints one event of a followed stream.
	event(ev a2a.StreamEvent) error
	// done is called with the task a followed stream added up to, or
	// with the message that answered instead of a task.
	done(t *a2a.Task) error
	doneMessage(m *a2a.Message) error
	// listed prints one task of a listing; listDone ends the listing.
	listed(t *a2a.Task, first bool) error
	listDone(n int) error
}

func (c *cli) printer(jsonOut bool) printer {
	if jsonOut {
		return &jsonPrinter{w: c.stdout, codec: wire.V10()}
	}
	return &humanPrinter{w: c.stdout}
}

// printerFor is printer for a command on the target tf chose: hints the
// human printer gives (how to answer a task) repeat the flags that chose
// it, so pasting them reaches the same task.
func (c *cli) printerFor(jsonOut bool, tf *targetFlags) printer {
	p := c.printer(jsonOut)
	if hp, ok := p.(*humanPrinter); ok && tf != nil {
		hp.targetArgs = tf.repeat()
	}
	return p
}

// jsonPrinter writes A2A v1.0 JSON, one object per line: tasks bare (as
// GetTask returns them), stream events and a task-less answer in the
// StreamResponse wrapper ({"task"|"message"|"statusUpdate"|"artifactUpdate": …}).
type jsonPrinter struct {
	w     io.Writer
	codec wire.Codec
}

func (p *jsonPrinter) line(b []byte, err error) error { return writeJSONLine(p.w, b, err) }

func (p *jsonPrinter) task(t *a2a.Task) error       { return p.line(p.codec.EncodeTask(t)) }
func (p *jsonPrinter) message(m *a2a.Message) error { return p.line(p.codec.EncodeEvent(m)) }
func (p *jsonPrinter) event(ev a2a.StreamEvent) error {
	return p.line(p.codec.EncodeEvent(ev.Event))
}
func (p *jsonPrinter) done(*a2a.Task) error                 { return nil }
func (p *jsonPrinter) doneMessage(*a2a.Message) error       { return nil }
func (p *jsonPrinter) listed(t *a2a.Task, first bool) error { return p.task(t) }
func (p *jsonPrinter) listDone(int) error                   { return nil }

// humanPrinter writes aligned text. Everything an agent wrote is cleaned of
// terminal control sequences and capped before it is printed.
type humanPrinter struct {
	w  io.Writer
	tw *tabwriter.Writer
	// targetArgs are the target flags of the command, repeated in hints
	// ("--url 'http://…' "), empty for the default target.
	targetArgs string
	// wide adds the context and the first user message to listings.
	wide bool
}

// idPrinter prints only the ids of a listing, one per line (list -o ids),
// for scripts: `a2atop list -o ids --state failed | xargs …`.
type idPrinter struct {
	humanPrinter
}

func (p *idPrinter) listed(t *a2a.Task, first bool) error {
	_, err := fmt.Fprintln(p.w, oneLine(clean(t.ID, 200)))
	return err
}

func (p *idPrinter) listDone(int) error { return nil }

// firstUserText is the text of the first message the user sent, the
// best name a task has.
func firstUserText(t *a2a.Task) string {
	for _, m := range t.History {
		if m.Role == a2a.RoleUser {
			return joinedText(m.Parts)
		}
	}
	return ""
}

const labelWidth = 10

func field(b *bytes.Buffer, label, value string) {
	lines := strings.Split(value, "\n")
	fmt.Fprintf(b, "%-*s%s\n", labelWidth, label, lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(b, "%-*s%s\n", labelWidth, "", l)
	}
}

func (p *humanPrinter) task(t *a2a.Task) error {
	var b bytes.Buffer
	writeTask(&b, t, p.targetArgs)
	_, err := p.w.Write(b.Bytes())
	return err
}

func writeTask(b *bytes.Buffer, t *a2a.Task, targetArgs string) {
	field(b, "task", clean(t.ID, 200))
	if t.ContextID != "" {
		field(b, "context", clean(t.ContextID, 200))
	}
	field(b, "state", t.Status.State.String())
	if text := statusText(t); text != "" {
		field(b, "status", text)
	}
	if !t.Status.Timestamp.IsZero() {
		field(b, "updated", t.Status.Timestamp.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if len(t.Metadata) > 0 {
		field(b, "metadata", metadataText(t.Metadata))
	}
	writeQuestion(b, t) // options and data parts of the status message
	if t.Status.State.Interrupted() {
		field(b, "answer", "a2atop send "+targetArgs+"--task "+clean(t.ID, 200)+" TEXT")
	}
	if len(t.Artifacts) == 0 {
		return
	}
	field(b, "artifacts", fmt.Sprint(len(t.Artifacts)))
	for i := range t.Artifacts {
		writeArtifact(b, &t.Artifacts[i])
	}
}

func statusText(t *a2a.Task) string {
	if t.Status.Message == nil {
		return ""
	}
	return clean(joinedText(t.Status.Message.Parts), maxFieldLen)
}

func metadataText(m a2a.Metadata) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, ok := m[k].(string)
		if !ok {
			raw, err := json.Marshal(m[k])
			if err != nil {
				raw = []byte("?")
			}
			v = string(raw)
		}
		parts = append(parts, oneLine(clean(k, 200))+"="+oneLine(clean(v, 200)))
	}
	return clean(strings.Join(parts, " "), maxFieldLen)
}

// writeArtifact prints an artifact: adjacent text parts joined as they
// streamed in, data as indented JSON, files by name, type, size or URL.
func writeArtifact(b *bytes.Buffer, art *a2a.Artifact) {
	title := art.Name
	if title == "" {
		title = art.ID
	}
	b.WriteString("  " + oneLine(clean(title, 200)) + "\n")
	if art.Description != "" {
		indent(b, oneLine(clean(art.Description, 500)))
	}
	var text strings.Builder
	flushText := func() {
		if text.Len() == 0 {
			return
		}
		indent(b, strings.TrimRight(clean(text.String(), maxArtifactLen), "\n"))
		text.Reset()
	}
	for _, part := range art.Parts {
		switch part.Kind {
		case a2a.PartText:
			text.WriteString(part.Text)
		case a2a.PartData:
			flushText()
			indent(b, clean(prettyJSON(part.Data), maxArtifactLen))
		case a2a.PartFile:
			flushText()
			indent(b, fileText(part.File))
		default:
			flushText()
			indent(b, "(a part of kind "+oneLine(clean(string(part.Kind), 40))+")")
		}
	}
	flushText()
}

func indent(b *bytes.Buffer, s string) {
	for _, l := range strings.Split(s, "\n") {
		b.WriteString("    " + l + "\n")
	}
}

func prettyJSON(raw json.RawMessage) string {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}

func fileText(f *a2a.File) string {
	if f == nil {
		return "file (empty)"
	}
	name := f.Name
	if name == "" {
		name = "(unnamed)"
	}
	s := "file " + oneLine(clean(name, 200))
	if f.MediaType != "" {
		s += "  " + oneLine(clean(f.MediaType, 100))
	}
	if f.URI != "" {
		s += "  " + oneLine(clean(f.URI, 2000))
	} else {
		s += fmt.Sprintf("  %d bytes", len(f.Bytes))
	}
	return s
}

func (p *humanPrinter) message(m *a2a.Message) error {
	var b bytes.Buffer
	role := string(m.Role)
	if role == "" {
		role = "agent"
	}
	field(&b, "message", "from "+oneLine(clean(role, 40)))
	field(&b, "", clean(joinedText(m.Parts), maxArtifactLen))
	for _, p := range m.Parts {
		switch p.Kind {
		case a2a.PartData:
			field(&b, "", clean(prettyJSON(p.Data), maxArtifactLen))
		case a2a.PartFile:
			field(&b, "", fileText(p.File))
		}
	}
	_, err := p.w.Write(b.Bytes())
	return err
}

// event prints one line per event: time, kind, and what changed.
func (p *humanPrinter) event(ev a2a.StreamEvent) error {
	stamp := "            "
	if !ev.Time.IsZero() {
		stamp = ev.Time.Local().Format("15:04:05.000")
	}
	var line string
	switch e := ev.Event.(type) {
	case *a2a.Task:
		line = fmt.Sprintf("task      %s  %s", oneLine(clean(e.ID, 200)), e.Status.State)
		if text := statusText(e); text != "" {
			line += "  " + preview(text)
		}
	case *a2a.StatusUpdateEvent:
		line = fmt.Sprintf("status    %s", e.Status.State)
		if e.Status.Message != nil {
			line += "  " + preview(clean(joinedText(e.Status.Message.Parts), maxFieldLen))
		}
	case *a2a.ArtifactUpdateEvent:
		name := e.Artifact.Name
		if name == "" {
			name = e.Artifact.ID
		}
		kind := "new"
		if e.Append {
			kind = "+chunk"
		}
		if e.LastChunk {
			kind += " (last)"
		}
		line = fmt.Sprintf("artifact  %s  %s", oneLine(clean(name, 200)), kind)
		if text := joinedText(e.Artifact.Parts); text != "" {
			line += "  " + preview(clean(text, maxFieldLen))
		} else if len(e.Artifact.Parts) > 0 {
			line += fmt.Sprintf("  (%d parts)", len(e.Artifact.Parts))
		}
	case *a2a.Message:
		line = "message   " + preview(clean(joinedText(e.Parts), maxFieldLen))
	default:
		line = fmt.Sprintf("event     %T", ev.Event)
	}
	_, err := fmt.Fprintf(p.w, "%s  %s\n", stamp, line)
	return err
}

// done prints the whole task once its stream has ended.
func (p *humanPrinter) done(t *a2a.Task) error {
	if _, err := io.WriteString(p.w, "\n"); err != nil {
		return err
	}
	return p.task(t)
}

// doneMessage prints in full the message a stream answered with.
func (p *humanPrinter) doneMessage(m *a2a.Message) error {
	if _, err := io.WriteString(p.w, "\n"); err != nil {
		return err
	}
	return p.message(m)
}

func (p *humanPrinter) listed(t *a2a.Task, first bool) error {
	if first {
		p.tw = tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
		if p.wide {
			fmt.Fprintln(p.tw, "ID\tSTATE\tUPDATED\tCONTEXT\tMESSAGE\tSTATUS")
		} else {
			fmt.Fprintln(p.tw, "ID\tSTATE\tUPDATED\tSTATUS")
		}
	}
	updated := "-"
	if !t.Status.Timestamp.IsZero() {
		updated = t.Status.Timestamp.Local().Format("2006-01-02 15:04:05")
	}
	status := preview(statusText(t))
	// Tabs inside a field would break the columns.
	status = strings.ReplaceAll(status, "\t", " ")
	id := strings.ReplaceAll(oneLine(clean(t.ID, 200)), "\t", " ")
	if p.wide {
		ctxID := strings.ReplaceAll(oneLine(clean(t.ContextID, 200)), "\t", " ")
		msg := strings.ReplaceAll(preview(clean(firstUserText(t), maxFieldLen)), "\t", " ")
		_, err := fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, t.Status.State, updated, ctxID, msg, status)
		return err
	}
	_, err := fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\n", id, t.Status.State, updated, status)
	return err
}

func (p *humanPrinter) listDone(n int) error {
	if n == 0 {
		_, err := fmt.Fprintln(p.w, "no tasks")
		return err
	}
	if err := p.tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(p.w, "%d task(s)\n", n)
	return err
}

// joinedText joins text parts as they streamed in: chunks of one artifact
// are pieces of one text, so no separator is added.
func joinedText(parts []a2a.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Kind == a2a.PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// clean makes text from an agent safe to print (see termsafe.Block) and
// caps it at max bytes with a note saying how much was cut.
func clean(s string, max int) string {
	// Replacing invalid bytes can triple the length; nothing else grows.
	s = termsafe.Block(s, 3*len(s)+16)
	if len(s) <= max {
		return s
	}
	cut := termsafe.TruncateBytes(s, max)
	return cut + fmt.Sprintf("… (%d more bytes; --json shows all)", len(s)-len(cut))
}

// oneLine folds line breaks into a visible mark.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", " ⏎ ")
}

// preview is a single capped line.
func preview(s string) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= maxPreviewLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxPreviewLen]) + "…"
}
