package termsafe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are strings an agent could send to act on a terminal that shows
// JSON output.
var hostile = []string{
	"CSI \u009b31m red",
	"override \u202eevil\u202c",
	"isolate \u2066x\u2069 mark \u200e\u200f \u061c",
	"zero\u200bwidth\u200c\u200d\u2060 bom \ufeff soft\u00adhyphen",
	"esc \x1b]0;title\x07 bel \x07 del \x7f nul \x00",
	"line\u2028para\u2029",
	"tags \U000E0001\U000E0041 beyond the BMP",
	"fine: é, 中文, emoji 😀, tab\tnewline\n",
}

// raw reports the first control or format character left unescaped.
func raw(b []byte) (rune, bool) {
	for _, r := range string(b) {
		if needsJSONEscape(r) {
			return r, true
		}
	}
	return 0, false
}

func TestEscapeJSONHostileStrings(t *testing.T) {
	v := map[string]any{"texts": hostile, "nested": map[string]string{"k\u202e": "v\u009b"}}
	for _, indent := range []string{"", "  "} {
		b, err := MarshalJSON(v, indent)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := raw(b); ok {
			t.Fatalf("indent %q: %U left raw in %s", indent, r, b)
		}
		if !json.Valid(b) {
			t.Fatalf("indent %q: invalid JSON %s", indent, b)
		}
		var back struct {
			Texts  []string          `json:"texts"`
			Nested map[string]string `json:"nested"`
		}
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for i, s := range hostile {
			if back.Texts[i] != s {
				t.Errorf("indent %q: %q came back as %q", indent, s, back.Texts[i])
			}
		}
		if back.Nested["k\u202e"] != "v\u009b" {
			t.Errorf("nested key or value changed: %q", back.Nested)
		}
	}
	for _, want := range []string{`\u009b`, `\u202e`, `\u200b`, `\u007f`, `\udb40\udc01`} {
		b, _ := MarshalJSON(hostile, "")
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no %s in %s", want, b)
		}
	}
}

func TestEscapeJSONLeavesCleanOutputAlone(t *testing.T) {
	b, _ := json.MarshalIndent(map[string]string{"a": "plain é 中文 😀"}, "", "\t")
	if got := EscapeJSON(b); &got[0] != &b[0] {
		t.Fatalf("clean JSON was copied: %s", got)
	}
}

func TestJSONWriterByteByByte(t *testing.T) {
	var want bytes.Buffer
	if err := json.NewEncoder(NewJSONWriter(&want)).Encode(hostile); err != nil {
		t.Fatal(err)
	}
	var whole bytes.Buffer
	_ = json.NewEncoder(&whole).Encode(hostile)
	var got bytes.Buffer
	w := NewJSONWriter(&got)
	for _, c := range whole.Bytes() {
		if _, err := w.Write([]byte{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("byte by byte:\n%s\nwhole:\n%s", got.String(), want.String())
	}
	if r, ok := raw(got.Bytes()); ok {
		t.Fatalf("%U left raw", r)
	}
}

func TestJSONWriterInvalidUTF8(t *testing.T) {
	var got bytes.Buffer
	w := NewJSONWriter(&got)
	_, _ = w.Write([]byte("\"a\xffb\xe2\x80\""))
	_ = w.Flush()
	if !utf8.Valid(got.Bytes()) || !strings.Contains(got.String(), `\ufffd`) {
		t.Fatalf("invalid UTF-8 passed: %q", got.String())
	}
}

func FuzzEscapeJSON(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := MarshalJSON(s, "")
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := raw(b); ok {
			t.Fatalf("%U left raw in %s", r, b)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); utf8.ValidString(s) && back != want {
			t.Fatalf("%q came back as %q", s, back)
		}
	})
}
