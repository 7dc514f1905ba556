package cli

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// remoteRun runs the CLI against a remote agent with a private journal.
func remoteRun(t *testing.T, env map[string]string, wantCode int, args ...string) cliRun {
	t.Helper()
	t.Setenv("XDG_DATA_HOME", t.TempDir()) // the client's journal
	r := runIn(t, context.Background(), "", env, args...)
	if r.code != wantCode {
		t.Fatalf("a2atop %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, wantCode, r.stdout, r.stderr)
	}
	return r
}

func TestRemoteSendGetCancelListBothDialects(t *testing.T) {
	peer := testpeer.Start(t, testpeer.Options{})
	for _, v := range []string{"1.0", "0.3"} {
		t.Run(v, func(t *testing.T) {
			r := remoteRun(t, nil, exitOK, "send", "--url", peer.URL(), "--protocol", v, "--json", "echo", "remote", "hello")
			task := decodeTask(t, r.stdout)
			if task.Status.State != a2a.StateCompleted || a2a.PartsText(task.Artifacts[0].Parts) != "remote hello" {
				t.Fatalf("send: %+v", task)
			}
			r = remoteRun(t, nil, exitOK, "get", "--url", peer.URL(), "--protocol", v, "--json", task.ID)
			if got := decodeTask(t, r.stdout); got.ID != task.ID {
				t.Fatalf("get: %s", r.stdout)
			}
			r = remoteRun(t, nil, exitTaskFailed, "cancel", "--url", peer.URL(), "--protocol", v, task.ID)
			oneErrorLine(t, r, "cannot be canceled")

			r = remoteRun(t, nil, exitOK, "send", "--url", peer.URL(), "--protocol", v, "--json", "ask")
			asked := decodeTask(t, r.stdout)
			if asked.Status.State != a2a.StateInputRequired {
				t.Fatalf("ask: %s", r.stdout)
			}
			r = remoteRun(t, nil, exitOK, "send", "--url", peer.URL(), "--protocol", v, "--json", "--task", asked.ID, "2026-12-01")
			if done := decodeTask(t, r.stdout); done.Status.State != a2a.StateCompleted {
				t.Fatalf("answer: %s", r.stdout)
			}
		})
	}
	// List: v1.0 lists; v0.3 lists the journal, and says so in one line.
	r := remoteRun(t, map[string]string{"A2ATOP_URL": peer.URL()}, exitOK, "list", "--json")
	if n := strings.Count(strings.TrimSpace(r.stdout), "\n") + 1; n != 4 {
		t.Errorf("list printed %d tasks, want 4:\n%s", n, r.stdout)
	}
	r = remoteRun(t, map[string]string{"A2ATOP_URL": peer.URL()}, exitOK, "list", "--protocol", "0.3")
	if !strings.Contains(r.stderr, "A2A v0.3, which cannot list tasks") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("v0.3 list must say once that it lists the journal:\n%s", r.stderr)
	}
}

func TestRemoteHeadersFromFlagAndEnvironment(t *testing.T) {
	got := make(chan http.Header, 16)
	peer := testpeer.Start(t, testpeer.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				select {
				case got <- r.Header.Clone():
				default:
				}
			}
			h.ServeHTTP(w, r)
		})
	}})
	env := map[string]string{"A2ATOP_URL": peer.URL(), "A2ATOP_HEADERS": "Authorization: Bearer from-env\nX-Team: blue"}
	remoteRun(t, env, exitOK, "send", "--header", "X-Run: 7", "echo", "hi")
	h := <-got
	if h.Get("Authorization") != "Bearer from-env" || h.Get("X-Team") != "blue" || h.Get("X-Run") != "7" || h.Get("A2A-Version") != "1.0" {
		t.Errorf("headers: %v", h)
	}
	r := remoteRun(t, env, exitUsage, "send", "--header", "no colon", "echo", "hi")
	oneErrorLine(t, r, "Name: value")
}

func TestDiscoverCommand(t *testing.T) {
	peer := testpeer.Start(t, testpeer.Options{})
	r := remoteRun(t, nil, exitOK, "discover", peer.URL())
	for _, want := range []string{"go-peer", "A2A v1.0 at " + peer.URL(), "first JSONRPC interface", "streaming", "Scripted behaviours", "* JSONRPC", "v0.3", "no live feed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("discover output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = remoteRun(t, nil, exitOK, "discover", "--protocol", "0.3", peer.URL())
	if !strings.Contains(r.stdout, "A2A v0.3") || !strings.Contains(r.stdout, "forced") {
		t.Errorf("forced 0.3:\n%s", r.stdout)
	}
	r = remoteRun(t, nil, exitOK, "discover", "--json", peer.URL())
	if !strings.Contains(r.stdout, `"supportedInterfaces"`) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("discover --json:\n%s", r.stdout)
	}
	r = remoteRun(t, nil, exitUnreachable, "discover", "http://127.0.0.1:1/")
	oneErrorLine(t, r, "127.0.0.1:1")
	r = remoteRun(t, nil, exitUsage, "send", "--url", peer.URL(), "--db", "x.db", "echo", "hi")
	oneErrorLine(t, r, "--db")
}

// BenchmarkRemoteList10k is `a2atop list --url` (human and --json output)
// for 10,000 tasks on a v1.0 a2a-go peer, in-process.
// Run: go test -run '^$' -bench RemoteList10k -benchtime 3x .
func BenchmarkRemoteList10k(b *testing.B) {
	peer := testpeer.Start(b, testpeer.Options{})
	if err := peer.Seed(context.Background(), 10000); err != nil {
		b.Fatal(err)
	}
	b.Setenv("XDG_DATA_HOME", b.TempDir())
	for _, format := range []string{"human", "json"} {
		b.Run(format, func(b *testing.B) {
			args := []string{"list", "--url", peer.URL()}
			if format == "json" {
				args = append(args, "--json")
			}
			for i := 0; i < b.N; i++ {
				var out, errOut strings.Builder
				c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
				if code := c.main(context.Background(), args); code != exitOK {
					b.Fatalf("exit %d: %s", code, errOut.String())
				}
				if n := strings.Count(out.String(), "\n"); n < 10000 {
					b.Fatalf("printed %d lines", n)
				}
			}
		})
	}
}

// The remote client's journal lands under the data folder of the
// environment the command was given, not the process's own.
func TestRemoteJournalFollowsInjectedEnvironment(t *testing.T) {
	peer := testpeer.Start(t, testpeer.Options{})
	processData := t.TempDir()
	t.Setenv("XDG_DATA_HOME", processData)
	given := t.TempDir()
	r := runIn(t, context.Background(), "", map[string]string{"XDG_DATA_HOME": given}, "send", "--url", peer.URL(), "echo", "hi")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(given, "a2atop", "remote", "*.db")); len(files) != 1 {
		t.Errorf("journal not under the given XDG_DATA_HOME: %v", files)
	}
	if files, _ := filepath.Glob(filepath.Join(processData, "a2atop", "remote", "*.db")); len(files) != 0 {
		t.Errorf("journal written under the process's own XDG_DATA_HOME: %v", files)
	}
}
