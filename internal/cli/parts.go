package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/choice"
)

// Bounds on what `send --data/--file` reads, so that a mistyped path (a
// disk image, /dev/zero) fails at once with a clear error instead of
// filling memory; the total matches what the local engine accepts.
const (
	maxDataBytes    = 1 << 20 // one --data value
	maxFileBytes    = 4 << 20 // one --file
	maxMessageBytes = 8 << 20 // every part of the message together
)

// partsFlag collects --data and --file in the order given on the command
// line; the TEXT (if any) follows them.
type partsFlag struct {
	parts []a2a.Part
	size  int
	// file: this instance is --file (else --data); both share parts.
	file bool
	into *partsFlag
}

func (f *partsFlag) String() string { return "" }

func (f *partsFlag) Type() string {
	if f.file {
		return "path"
	}
	return "json"
}

func (f *partsFlag) Set(s string) error {
	var p a2a.Part
	var err error
	if f.file {
		p, err = filePart(s)
	} else {
		p, err = dataPart(s)
	}
	if err != nil {
		return err
	}
	dst := f.into
	n := partSize(p)
	if dst.size+n > maxMessageBytes {
		return fmt.Errorf("the message's parts would exceed %d MiB together; send fewer or smaller files", maxMessageBytes>>20)
	}
	dst.size += n
	dst.parts = append(dst.parts, p)
	return nil
}

func partSize(p a2a.Part) int {
	if p.File != nil {
		return len(p.File.Bytes)
	}
	return len(p.Data) + len(p.Text)
}

// newPartsFlags returns the --data and --file flag values, which add to
// one ordered list.
func newPartsFlags() (all, data, file *partsFlag) {
	all = &partsFlag{}
	return all, &partsFlag{into: all}, &partsFlag{file: true, into: all}
}

// dataPart reads --data JSON or --data @FILE: any JSON value, checked and
// compacted.
func dataPart(s string) (a2a.Part, error) {
	raw := []byte(s)
	if name, ok := strings.CutPrefix(s, "@"); ok {
		b, err := readNamedFile(name, maxDataBytes, "--data @FILE")
		if err != nil {
			return a2a.Part{}, err
		}
		raw = b
	} else if len(raw) > maxDataBytes {
		return a2a.Part{}, fmt.Errorf("the JSON is larger than %d MiB; use a file part (--file) for big content", maxDataBytes>>20)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return a2a.Part{}, fmt.Errorf("not valid JSON (%v); quote it for the shell, e.g. --data '{\"choice\":\"red\"}', or use --data @file.json", jsonErrText(err))
	}
	if out.Len() == 0 {
		return a2a.Part{}, errors.New("the JSON is empty")
	}
	return a2a.Part{Kind: a2a.PartData, Data: out.Bytes(), MediaType: "application/json"}, nil
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	return err.Error()
}

// filePart reads --file PATH: its bytes, its name, and a media type from
// the extension or, failing that, from the content.
func filePart(path string) (a2a.Part, error) {
	b, err := readNamedFile(path, maxFileBytes, "--file")
	if err != nil {
		return a2a.Part{}, err
	}
	name := filepath.Base(path)
	mt := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if mt == "" {
		mt = http.DetectContentType(b)
	}
	return a2a.FileBytesPart(name, mt, b), nil
}

// readNamedFile reads exactly the file the user named: a regular file
// (not a directory, device or pipe, which could block or never end), at
// most max bytes.
func readNamedFile(path string, max int, flag string) ([]byte, error) {
	if strings.TrimSpace(path) == "" {
		return nil, fmt.Errorf("%s needs a file name", flag)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file", flag, path)
	}
	if st.Size() > int64(max) {
		return nil, fmt.Errorf("%s: %s is %d bytes, over the limit of %d MiB", flag, path, st.Size(), max>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", flag, path, err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("%s: %s grew over the limit of %d MiB while read", flag, path, max>>20)
	}
	return b, nil
}

// writeQuestion prints what an agent's waiting status message holds
// besides its text: the options it offers, with how to answer, and any
// other data or file parts. Everything is sanitised (clean).
func writeQuestion(b *bytes.Buffer, t *a2a.Task) {
	m := t.Status.Message
	if m == nil {
		return
	}
	form, hasForm := choice.FromMessage(m)
	for _, p := range m.Parts {
		switch p.Kind {
		case a2a.PartData:
			if hasForm {
				continue
			}
			field(b, "data", clean(prettyJSON(p.Data), maxFieldLen))
		case a2a.PartFile:
			field(b, "file", fileText(p.File))
		}
	}
	if !hasForm {
		return
	}
	if form.Question != "" && !strings.Contains(statusText(t), form.Question) {
		field(b, "question", oneLine(clean(form.Question, 500)))
	}
	var opts strings.Builder
	for i, o := range form.Options {
		line := fmt.Sprintf("%d) %s", i+1, oneLine(clean(o.Label, 200)))
		if v := o.Text(); v != o.Label {
			line += "  [" + oneLine(clean(v, 200)) + "]"
		}
		if o.Description != "" {
			line += " — " + oneLine(clean(o.Description, 200))
		}
		if i > 0 {
			opts.WriteByte('\n')
		}
		opts.WriteString(line)
	}
	field(b, "options", opts.String())
	if t.Status.State.Interrupted() {
		ans := form.Answer(0)
		var how string
		// Only values that need no quoting are shown as a command to copy:
		// the agent must not be able to suggest a shell line.
		id := clean(t.ID, 200)
		switch {
		case !shellSafe(id):
		case ans.Kind == a2a.PartData && !strings.ContainsAny(string(ans.Data), "'\n") && len(ans.Data) < 300:
			how = "a2atop send --task " + id + " --data '" + clean(string(ans.Data), 300) + "'"
		case ans.Kind == a2a.PartText && shellSafe(ans.Text):
			how = "a2atop send --task " + id + " " + ans.Text
		}
		if how != "" {
			field(b, "choose", how)
		}
	}
}

// shellSafe: s can be pasted into a shell as one word without quoting.
func shellSafe(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/@+=,", r)
		if !ok {
			return false
		}
	}
	return true
}
