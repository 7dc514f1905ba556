package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLineAndBlock(t *testing.T) {
	cases := []struct {
		name, in, line, block string
	}{
		{"plain", "hello", "hello", "hello"},
		{"cursor move", "a\x1b[2Jb\x1b[10;10H", "ab", "ab"},
		{"osc title", "x\x1b]0;pwned\x07y", "xy", "xy"},
		{"osc 8 link", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click", "click"},
		{"bidi override", "abc\u202edef\u2066g\u2069", "abcdefg", "abcdefg"},
		{"zero width", "a\u200bb\ufeff", "ab", "ab"},
		{"c0 and c1", "a\x07b\x08c\u0085d\x7f", "abcd", "abcd"},
		{"newline and tab", "a\nb\tc\r", "a b c", "a\nb\tc"},
		{"invalid utf-8", "a\xffb", "a\uFFFDb", "a\uFFFDb"},
	}
	for _, c := range cases {
		if got := Line(c.in, 100); got != c.line {
			t.Errorf("%s: Line(%q) = %q, want %q", c.name, c.in, got, c.line)
		}
		if got := Block(c.in, 100); got != c.block {
			t.Errorf("%s: Block(%q) = %q, want %q", c.name, c.in, got, c.block)
		}
	}
}

func TestBounds(t *testing.T) {
	huge := strings.Repeat("é", 1<<20)
	got := Line(huge, 1001)
	if len(got) > 1001 || !utf8.ValidString(got) {
		t.Errorf("Line of 2 MiB cut to %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if Line("abc", 0) != "" {
		t.Error("max 0 must give an empty string")
	}
	if got := TruncateBytes("aé", 2); got != "a" {
		t.Errorf("TruncateBytes split a rune: %q", got)
	}
}
