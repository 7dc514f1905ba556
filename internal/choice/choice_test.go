package choice

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

func TestParseShapes(t *testing.T) {
	for _, tt := range []struct {
		in     string
		ok     bool
		labels string
		texts  string
	}{
		{`{"options":["red","blue"]}`, true, "red|blue", "red|blue"},
		{`{"choices":[{"value":1,"label":"One"},{"id":"b","title":"Bee"}]}`, true, "One|Bee", "1|b"},
		{`{"enum":["x",2,true]}`, true, "x|2|true", "x|2|true"},
		{`{"options":[null,[1],{"label":"no value"}]}`, true, "no value", `{"label":"no value"}`},
		{`{"options":[]}`, false, "", ""},
		{`{"question":"q"}`, false, "", ""},
		{`[1,2]`, false, "", ""},
		{`"text"`, false, "", ""},
		{`{"options": nope}`, false, "", ""},
	} {
		f, ok := Parse(json.RawMessage(tt.in))
		if ok != tt.ok {
			t.Errorf("%s: ok %v", tt.in, ok)
			continue
		}
		var labels, texts []string
		for _, o := range f.Options {
			labels = append(labels, o.Label)
			texts = append(texts, o.Text())
		}
		if strings.Join(labels, "|") != tt.labels || strings.Join(texts, "|") != tt.texts {
			t.Errorf("%s: labels %q texts %q", tt.in, labels, texts)
		}
	}
}

func TestAnswerAsTextOrData(t *testing.T) {
	f, _ := Parse(json.RawMessage(`{"options":[{"value":{"k":1},"label":"K"},"red"],"answer":"data","field":"pick"}`))
	if p := f.Answer(0); p.Kind != a2a.PartData || string(p.Data) != `{"pick":{"k":1}}` {
		t.Fatalf("data answer %s", p.Data)
	}
	f.AsData = false
	if p := f.Answer(1); p.Kind != a2a.PartText || p.Text != "red" {
		t.Fatalf("text answer %+v", p)
	}
	// A field name with quotes stays valid JSON.
	f, _ = Parse(json.RawMessage(`{"options":["a"],"answer":"DATA","field":"we\"ird"}`))
	if p := f.Answer(0); !json.Valid(p.Data) || string(p.Data) != `{"we\"ird":"a"}` {
		t.Fatalf("quoted field: %s", p.Data)
	}
}

func TestBounds(t *testing.T) {
	var opts []string
	for i := range 500 {
		opts = append(opts, fmt.Sprintf("%q", strings.Repeat("x", i)))
	}
	f, ok := Parse(json.RawMessage(`{"options":[` + strings.Join(opts, ",") + `]}`))
	if !ok || len(f.Options) != MaxOptions {
		t.Fatalf("%d options", len(f.Options))
	}
	long, _ := json.Marshal(map[string]any{"options": []string{strings.Repeat("é", 1000)}, "question": strings.Repeat("q", 5000)})
	f, _ = Parse(long)
	if n := len([]rune(f.Options[0].Label)); n != MaxLabelRunes {
		t.Fatalf("label of %d runes", n)
	}
	if n := len([]rune(f.Question)); n != MaxLabelRunes {
		t.Fatalf("question of %d runes", n)
	}
	huge, _ := json.Marshal(map[string]any{"options": []string{strings.Repeat("x", MaxValueBytes)}})
	if _, ok := Parse(huge); ok {
		t.Fatal("an option over MaxValueBytes was kept")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"options":["red",{"value":"blue","label":"Blue"}],"answer":"data"}`))
	f.Add([]byte(`{"enum":[1,2]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		form, ok := Parse(b)
		if !ok {
			return
		}
		for i := range form.Options {
			if p := form.Answer(i); p.Kind == a2a.PartData && !json.Valid(p.Data) {
				t.Fatalf("answer %d is not JSON: %s", i, p.Data)
			}
		}
	})
}
