// Package termsafe makes text from an agent safe to write to a terminal.
// Anything an agent sends is untrusted: it must not move the cursor, set
// the window title, open hyperlinks, reorder what is drawn around it, or
// grow without bound. The dashboard and the CLI both print through here.
package termsafe

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Line returns s safe to draw on one line: escape sequences removed, every
// control character (C0, C1, DEL), bidi override or isolate, zero-width and
// line/paragraph separator dropped, newlines and tabs turned into spaces,
// invalid UTF-8 replaced, and the result cut to at most max bytes.
func Line(s string, max int) string { return clean(s, max, false) }

// Block is Line for multi-line text: newlines and tabs survive (expanding
// tabs is the caller's business).
func Block(s string, max int) string { return clean(s, max, true) }

func clean(s string, max int, multiline bool) string {
	if max <= 0 {
		return ""
	}
	// Bound the work before stripping: a 1 MiB line costs no more than max
	// bytes of it (plus slack for escapes that strip to nothing).
	if limit := 4*max + 64; limit > 0 && len(s) > limit {
		s = s[:limit]
	}
	if needsStrip(s) {
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
		case r == '\n' || r == '\t':
			if multiline {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// C0, DEL and C1 controls: dropped.
		case IsBidiControl(r):
			// Overrides and isolates can reorder what is drawn around them.
		case r == '\u200b' || r == '\u2028' || r == '\u2029' || r == '\ufeff':
			// Zero-width and line/paragraph separators.
		default:
			b.WriteRune(r)
		}
	}
	return TruncateBytes(b.String(), max)
}

// needsStrip reports whether s holds anything ansi.Strip would act on: ESC,
// or a C1 control (raw, or UTF-8 encoded after 0xc2).
func needsStrip(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x1b || c == 0xc2 || (c >= 0x80 && c <= 0x9f) {
			return true
		}
	}
	return false
}

// IsBidiControl reports whether r is a bidirectional override, embedding,
// isolate or mark.
func IsBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// TruncateBytes cuts s to at most n bytes without splitting a rune.
func TruncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
