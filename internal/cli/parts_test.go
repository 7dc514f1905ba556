package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// --data and --file add parts in the order given, before the TEXT, with
// names and media types; the engine stores them as sent.
func TestSendDataAndFileParts(t *testing.T) {
	db := tempDB(t)
	dir := t.TempDir()
	csv := writeFile(t, dir, "rows.csv", []byte("a,b\n1,2\n"))
	png := writeFile(t, dir, "picture", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 32)...))
	js := writeFile(t, dir, "form.json", []byte("{\n  \"choice\": \"red\"\n}\n"))
	r := mustRun(t, db, exitOK, "send", "--json", "--data", `{"a": [1, 2]}`, "--file", csv, "--data", "@"+js, "--file", png, "echo", "hi")
	task := decodeTask(t, r.stdout)
	r = mustRun(t, db, exitOK, "get", "--json", task.ID)
	got := decodeTask(t, r.stdout)
	if len(got.History) == 0 {
		t.Fatalf("no history: %s", r.stdout)
	}
	parts := got.History[0].Parts
	var kinds []string
	for _, p := range parts {
		kinds = append(kinds, string(p.Kind))
	}
	if strings.Join(kinds, ",") != "data,file,data,file,text" {
		t.Fatalf("parts %v, want data,file,data,file,text", kinds)
	}
	if string(parts[0].Data) != `{"a":[1,2]}` || string(parts[2].Data) != `{"choice":"red"}` {
		t.Fatalf("data parts %s %s", parts[0].Data, parts[2].Data)
	}
	if f := parts[1].File; f.Name != "rows.csv" || !strings.HasPrefix(f.MediaType, "text/csv") || string(f.Bytes) != "a,b\n1,2\n" {
		t.Fatalf("csv part %+v", f)
	}
	if f := parts[3].File; f.Name != "picture" || f.MediaType != "image/png" {
		t.Fatalf("sniffed part %s %s", f.Name, f.MediaType)
	}
	if parts[4].Text != "echo hi" {
		t.Fatalf("text %q", parts[4].Text)
	}
	// TEXT is optional once a part is given.
	mustRun(t, db, exitOK, "send", "--no-wait", "--data", `{"x":1}`)
}

func TestSendPartsBadInput(t *testing.T) {
	db := tempDB(t)
	dir := t.TempDir()
	big := writeFile(t, dir, "big.bin", bytes.Repeat([]byte("x"), maxFileBytes+1))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", `{"a":`}, "not valid JSON"},
		{[]string{"--data", "@" + filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"--data", "@" + dir}, "is not a regular file"},
		{[]string{"--file", dir}, "is not a regular file"},
		{[]string{"--file", big}, "over the limit of 4 MiB"},
		{[]string{"--data", "@"}, "needs a file name"},
	} {
		r := runIn(t, t.Context(), "", map[string]string{"A2ATOP_DB": db}, append(append([]string{"send"}, tt.args...), "echo", "x")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
			t.Errorf("send %q: exit %d, stderr %q; want exit %d and %q", tt.args, r.code, r.stderr, exitUsage, tt.want)
		}
	}
}

// An agent that asks with options: `send` shows them and how to answer;
// the answer as data is understood.
func TestSendShowsOptionsAndAnswersWithData(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "choose")
	for _, want := range []string{"input-required", "options   1) Red  [red] — warm and loud", "3) Blue  [blue]", "choose    a2atop send --task "} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("send choose: no %q in\n%s", want, r.stdout)
		}
	}
	r = mustRun(t, db, exitOK, "send", "--json", "choose", "data")
	task := decodeTask(t, r.stdout)
	r = mustRun(t, db, exitOK, "get", task.ID)
	if !strings.Contains(r.stdout, `--data '{"colour":"red"}'`) {
		t.Fatalf("get choose data:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitOK, "send", "--task", task.ID, "--data", `{"colour":"green"}`)
	if !strings.Contains(r.stdout, "colour chosen: green") {
		t.Fatalf("answer:\n%s", r.stdout)
	}
}

// send --stream follows an auth-required task that carries on to its end,
// and ends at auth-required when the agent's run ends there.
func TestSendStreamAuthRequired(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "--stream", "auth", "1")
	if !strings.Contains(r.stdout, "auth-required") || !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("send --stream auth 1:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitOK, "send", "--stream", "login")
	if !strings.Contains(r.stdout, "state     auth-required") {
		t.Fatalf("send --stream login:\n%s", r.stdout)
	}
}
