// Package choice reads the options an agent offers with its question.
//
// A2A has no standard for a question with choices, so a2atop reads the
// common shape of a data part in the agent's status message:
//
//	{"question": "Which colour?",            // optional ("prompt" also read)
//	 "options": ["red", {"value": "blue", "label": "Blue", "description": "…"}],
//	 "answer": "text" | "data",              // optional, default "text"
//	 "field": "colour"}                      // key of a data answer, default "choice"
//
// "choices" is read as a synonym of "options", and a JSON Schema-style
// "enum" list too. The chosen option is sent back as a text part holding
// its value, or, when the question says "answer": "data", as a data part
// {field: value}. Everything here came from a remote agent: values are
// bounded, and callers sanitise labels before a terminal shows them.
package choice

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/a2atop/a2atop/a2a"
)

// Bounds on what an agent's question may offer; the rest is dropped.
const (
	MaxOptions    = 50
	MaxLabelRunes = 200
	// MaxValueBytes bounds one option's value as JSON.
	MaxValueBytes = 4096
	// maxFormBytes: a data part larger than this is not read as a question.
	maxFormBytes = 256 << 10
)

// Option is one choice.
type Option struct {
	// Value is the option's value as JSON (a string, number, object…).
	Value json.RawMessage
	// Label is what to show; the value's text when the agent gave none.
	Label       string
	Description string
}

// Text is the option's value as a text answer: a string value without
// its quotes, any other value as its JSON.
func (o Option) Text() string {
	var s string
	if json.Unmarshal(o.Value, &s) == nil {
		return s
	}
	return string(o.Value)
}

// Form is a question with options.
type Form struct {
	Question string
	Options  []Option
	// AsData: the agent wants the answer as a data part {Field: value}.
	AsData bool
	Field  string
}

// Find returns the first data part of parts that offers options.
func Find(parts []a2a.Part) (Form, bool) {
	for _, p := range parts {
		if p.Kind != a2a.PartData {
			continue
		}
		if f, ok := Parse(p.Data); ok {
			return f, true
		}
	}
	return Form{}, false
}

// FromMessage is Find on a message's parts (nil: none).
func FromMessage(m *a2a.Message) (Form, bool) {
	if m == nil {
		return Form{}, false
	}
	return Find(m.Parts)
}

// Parse reads one data part's JSON as a question with options.
func Parse(data json.RawMessage) (Form, bool) {
	if len(data) == 0 || len(data) > maxFormBytes {
		return Form{}, false
	}
	var raw struct {
		Question string            `json:"question"`
		Prompt   string            `json:"prompt"`
		Options  []json.RawMessage `json:"options"`
		Choices  []json.RawMessage `json:"choices"`
		Enum     []json.RawMessage `json:"enum"`
		Answer   string            `json:"answer"`
		Field    string            `json:"field"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return Form{}, false
	}
	list := raw.Options
	if len(list) == 0 {
		list = raw.Choices
	}
	if len(list) == 0 {
		list = raw.Enum
	}
	f := Form{Question: raw.Question, AsData: strings.EqualFold(raw.Answer, "data"), Field: raw.Field}
	if f.Question == "" {
		f.Question = raw.Prompt
	}
	f.Question = clip(f.Question, MaxLabelRunes)
	if f.Field == "" {
		f.Field = "choice"
	}
	f.Field = clip(f.Field, 100)
	for _, item := range list {
		if len(f.Options) == MaxOptions {
			break
		}
		if o, ok := parseOption(item); ok {
			f.Options = append(f.Options, o)
		}
	}
	return f, len(f.Options) > 0
}

func parseOption(item json.RawMessage) (Option, bool) {
	item = bytes.TrimSpace(item)
	if len(item) == 0 || len(item) > MaxValueBytes {
		return Option{}, false
	}
	var obj struct {
		Value       json.RawMessage `json:"value"`
		ID          json.RawMessage `json:"id"`
		Label       string          `json:"label"`
		Title       string          `json:"title"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
	}
	o := Option{Value: item}
	if item[0] == '{' && json.Unmarshal(item, &obj) == nil {
		switch {
		case len(obj.Value) > 0:
			o.Value = obj.Value
		case len(obj.ID) > 0:
			o.Value = obj.ID
		}
		o.Label = firstNonEmpty(obj.Label, obj.Title, obj.Name)
		o.Description = clip(obj.Description, MaxLabelRunes)
	} else if item[0] == '[' || item[0] == 'n' {
		return Option{}, false // a list or null is no option
	}
	if o.Label == "" {
		o.Label = o.Text()
	}
	o.Label = clip(o.Label, MaxLabelRunes)
	return o, o.Label != ""
}

// Answer is the part that sends option i back as the agent asked.
func (f Form) Answer(i int) a2a.Part {
	o := f.Options[i]
	if !f.AsData {
		return a2a.TextPart(o.Text())
	}
	key, _ := json.Marshal(f.Field)
	data := make([]byte, 0, len(key)+len(o.Value)+3)
	data = append(data, '{')
	data = append(data, key...)
	data = append(data, ':')
	data = append(data, o.Value...)
	data = append(data, '}')
	var buf bytes.Buffer
	if json.Compact(&buf, data) == nil {
		data = buf.Bytes()
	}
	return a2a.Part{Kind: a2a.PartData, Data: data, MediaType: "application/json"}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
