package ui

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/termsafe"
	"github.com/charmbracelet/x/ansi"
)

// hostile is what a malicious agent might put in a status text, an
// artifact or an agent card to take over the user's terminal.
var hostile = []string{
	"\x1b[2J\x1b[H",            // clear screen, cursor home
	"\x1b[10;10H",              // cursor move
	"\x1b[5A\x1b[3C",           // cursor up, right
	"\x1b]0;pwned title\x07",   // OSC window title (BEL)
	"\x1b]2;pwned title\x1b\\", // OSC window title (ST)
	"\x1b]8;;https://evil.test\x07click\x1b]8;;\x07", // OSC 8 hyperlink
	"\x1b]52;c;ZXZpbA==\x07",                         // OSC 52 clipboard write
	"\x9b31m",                                        // C1 CSI
	"\u202eevil\u202c", "\u2066iso\u2069",            // bidi override, isolate
	"\x1bP+q\x1b\\",    // DCS
	"\r\b\b\bover\x7f", // carriage return, backspaces
}

func hostileText() string {
	return "safe " + strings.Join(hostile, " ") + " " + strings.Repeat("A", 1<<20)
}

// TestHostileAgentText feeds escape sequences, bidi controls and a 1 MiB
// line through every place agent text reaches the screen; the frame keeps
// its size and holds no escape or control character other than the
// dashboard's own SGR styling.
func TestHostileAgentText(t *testing.T) {
	f := newFakeService()
	evil := hostileText()
	tk := &a2a.Task{ID: "evil\x1b[2J-id", ContextID: "ctx\u202e", Status: a2a.TaskStatus{State: a2a.StateInputRequired, Timestamp: testNow,
		Message: &a2a.Message{ID: "m1", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(evil)}}},
		Metadata: a2a.Metadata{"k\x1b]0;x\x07": evil[:4096]},
		Artifacts: []a2a.Artifact{{ID: "a1", Name: "../../" + evil[:200], Description: evil[:300], Parts: []a2a.Part{
			a2a.TextPart(evil),
			{Kind: a2a.PartData, Data: []byte(`{"k":"\u001b[2J` + strings.Repeat("x", 1000) + `"}`)},
			a2a.FileURIPart(evil[:100], evil[:100], "https://x.test/"+evil[:200]),
		}}},
		History: []a2a.Message{{ID: "h1", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(evil)}}},
	}
	f.tasks[tk.ID] = tk
	f.card = &a2a.AgentCard{Name: evil[:500], Description: evil, Skills: []a2a.AgentSkill{{Name: evil[:100], Description: evil}}}
	for _, size := range goldenSizes {
		m := newTestModel(t, f, size[0], size[1])
		drain(t, m, m.Init(), fireDetail)
		drain(t, m, func() tea.Msg {
			return eventsMsg{events: []a2a.StreamEvent{{Event: &a2a.StatusUpdateEvent{TaskID: tk.ID, Status: a2a.TaskStatus{State: a2a.StateInputRequired, Timestamp: testNow.Add(time.Second),
				Message: &a2a.Message{ID: "m2", Parts: []a2a.Part{a2a.TextPart(evil)}}}}}}}
		}, nil)
		views := map[string]string{"list": m.View().Content}
		press(t, m, "enter")
		views["detail"] = m.View().Content
		press(t, m, "tab")
		views["artifacts"] = m.View().Content
		press(t, m, "tab")
		views["history"] = m.View().Content
		press(t, m, "esc", "a")
		views["answer"] = m.View().Content
		press(t, m, "esc", "i")
		views["agent"] = m.View().Content
		press(t, m, "esc", "x")
		views["confirm"] = m.View().Content
		for name, v := range views {
			assertSafeFrame(t, name, v, size[0], size[1])
		}
		if title := m.View().WindowTitle; title != "a2atop" {
			t.Fatalf("title %q", title)
		}
	}
}

func assertSafeFrame(t *testing.T, name, frame string, w, h int) {
	t.Helper()
	plain := ansi.Strip(frame)
	checkFrame(t, plain, w, h)
	for _, bad := range []string{"pwned", "evil.test", "\x1b]", "\x1bP", "\u009b", "\u202e", "\u2066", "\u2069", "\r", "\b", "\x07", "\x7f"} {
		if strings.Contains(frame, bad) {
			t.Fatalf("%s %dx%d: frame contains %q", name, w, h, bad)
		}
	}
	// The only escapes left are the dashboard's own SGR styles.
	rest := frame
	for {
		i := strings.IndexByte(rest, 0x1b)
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if !strings.HasPrefix(rest, "[") {
			t.Fatalf("%s: non-CSI escape %q", name, rest[:min(len(rest), 10)])
		}
		end := strings.IndexFunc(rest[1:], func(r rune) bool { return r >= 0x40 && r <= 0x7e })
		if end < 0 || rest[1+end] != 'm' {
			t.Fatalf("%s: non-SGR CSI %q", name, rest[:min(len(rest), 10)])
		}
	}
	for _, r := range plain {
		if r < 0x20 && r != '\n' {
			t.Fatalf("%s: control character %U", name, r)
		}
	}
}

func TestCleanBoundsAndStrips(t *testing.T) {
	out := cleanLine(hostileText(), maxRowText)
	if len(out) > maxRowText {
		t.Fatalf("len %d", len(out))
	}
	if strings.ContainsAny(out, "\x1b\x07\r\n\b\u202e\u2066") || strings.Contains(out, "pwned") {
		t.Fatalf("not clean: %q", out[:200])
	}
	if got := cleanBlock("a\nb\tc\r", 100); got != "a\nb    c" {
		t.Fatalf("block %q", got)
	}
	if got := cleanLine("héllo \xff wörld", 100); got != "héllo \uFFFD wörld" {
		t.Fatalf("utf8 %q", got)
	}
	if got := cleanLine("ééé", 3); got != "é" {
		t.Fatalf("cut mid-rune: %q", got)
	}
}

// FuzzClean checks cleanLine's promises on any input: valid UTF-8, no
// escape or control characters, no bidi controls, bounded length.
func FuzzClean(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, 64)
	}
	f.Add("plain text", 4)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%(8<<10) + 1
		if max < 1 {
			max = -max + 1
		}
		out := cleanLine(s, max)
		if len(out) > max {
			t.Fatalf("len %d > %d", len(out), max)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || termsafe.IsBidiControl(r) {
				t.Fatalf("control %U in %q", r, out)
			}
		}
	})
}
