package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/a2atop/a2atop/internal/termsafe"
)

// Bounds on agent text kept by the UI: a row keeps one line of status text,
// the detail pane more, but nothing an agent sends is unbounded on screen.
const (
	maxRowText    = 4 << 10   // status text per row
	maxDetailText = 64 << 10  // one status text or message in the detail pane
	maxArtifact   = 256 << 10 // one artifact part in the artifact viewer
	maxIDText     = 128       // ids, names, media types
)

// cleanLine makes agent text safe to draw on one line (see termsafe.Line).
func cleanLine(s string, max int) string { return termsafe.Line(s, max) }

// cleanBlock is cleanLine for multi-line text: newlines survive and tabs
// become four spaces, so width math sees what is drawn.
func cleanBlock(s string, max int) string {
	return strings.ReplaceAll(termsafe.Block(s, max), "\t", "    ")
}

// fit cuts an already clean one-line string to width cells, with an
// ellipsis when it had to cut, and pads it to exactly width.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w := ansi.StringWidth(s)
	if w > width {
		s = ansi.Truncate(s, width, "…")
		w = ansi.StringWidth(s)
	}
	if w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// cut is fit without the padding.
func cut(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > width {
		return ansi.Truncate(s, width, "…")
	}
	return s
}

// stripStyles removes the dashboard's own styling from a line, so that a
// whole-line style (the selection) can be applied over it.
func stripStyles(s string) string { return ansi.Strip(s) }
