package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/a2atop/a2atop/internal/termsafe"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// hostile is agent text that would act on a terminal if printed raw: C0
// ESC and BEL, C1 CSI (U+009B) and NEL, a bidi override and isolate, a
// zero-width space, a tag character, the line separator.
const hostile = "a\x1b[2Jb\x07c\u009b31md\u0085e\u202egnp.exe\u2066f\u200bg\U000E0041h\u2028i"

// rawControl reports the first rune of out that must never reach a
// terminal raw: a C0 control other than the newline ending each line, DEL,
// a C1 control, a format (Cf) or bidi control character, U+2028/9.
func rawControl(out string) (rune, bool) {
	for _, r := range out {
		switch {
		case r == '\n':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return r, true
		case r == '\u2028' || r == '\u2029':
			return r, true
		case unicode.Is(unicode.Cf, r) || termsafe.IsBidiControl(r):
			return r, true
		}
	}
	return 0, false
}

// checkJSONLines asserts that out holds no raw control or bidi rune, that
// every line is JSON, and that the hostile string decodes back whole from
// at least one of them.
func checkJSONLines(t *testing.T, what, out string) {
	t.Helper()
	if r, bad := rawControl(out); bad {
		t.Errorf("%s: raw U+%04X in the JSON output:\n%q", what, r, out)
	}
	found := false
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: a line is not JSON: %v\n%q", what, err, line)
		}
		if holds(v, hostile) {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: no line decodes back to the hostile string:\n%q", what, out)
	}
}

// holds reports whether a decoded JSON value holds the string s.
func holds(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return v == s
	case []any:
		for _, e := range v {
			if holds(e, s) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if holds(e, s) {
				return true
			}
		}
	}
	return false
}

// Agent text in --json output comes out with every control and bidi
// character escaped, through every command that prints JSON, on the local
// engine (the demo agent echoes it) and on a real a2a-go agent (which
// echoes it too, and carries it in its card's name).
func TestJSONOutputEscapesControlAndBidi(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "--json", "echo", hostile)
	checkJSONLines(t, "send", r.stdout)
	id := decodeTask(t, r.stdout).ID
	checkJSONLines(t, "send --stream", mustRun(t, db, exitOK, "send", "--stream", "--json", "echo", hostile).stdout)
	checkJSONLines(t, "get", mustRun(t, db, exitOK, "get", "--json", id).stdout)
	checkJSONLines(t, "list", mustRun(t, db, exitOK, "list", "--json").stdout)
	checkJSONLines(t, "subscribe", mustRun(t, db, exitOK, "subscribe", "--json", id).stdout)

	peer := testpeer.Start(t, testpeer.Options{Name: hostile})
	checkJSONLines(t, "discover", remoteRun(t, nil, exitOK, "discover", "--json", peer.URL()).stdout)
	env := map[string]string{"A2ATOP_URL": peer.URL()}
	r = remoteRun(t, env, exitOK, "send", "--json", "echo", hostile)
	checkJSONLines(t, "remote send", r.stdout)
	checkJSONLines(t, "remote send --stream", remoteRun(t, env, exitOK, "send", "--stream", "--json", "echo", hostile).stdout)
	checkJSONLines(t, "remote get", remoteRun(t, env, exitOK, "get", "--json", decodeTask(t, r.stdout).ID).stdout)
	checkJSONLines(t, "remote list", remoteRun(t, env, exitOK, "list", "--json").stdout)
}
