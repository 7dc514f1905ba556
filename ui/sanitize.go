package ui

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Bounds on agent text kept by the UI: a row keeps one line of status text,
// the detail pane more, but nothing an agent sends is unbounded on screen.
const (
	maxRowText    = 4 << 10   // status text per row
	maxDetailText = 64 << 10  // one status text or message in the detail pane
	maxArtifact   = 256 << 10 // one artifact part in the artifact viewer
	maxIDText     = 128       // ids, names, media types
)

// cleanLine makes agent text safe to draw on one line: escape sequences
// removed, every control character (C0, C1, DEL) and every bidi override or
// isolate dropped, newlines and tabs turned into spaces, invalid UTF-8
// replaced, and the result cut to at most max bytes.
func cleanLine(s string, max int) string {
	return clean(s, max, false)
}

// cleanBlock is cleanLine for multi-line text: newlines survive, tabs become
// four spaces, carriage returns are dropped.
func cleanBlock(s string, max int) string {
	return clean(s, max, true)
}

func clean(s string, max int, keepNewlines bool) string {
	// Bound the work before stripping: a 1 MiB line costs no more than max
	// bytes of it (plus slack for escapes that strip to nothing).
	if limit := 4*max + 64; len(s) > limit {
		s = s[:limit]
	}
	if needsClean(s) {
		s = ansi.Strip(s)
	}
	var b strings.Builder
	b.Grow(min(len(s), max))
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		switch {
		case r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		case r == '\n':
			if keepNewlines {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case r == '\t':
			if keepNewlines {
				b.WriteString("    ")
			} else {
				b.WriteByte(' ')
			}
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// C0, DEL and C1 controls: dropped.
		case isBidiControl(r):
			// Overrides and isolates can reorder what is drawn around them.
		case r == '\u200b' || r == '\u2028' || r == '\u2029' || r == '\ufeff':
			// Zero-width and line/paragraph separators.
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > max {
		out = truncateBytes(out, max)
	}
	return out
}

// needsClean reports whether s holds anything ansi.Strip would act on.
func needsClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x1b || c == 0xc2 || (c >= 0x80 && c <= 0x9f) {
			return true
		}
	}
	return false
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// truncateBytes cuts s to at most n bytes without splitting a rune.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
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
