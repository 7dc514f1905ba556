package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// A flag that does not apply to the chosen target is a usage error naming
// it, the same way in every command and the dashboard (which would open a
// terminal screen if it got past the flags).
func TestFlagsOfTheOtherTargetAreUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		flag string
	}{
		{[]string{"send", "--db", ":memory:", "--header", "X: y", "echo", "hi"}, "--header"},
		{[]string{"send", "--db", ":memory:", "--header", "X-A: b", "--protocol", "0.3", "echo", "hi"}, "--header"},
		{[]string{"--db", ":memory:", "--header", "X: y"}, "--header"},
		{[]string{"list", "--protocol", "1.0"}, "--protocol"},
		{[]string{"get", "--insecure", "ID"}, "--insecure"},
		{[]string{"cancel", "--ca-cert", "x.pem", "ID"}, "--ca-cert"},
		{[]string{"subscribe", "--header", "X: y", "ID"}, "--header"},
		// The reverse: local-only flags with a remote agent.
		{[]string{"send", "--url", "http://127.0.0.1:9", "--agent", "exec", "echo", "hi"}, "--agent"},
		{[]string{"send", "--url", "http://127.0.0.1:9", "--agent", "demo", "echo", "hi"}, "--agent"},
		{[]string{"list", "--url", "http://127.0.0.1:9", "--db", ":memory:"}, "--db"},
		{[]string{"--url", "http://127.0.0.1:9", "--agent", "demo"}, "--agent"},
		{[]string{"http://127.0.0.1:9", "--workdir", "/tmp"}, "--workdir"},
	}
	for _, tc := range cases {
		r := runIn(t, context.Background(), "", nil, tc.args...)
		if r.code != exitUsage {
			t.Errorf("a2atop %q: exit %d, want %d; stderr %q", tc.args, r.code, exitUsage, r.stderr)
			continue
		}
		oneErrorLine(t, r, tc.flag+" applies to")
	}
	// $A2ATOP_URL chooses the remote agent just as --url does.
	r := runIn(t, context.Background(), "", map[string]string{"A2ATOP_URL": "http://127.0.0.1:9"}, "list", "--db", ":memory:")
	if r.code != exitUsage {
		t.Fatalf("A2ATOP_URL with --db: exit %d; stderr %q", r.code, r.stderr)
	}
	oneErrorLine(t, r, "--db applies to the local engine")
}

// serve always publishes the local engine and discover always reads a
// remote card: the other kind's flags are not theirs at all.
func TestServeAndDiscoverTakeOneKindOfTarget(t *testing.T) {
	r := runIn(t, context.Background(), "", nil, "serve", "--url", "http://127.0.0.1:9")
	if r.code != exitUsage {
		t.Fatalf("serve --url: exit %d", r.code)
	}
	oneErrorLine(t, r, "unknown flag: --url")
	r = runIn(t, context.Background(), "", nil, "discover", "--db", ":memory:", "http://127.0.0.1:9")
	if r.code != exitUsage {
		t.Fatalf("discover --db: exit %d", r.code)
	}
	oneErrorLine(t, r, "unknown flag: --db")
	r = runIn(t, context.Background(), "", nil, "discover")
	if r.code != exitUsage {
		t.Fatalf("discover without a URL: exit %d", r.code)
	}
	oneErrorLine(t, r, "missing the agent URL")
}

func TestResolveTarget(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	parse := func(kinds targetKind, args ...string) *targetFlags {
		t.Helper()
		cmd := dashboardFlagSet()
		tf := addTargetFlags(cmd, kinds)
		if err := cmd.Parse(args); err != nil {
			t.Fatal(err)
		}
		return tf
	}
	got, err := parse(localKind|remoteKind, "--db", "x.db", "--agent", "exec").resolve("", env(nil))
	if err != nil || got.kind != localKind || got.local.db != "x.db" || got.local.agent != "exec" {
		t.Fatalf("local: %+v %v", got, err)
	}
	got, err = parse(localKind|remoteKind, "--header", "A: b", "--protocol", "0.3").resolve("https://agent", env(map[string]string{"A2ATOP_HEADERS": "C: d"}))
	if err != nil || got.kind != remoteKind || got.remote.url != "https://agent" || got.remote.protocol != "0.3" || strings.Join(got.remote.headers, "|") != "C: d|A: b" {
		t.Fatalf("remote: %+v %v", got, err)
	}
	// serve: $A2ATOP_URL does not make a local-only command remote.
	got, err = parse(localKind).resolve("", env(map[string]string{"A2ATOP_URL": "https://agent"}))
	if err != nil || got.kind != localKind {
		t.Fatalf("local-only with $A2ATOP_URL: %+v %v", got, err)
	}
	if _, err := parse(localKind|remoteKind, "--url", "https://a").resolve("https://b", env(nil)); err == nil || !strings.Contains(err.Error(), "once") {
		t.Fatalf("URL twice: %v", err)
	}
	if _, err := parse(remoteKind, "--protocol", "2.0").resolve("https://a", env(nil)); err == nil || !strings.Contains(err.Error(), "--protocol") {
		t.Fatalf("bad protocol: %v", err)
	}
	if _, err := parse(remoteKind).resolve("https://a", env(map[string]string{"A2ATOP_HEADERS": "no colon"})); err == nil {
		t.Fatal("a bad $A2ATOP_HEADERS passed")
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runIn(t, context.Background(), "", nil, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, "a2atop") || r.stderr != "" {
			t.Fatalf("completion %s: exit %d, stderr %q, stdout starts %.200q", shell, r.code, r.stderr, r.stdout)
		}
	}
	// Completion lists the subcommands and a command's flags.
	r := runIn(t, context.Background(), "", nil, "__complete", "se")
	if !strings.Contains(r.stdout, "send") || !strings.Contains(r.stdout, "serve") {
		t.Fatalf("__complete se:\n%s", r.stdout)
	}
	r = runIn(t, context.Background(), "", nil, "__complete", "list", "--st")
	if !strings.Contains(r.stdout, "--state") {
		t.Fatalf("__complete list --st:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		if r := runIn(t, context.Background(), "", nil, args...); r.code != exitUsage {
			t.Fatalf("a2atop %q: exit %d", args, r.code)
		}
	}
}

func dashboardFlagSet() *pflag.FlagSet {
	return pflag.NewFlagSet("test", pflag.ContinueOnError)
}
