package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// saveJob is one artifact to write to a file.
type saveJob struct {
	dir, name string
	data      []byte
	overwrite bool
}

func (j *saveJob) path() string { return filepath.Join(j.dir, j.name) }

type savedMsg struct {
	job    *saveJob
	exists bool
	err    error
}

// artifactBytes is what saving or copying an artifact produces: its text
// parts, its data parts as indented JSON, and the bytes of a single file
// part (or the URL of a file given by reference). ext is a file name
// extension that suits it.
func artifactBytes(a a2a.Artifact) (data []byte, ext string) {
	if len(a.Parts) == 1 && a.Parts[0].Kind == a2a.PartFile && a.Parts[0].File != nil && a.Parts[0].File.Bytes != nil {
		f := a.Parts[0].File
		return f.Bytes, filepath.Ext(f.Name)
	}
	var b bytes.Buffer
	ext = ".txt"
	allData := true
	for i, p := range a.Parts {
		if i > 0 && p.Kind != a2a.PartText {
			b.WriteByte('\n')
		}
		switch p.Kind {
		case a2a.PartText:
			allData = false
			b.WriteString(p.Text)
		case a2a.PartData:
			if err := json.Indent(&b, p.Data, "", "  "); err != nil {
				b.Write(p.Data)
			}
			b.WriteByte('\n')
		case a2a.PartFile:
			allData = false
			if p.File != nil && p.File.Bytes != nil {
				b.Write(p.File.Bytes)
			} else if p.File != nil {
				b.WriteString(p.File.URI + "\n")
			}
		}
	}
	if allData && len(a.Parts) > 0 {
		ext = ".json"
	}
	return b.Bytes(), ext
}

// soleFile is the artifact's file part when that is all it holds.
func soleFile(a a2a.Artifact) *a2a.File {
	if len(a.Parts) == 1 && a.Parts[0].Kind == a2a.PartFile {
		return a.Parts[0].File
	}
	return nil
}

// artifactLink is the URL of an artifact that is only a file given by
// reference: saving it would write the URL, not the file.
func artifactLink(a a2a.Artifact) string {
	if f := soleFile(a); f != nil && f.Bytes == nil && f.URI != "" {
		return f.URI
	}
	return ""
}

// artifactFileName is the name a save proposes: the file part's own name
// (sanitised: one name, inside the chosen folder), else the artifact's,
// with an extension from the media type when the name has none.
func artifactFileName(a a2a.Artifact, ext string) string {
	fallback := "artifact-" + shortID(a.ID)
	if f := soleFile(a); f != nil {
		if e := extForMediaType(f.MediaType); e != "" && filepath.Ext(f.Name) == "" {
			ext = e
		}
		if f.Name != "" {
			return safeFileName(f.Name, fallback, ext)
		}
	}
	return safeFileName(a.Name, fallback, ext)
}

// extForMediaType is the usual extension of a media type, or "".
func extForMediaType(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	switch strings.TrimSpace(strings.ToLower(mt)) {
	case "text/plain":
		return ".txt"
	case "text/markdown":
		return ".md"
	case "application/json":
		return ".json"
	case "text/html":
		return ".html"
	case "text/csv":
		return ".csv"
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "application/pdf":
		return ".pdf"
	}
	if exts, err := mime.ExtensionsByType(mt); err == nil && len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// safeFileName turns an agent-chosen name into one file name: no path
// separators, no leading dots, only letters, digits and . _ - kept.
func safeFileName(name, fallback, ext string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "._")
	if out == "" {
		out = fallback
	}
	if len(out) > 100 {
		out = out[:100]
	}
	if filepath.Ext(out) == "" && ext != "" {
		out += safeExt(ext)
	}
	return out
}

func safeExt(ext string) string {
	clean := safeFileName(strings.TrimPrefix(ext, "."), "", "")
	if clean == "" || len(clean) > 10 {
		return ""
	}
	return "." + clean
}

// selectedArtifact is the artifact the artifacts tab points at.
func (m *Model) selectedArtifact() (*a2a.Artifact, tea.Cmd) {
	t := m.detail.task
	if t == nil || len(t.Artifacts) == 0 {
		return nil, m.setFlash("the selected task has no artifact", true)
	}
	return &t.Artifacts[min(m.detail.artIdx, len(t.Artifacts)-1)], nil
}

func (m *Model) openSave() tea.Cmd {
	a, cmd := m.selectedArtifact()
	if a == nil {
		return cmd
	}
	if link := artifactLink(*a); link != "" {
		return m.setNote("this artifact is a link, not a file: " + cleanLine(link, 300) + " (y copies it)")
	}
	data, ext := artifactBytes(*a)
	m.dialogs.open = dialogSave
	return m.dialogs.save.open(&saveJob{name: artifactFileName(*a, ext), data: data}, m.opts.SaveDir)
}

func (m *Model) keySave(msg tea.KeyPressMsg) tea.Cmd {
	d := &m.dialogs.save
	switch msg.String() {
	case "esc":
		d.input.Blur()
		m.dialogs.open = dialogNone
		d.job = nil
		return nil
	case "enter":
		dir := strings.TrimSpace(d.input.Value())
		if dir == "" {
			dir = "."
		}
		d.input.Blur()
		m.dialogs.open = dialogNone
		job := *d.job
		job.dir = dir
		m.opts.SaveDir = dir
		return saveCmd(&job)
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return cmd
}

func (m *Model) keyConfirmOverwrite(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "y":
		m.dialogs.open = dialogNone
		job := *m.dialogs.save.job
		job.overwrite = true
		return saveCmd(&job)
	case "n", "esc":
		m.dialogs.open = dialogNone
		m.dialogs.save.job = nil
		return m.setNote("not saved: the existing file is unchanged")
	}
	return nil
}

// saveCmd writes the file; without overwrite an existing file is left
// alone and reported, so the user can be asked.
func saveCmd(job *saveJob) tea.Cmd {
	return func() tea.Msg {
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if job.overwrite {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(job.path(), flags, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return savedMsg{job: job, exists: true}
		}
		if err != nil {
			return savedMsg{job: job, err: fmt.Errorf("save artifact: %w", err)}
		}
		_, err = f.Write(job.data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return savedMsg{job: job, err: fmt.Errorf("save artifact to %s: %w", job.path(), err)}
		}
		return savedMsg{job: job}
	}
}

func (m *Model) onSaved(msg savedMsg) tea.Cmd {
	switch {
	case msg.exists:
		m.dialogs.save.job = msg.job
		m.dialogs.open = dialogConfirmOverwrite
		return nil
	case msg.err != nil:
		return m.setFlash(msg.err.Error(), true)
	}
	m.dialogs.save.job = nil
	return m.setFlash(fmt.Sprintf("saved %s (%s)", msg.job.path(), humanBytes(len(msg.job.data))), false)
}

// maxClipboard bounds what is copied with OSC 52: terminals drop or choke
// on larger payloads.
const maxClipboard = 512 << 10

func (m *Model) copyArtifact() tea.Cmd {
	a, cmd := m.selectedArtifact()
	if a == nil {
		return cmd
	}
	if link := artifactLink(*a); link != "" {
		return m.copyText(link, "the link")
	}
	data, _ := artifactBytes(*a)
	if len(data) > maxClipboard {
		return m.setFlash(fmt.Sprintf("artifact is %s, too large to copy: save it with w", humanBytes(len(data))), true)
	}
	return tea.Batch(tea.SetClipboard(string(data)), m.setFlash(fmt.Sprintf("copied %s to the clipboard (OSC 52)", humanBytes(len(data))), false))
}
