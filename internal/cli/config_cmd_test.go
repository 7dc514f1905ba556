package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// writeConfig writes a config file and returns the environment that
// points a2atop at it (and at private data and store directories).
func writeConfig(t *testing.T, src string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir()) // the remote client's journals
	return path, map[string]string{"A2ATOP_CONFIG": path, "A2ATOP_DB": filepath.Join(dir, "tasks.db"), "HOME": dir}
}

func runCode(t *testing.T, env map[string]string, want int, args ...string) cliRun {
	t.Helper()
	r := runIn(t, t.Context(), "", env, args...)
	if r.code != want {
		t.Fatalf("a2atop %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, want, r.stdout, r.stderr)
	}
	return r
}

func TestConfigPath(t *testing.T) {
	r := runCode(t, map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/u"}, exitOK, "config", "path")
	if r.stdout != "/x/cfg/a2atop/config.yaml\n" {
		t.Fatalf("path = %q", r.stdout)
	}
	r = runCode(t, map[string]string{"A2ATOP_CONFIG": "/etc/a.yaml", "HOME": "/home/u"}, exitOK, "config", "path")
	if r.stdout != "/etc/a.yaml\n" {
		t.Fatalf("path = %q", r.stdout)
	}
	r = runCode(t, map[string]string{"A2ATOP_CONFIG": "/etc/a.yaml"}, exitOK, "--config", "/tmp/b.yaml", "config", "path")
	if r.stdout != "/tmp/b.yaml\n" {
		t.Fatalf("--config: path = %q", r.stdout)
	}
	runCode(t, nil, exitUsage, "config")
	runCode(t, nil, exitUsage, "config", "frob")
}

func TestConfigCheck(t *testing.T) {
	path, env := writeConfig(t, "agents:\n  prod:\n    url: https://prod.example\n  dev:\n    db: /tmp/dev.db\nsets:\n  both: [prod, dev]\ndefault: both\n")
	r := runCode(t, env, exitOK, "config", "check")
	if want := path + ": ok: 2 agent(s), 1 set(s), default: both\n"; r.stdout != want {
		t.Fatalf("check = %q, want %q", r.stdout, want)
	}
	_, missing := writeConfig(t, "")
	missing["A2ATOP_CONFIG"] += ".none"
	if r := runCode(t, missing, exitOK, "config", "check"); !strings.Contains(r.stdout, "no config file") {
		t.Fatalf("missing file: %q", r.stdout)
	}
}

// Every bad file is exit 2 with one line per problem naming the file, the
// line and the field; every command that reads the config says the first
// problem in one line with exit 2, and never panics.
func TestBadConfigFiles(t *testing.T) {
	cases := []struct {
		name, src string
		lines     []string // what check prints, one per problem
	}{
		{"syntax", "agents:\n  a:\n    url: [unclosed\n", []string{"config.yaml:3"}},
		{"unknown field", "agents:\n  a:\n    url: http://x\n    urll: http://y\n", []string{`config.yaml:4: unknown field "urll"`}},
		{"two problems", "agents:\n  a:\n    url: ftp://x\n  b:\n    color: red\n", []string{
			`config.yaml:3: agents.a.url: "ftp://x" is not an http(s) URL`,
			"config.yaml:4: agents.b: set url (a remote agent) or db (a local store)",
		}},
		{"literal secret", "agents:\n  a:\n    url: http://x\n    auth:\n      bearer: s3cret\n", []string{"config.yaml:5: agents.a.auth.bearer: a secret is never written"}},
		{"bad default", "default: nope\n", []string{`config.yaml:1: default[0]: no agent or set named "nope"`}},
		{"not yaml at all", "\x00\x01\x02: [", []string{"config.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, env := writeConfig(t, c.src)
			r := runCode(t, env, exitUsage, "config", "check")
			got := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(got) != len(c.lines) {
				t.Fatalf("check printed %d lines, want %d:\n%s", len(got), len(c.lines), r.stderr)
			}
			for i, want := range c.lines {
				if !strings.HasPrefix(got[i], "a2atop: ") || !strings.Contains(got[i], want) {
					t.Errorf("line %d = %q, want it to contain %q", i, got[i], want)
				}
			}
			for _, args := range [][]string{{"config", "list"}, {"list", "a"}, {"list", "-A"}, {"get", "x", "a"}, {"nosuchagent"}} {
				r := runCode(t, env, exitUsage, args...)
				oneErrorLine(t, r, c.lines[0])
			}
		})
	}
}

func TestConfigListReachability(t *testing.T) {
	peer := testpeer.Start(t, testpeer.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there any more
	_, env := writeConfig(t, fmt.Sprintf(`agents:
  peer:
    url: %s
    readOnly: true
  gone:
    url: %s
    protocol: "1.0"
  keyless:
    url: %s
    auth:
      bearer: {env: NO_SUCH_TOKEN}
  store:
    db: /nonexistent/dir/tasks.db
sets:
  up: [peer, store]
default: up
`, peer.URL(), dead, peer.URL()))
	r := runCode(t, env, exitOK, "config", "list")
	lines := strings.Split(r.stdout, "\n")
	want := map[string][]string{
		"peer":    {peer.URL(), "auto", "read-only", "✓", "A2A v1.0"},
		"gone":    {dead, "1.0", "read-write", "✗"},
		"keyless": {"✗", "NO_SUCH_TOKEN"},
		"store":   {"local · /nonexistent/dir/tasks.db", "no store yet"},
	}
	for name, parts := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, name+" ") {
				found = true
				for _, p := range parts {
					if !strings.Contains(l, p) {
						t.Errorf("%s line %q lacks %q", name, l, p)
					}
				}
			}
		}
		if !found {
			t.Errorf("no line for %s:\n%s", name, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "set up: peer store\n") || !strings.Contains(r.stdout, "default: up\n") {
		t.Fatalf("sets/default missing:\n%s", r.stdout)
	}
}

// list and get over several targets: two remote agents and the local
// engine, with an AGENT column, and an agent field beside each Task in
// --json.
func TestListAndGetAcrossAgents(t *testing.T) {
	a := testpeer.Start(t, testpeer.Options{})
	b := testpeer.Start(t, testpeer.Options{})
	_, env := writeConfig(t, fmt.Sprintf("agents:\n  alpha:\n    url: %s\n  beta:\n    url: %s\n", a.URL(), b.URL()))
	ids := map[string]string{}
	for name, url := range map[string]string{"alpha": a.URL(), "beta": b.URL()} {
		r := runCode(t, env, exitOK, "send", "--url", url, "--json", "echo", "to", name)
		ids[name] = decodeTask(t, r.stdout).ID
	}
	r := runCode(t, env, exitOK, "send", "--json", "echo", "to", "local")
	ids["local"] = decodeTask(t, r.stdout).ID

	r = runCode(t, env, exitOK, "list", "alpha", "beta", "local")
	if !strings.HasPrefix(r.stdout, "AGENT ") || !strings.Contains(r.stdout, "3 task(s) on 3 agent(s)") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	for name, id := range ids {
		if !strings.Contains(r.stdout, name) || !strings.Contains(r.stdout, id) {
			t.Errorf("list lacks %s's task %s:\n%s", name, id, r.stdout)
		}
	}

	r = runCode(t, env, exitOK, "list", "-A", "--json")
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row struct {
			Agent string          `json:"agent"`
			Task  json.RawMessage `json:"task"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got[row.Agent] = decodeTask(t, string(row.Task)).ID
	}
	// -A is every agent of the file (local is not one of them here).
	if len(got) != 2 || got["alpha"] != ids["alpha"] || got["beta"] != ids["beta"] {
		t.Fatalf("list -A --json: %v, want alpha and beta's tasks %v", got, ids)
	}

	r = runCode(t, env, exitOK, "get", "--json", ids["beta"], "alpha", "beta")
	if !strings.Contains(r.stdout, `"agent":"beta"`) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("get across agents: %s", r.stdout)
	}
	r = runCode(t, env, exitTaskFailed, "get", "no-such-task", "alpha", "beta")
	oneErrorLine(t, r, "no task no-such-task on any of the 2 agent(s)")

	// One agent down: the others still print; exit 3 names it.
	b.Close()
	r = runCode(t, env, exitUnreachable, "list", "alpha", "beta")
	if !strings.Contains(r.stdout, ids["alpha"]) || !strings.Contains(r.stderr, "agent beta:") {
		t.Fatalf("one agent down:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
}

func TestResolveFleetTargets(t *testing.T) {
	_, env := writeConfig(t, "agents:\n  prod:\n    url: https://prod.example/a2a\n    readOnly: true\n    color: \"#ff0000\"\n  dev:\n    db: /tmp/dev.db\nsets:\n  both: [prod, dev]\ndefault: both\n")
	c := &cli{getenv: func(k string) string { return env[k] }}
	cfg, err := c.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	tf := addTargetFlags(fs, localKind|remoteKind)
	if err := fs.Parse([]string{"--db", "/tmp/local.db", "--protocol", "0.3"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.resolveFleet("", []string{"both", "http://127.0.0.1:9/", "local", "prod"}, cfg, tf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d targets: %+v", len(got), got)
	}
	prod, dev, bare, local := got[0], got[1], got[2], got[3]
	if prod.name != "prod" || !prod.readOnly || prod.color != "#ff0000" || prod.t.kind != remoteKind || prod.t.remote.config == nil || prod.t.remote.protocol != "0.3" {
		t.Errorf("prod: %+v", prod)
	}
	if dev.name != "dev" || dev.t.kind != localKind || dev.t.local.db != "/tmp/dev.db" {
		t.Errorf("dev: %+v", dev)
	}
	if bare.name != "127.0.0.1:9" || bare.t.remote.url != "http://127.0.0.1:9/" {
		t.Errorf("bare URL: %+v", bare)
	}
	if local.name != "local" || local.t.kind != localKind || local.t.local.db != "/tmp/local.db" {
		t.Errorf("local: %+v", local)
	}
	// No words: the default set.
	if got, err := c.resolveFleet("", nil, cfg, tf); err != nil || len(got) != 2 {
		t.Fatalf("default: %v %+v", err, got)
	}
	if _, err := c.resolveFleet("", []string{"nope"}, cfg, tf); err == nil || !strings.Contains(err.Error(), `"nope" is not a subcommand, a URL`) {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := c.resolveFleet("get", []string{"prod", "nope"}, cfg, tf); err == nil || !strings.Contains(err.Error(), `get: "nope" is not a target`) {
		t.Fatalf("unknown name: %v", err)
	}
}
