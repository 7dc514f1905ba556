package termsafe

import (
	"encoding/json"
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON output is for programs, but people pipe it to terminals: an agent's
// text holding U+009B (CSI, a one-byte escape sequence introducer on many
// terminals) or U+202E (right-to-left override) would act on the terminal
// or reorder what it shows. encoding/json escapes only <, >, &, U+2028 and
// U+2029 beyond C0. The functions below escape every control and
// formatting character as \uXXXX as well, which every JSON reader decodes
// back to the same string: the data is unchanged, only its spelling.

// needsJSONEscape: C0 controls (other than the whitespace JSON uses
// between tokens, which encoding/json never leaves raw inside a string),
// DEL, C1 controls, and format characters (Unicode category Cf: bidi
// overrides, isolates and marks, zero-width characters, soft hyphen, BOM,
// tag characters), plus the line and paragraph separators.
func needsJSONEscape(r rune) bool {
	switch {
	case r == '\n' || r == '\r' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case r < 0xa0:
		return false
	}
	return unicode.Is(unicode.Cf, r) || IsBidiControl(r)
}

// EscapeJSON returns the JSON text b with every control and formatting
// character spelled \uXXXX (a surrogate pair beyond the BMP). b must be
// JSON as encoding/json writes it: such characters can then only occur
// inside strings, where the escape means the same character. Invalid UTF-8
// is spelled \ufffd. b is returned as is when nothing needs escaping.
func EscapeJSON(b []byte) []byte {
	i := firstToEscape(b)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	return appendEscaped(out, b[i:])
}

// firstToEscape is the offset of the first rune EscapeJSON changes, or -1.
func firstToEscape(b []byte) int {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || needsJSONEscape(r) {
			return i
		}
		i += n
	}
	return -1
}

func appendEscaped(out, b []byte) []byte {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case needsJSONEscape(r):
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// MarshalJSON is json.Marshal (or json.MarshalIndent when indent is not
// empty) with EscapeJSON applied.
func MarshalJSON(v any, indent string) ([]byte, error) {
	var b []byte
	var err error
	if indent == "" {
		b, err = json.Marshal(v)
	} else {
		b, err = json.MarshalIndent(v, "", indent)
	}
	if err != nil {
		return nil, err
	}
	return EscapeJSON(b), nil
}

// JSONWriter passes JSON text on to an io.Writer with EscapeJSON applied,
// so that a json.Encoder can write through it:
//
//	enc := json.NewEncoder(termsafe.NewJSONWriter(os.Stdout))
//
// A character split across two writes is held back until it is whole; the
// encoder writes whole values, so nothing is held after one.
type JSONWriter struct {
	w    io.Writer
	part []byte // the start of a character cut by the end of a write
}

// NewJSONWriter returns a JSONWriter writing to w.
func NewJSONWriter(w io.Writer) *JSONWriter { return &JSONWriter{w: w} }

// Write escapes p and writes it; it reports len(p) when all of it was
// written or held back.
func (j *JSONWriter) Write(p []byte) (int, error) {
	b := p
	if len(j.part) > 0 {
		b = append(j.part, p...)
		j.part = nil
	}
	// Hold back an incomplete character at the end.
	cut := len(b)
	for k := len(b) - 1; k >= 0 && k >= len(b)-utf8.UTFMax; k-- {
		if utf8.RuneStart(b[k]) {
			if !utf8.FullRune(b[k:]) {
				cut = k
			}
			break
		}
	}
	j.part = append(j.part[:0:0], b[cut:]...)
	if _, err := j.w.Write(EscapeJSON(b[:cut])); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a held-back incomplete character (as \ufffd: it will never
// be completed).
func (j *JSONWriter) Flush() error {
	if len(j.part) == 0 {
		return nil
	}
	b := EscapeJSON(j.part)
	j.part = nil
	_, err := j.w.Write(b)
	return err
}
