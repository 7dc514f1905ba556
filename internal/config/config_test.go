package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const example = `# agents a2atop knows
default: dev
agents:
  planner:
    url: https://planner.example.com
    binding: rest
    protocol: "0.3"
    headers:
      X-Team: core
      X-Api-Key: {env: PLANNER_KEY}
    color: "#ff8800"
  worker:
    url: http://127.0.0.1:9000
    readOnly: true
    auth:
      oauth2:
        clientId: a2atop
        clientSecret: {file: ~/.secrets/worker}
        scopes: [tasks]
  staging:
    db: /srv/a2atop/staging.db
sets:
  dev: [local, planner, worker]
`

func TestParseExample(t *testing.T) {
	cfg, err := Parse("config.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range cfg.Agents {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "planner,worker,staging" {
		t.Fatalf("agents in file order: %s", got)
	}
	p, _ := cfg.Agent("planner")
	if p.Binding != "rest" || p.Protocol != "0.3" || p.Color != "#ff8800" || p.Line != 4 || len(p.Headers) != 2 {
		t.Fatalf("planner: %+v", p)
	}
	w, _ := cfg.Agent("worker")
	if !w.ReadOnly || w.Auth.OAuth2 == nil || w.Auth.OAuth2.ClientSecret.File != "~/.secrets/worker" {
		t.Fatalf("worker: %+v", w)
	}
	targets, err := cfg.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	var tn []string
	for _, tg := range targets {
		tn = append(tn, tg.Name)
	}
	if got := strings.Join(tn, ","); got != "local,planner,worker" {
		t.Fatalf("default set: %s", got)
	}
}

func TestParseErrorsNameLineAndField(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"syntax", "agents:\n  a:\n    url: [unclosed\n", "config.yaml:3"},
		{"unknown field", "agents:\n  a:\n    url: http://x\n    urll: http://y\n", "config.yaml:4: unknown field \"urll\""},
		{"bad url", "agents:\n  a:\n    url: ftp://x\n", "config.yaml:3: agents.a.url: \"ftp://x\" is not an http(s) URL"},
		{"missing url", "agents:\n  a:\n    color: red\n", "config.yaml:2: agents.a: set url (a remote agent) or db (a local store)"},
		{"literal secret header", "agents:\n  a:\n    url: http://x\n    headers:\n      Authorization: Bearer s3cret\n", "config.yaml:5: agents.a.headers.Authorization: a secret is never written in the config"},
		{"literal bearer", "agents:\n  a:\n    url: http://x\n    auth:\n      bearer: s3cret\n", "config.yaml:5: agents.a.auth.bearer: a secret is never written"},
		{"unknown set member", "agents:\n  a:\n    url: http://x\nsets:\n  s: [a, b]\n", "config.yaml:5: sets.s[1]: no agent named \"b\""},
		{"reserved name", "agents:\n  local:\n    url: http://x\n", "config.yaml:2: agents.local: \"local\" is reserved"},
		{"bad binding", "agents:\n  a:\n    url: http://x\n    binding: grpc\n", "config.yaml:4: agents.a.binding: \"grpc\" is not a binding"},
		{"bad default", "default: nope\n", "config.yaml:1: default[0]: no agent or set named \"nope\""},
		{"wrong type", "agents:\n  a:\n    url: http://x\n    readOnly: maybe\n", "config.yaml:4"},
		{"not a mapping", "- a\n- b\n", "config.yaml:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte(c.src))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not contain %q", msg, c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, "s3cret") {
				t.Fatalf("error shows the secret: %q", msg)
			}
		})
	}
}

func TestCheckListsEveryError(t *testing.T) {
	_, err := Parse("c.yaml", []byte("agents:\n  a:\n    url: ftp://x\n  b:\n    color: nope\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want 3 errors (a.url, b missing url, b.color), got %v", err)
	}
	if es[0].Line != 3 || es[1].Line > es[2].Line {
		t.Fatalf("errors not in file order: %v", []*Error(es))
	}
}

func TestLoadMissingAndPath(t *testing.T) {
	dir := t.TempDir()
	cfg, ok, err := Load(filepath.Join(dir, "none.yaml"))
	if err != nil || ok || len(cfg.Agents) != 0 {
		t.Fatalf("missing file: %v %v %+v", ok, err, cfg)
	}
	env := map[string]string{"XDG_CONFIG_HOME": dir, "HOME": "/home/u"}
	p, _ := Path(func(k string) string { return env[k] })
	if p != filepath.Join(dir, "a2atop", "config.yaml") {
		t.Fatalf("path %s", p)
	}
	delete(env, "XDG_CONFIG_HOME")
	p, _ = Path(func(k string) string { return env[k] })
	if p != "/home/u/.config/a2atop/config.yaml" {
		t.Fatalf("path %s", p)
	}
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Fatalf("a folder: %v", err)
	}
}

func TestResolveWords(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := cfg.Resolve([]string{"https://x.example/a2a", "worker", "dev", "local"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range ts {
		got = append(got, tg.Name)
	}
	if strings.Join(got, ",") != "x.example,worker,local,planner" {
		t.Fatalf("resolve: %v", got)
	}
	if _, err := cfg.Resolve([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope" is not a URL`) {
		t.Fatalf("unknown word: %v", err)
	}
	empty := &Config{}
	ts, _ = empty.Resolve(nil)
	if len(ts) != 1 || !ts[0].Local {
		t.Fatalf("no config, no words: %+v", ts)
	}
}

func TestSecretResolve(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		return map[string]string{"TOK": "from-env", "HOME": dir}[k]
	}
	for _, c := range []struct {
		s    Secret
		want string
	}{
		{Secret{Env: "TOK"}, "from-env"},
		{Secret{File: file}, "from-file"},
		{Secret{File: "~/tok"}, "from-file"},
		{Secret{Command: "printf 'from-cmd\\n'"}, "from-cmd"},
		{Secret{Value: "plain"}, "plain"},
	} {
		got, err := c.s.Resolve(ctx, env)
		if err != nil || got != c.want {
			t.Errorf("%s: %q %v", c.s.Source(), got, err)
		}
	}
	_, err := Secret{Command: "echo leaked; echo leaked >&2; exit 3"}.Resolve(ctx, env)
	if err == nil || strings.Contains(err.Error(), "leaked") || !strings.Contains(err.Error(), "status 3") {
		t.Fatalf("failing command: %v", err)
	}
	if _, err := (Secret{Env: "MISSING"}).Resolve(ctx, env); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("missing env: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("agents: {a: {url: 'http://x', auth: {bearer: {env: T}}}}"))
	f.Add([]byte("default: [a, b]\nsets: {a: []}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Parse("f.yaml", src)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
	})
}
