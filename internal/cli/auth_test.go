package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/auth"
	"github.com/a2atop/a2atop/internal/config"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/internal/testkit/testca"
)

// authRun runs the CLI in-process with env and a journal under dataDir,
// and checks the exit status and that no secret reached stdout or stderr.
func authRun(t *testing.T, dataDir string, env map[string]string, secrets []string, wantCode int, args ...string) cliRun {
	t.Helper()
	t.Setenv("XDG_DATA_HOME", dataDir) // the client's journal
	full := map[string]string{"XDG_DATA_HOME": dataDir}
	for k, v := range env {
		full[k] = v
	}
	r := runIn(t, context.Background(), "", full, args...)
	if r.code != wantCode {
		t.Fatalf("a2atop %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, wantCode, r.stdout, r.stderr)
	}
	for _, s := range secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("a2atop %q printed the secret %q:\nstdout:\n%s\nstderr:\n%s", args, s, r.stdout, r.stderr)
		}
	}
	return r
}

// noSecretInFiles fails when a file under dir (the client's journal)
// holds a secret.
func noSecretInFiles(t *testing.T, dir string, secrets []string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the secret %q", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no journal file under %s: the check checked nothing", dir)
	}
}

func writeSecret(t *testing.T, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRemoteAuthEveryScheme drives send, get, list and discover against
// an a2a-go v2.4.0 peer that requires credentials, for each scheme the
// card can ask for, over both bindings and both dialects: with the right
// credentials every command works; without them, or with wrong ones, the
// command fails with one line and exit 4. No secret reaches the output or
// the journal.
func TestRemoteAuthEveryScheme(t *testing.T) {
	const (
		bearer   = "bearer-s3cret-token"
		apiKey   = "apikey-s3cret-value"
		clientID = "a2atop-test"
		secret   = "client-s3cret-value"
	)
	tokens := testpeer.StartTokenServer(t, clientID, secret, 0)
	secretFile := writeSecret(t, secret)
	wrongFile := writeSecret(t, "wrong-s3cret")
	secrets := []string{bearer, apiKey, secret, "wrong-s3cret"}
	type scheme struct {
		name   string
		auth   *testpeer.Auth
		good   map[string]string // environment
		args   []string
		bad    []string // wrong credentials
		badEnv map[string]string
		want   string // discover's auth line
	}
	schemes := []scheme{
		{name: "bearer", auth: &testpeer.Auth{Bearer: bearer},
			good: map[string]string{"A2ATOP_TOKEN": bearer}, badEnv: map[string]string{"A2ATOP_TOKEN": "wrong-s3cret"},
			want: `bearer "bearer"`},
		{name: "apikey-header", auth: &testpeer.Auth{APIKey: apiKey},
			good: map[string]string{"A2ATOP_API_KEY": apiKey}, badEnv: map[string]string{"A2ATOP_API_KEY": "wrong-s3cret"},
			want: `apiKey "key" (header X-API-Key)`},
		{name: "apikey-query", auth: &testpeer.Auth{APIKey: apiKey, APIKeyIn: "query", APIKeyName: "api_key"},
			good: map[string]string{"A2ATOP_API_KEY": apiKey}, badEnv: map[string]string{"A2ATOP_API_KEY": "wrong-s3cret"},
			want: `apiKey "key" (query api_key)`},
		{name: "apikey-cookie", auth: &testpeer.Auth{APIKey: apiKey, APIKeyIn: "cookie", APIKeyName: "session"},
			good: map[string]string{"A2ATOP_API_KEY": apiKey}, badEnv: map[string]string{"A2ATOP_API_KEY": "wrong-s3cret"},
			want: `apiKey "key" (cookie session)`},
		{name: "oauth2", auth: &testpeer.Auth{OAuth2: tokens},
			args: []string{"--client-id", clientID, "--client-secret-file", secretFile},
			bad:  []string{"--client-id", clientID, "--client-secret-file", wrongFile},
			want: `oauth2 "cc" (client credentials at ` + tokens.URL() + `)`},
	}
	for _, s := range schemes {
		peer := testpeer.Start(t, testpeer.Options{Auth: s.auth, Bindings: []string{"JSONRPC", "HTTP+JSON"}})
		for _, binding := range []string{"jsonrpc", "rest"} {
			for _, version := range []string{"1.0", "0.3"} {
				t.Run(s.name+"/"+binding+"/"+version, func(t *testing.T) {
					data := t.TempDir()
					target := []string{"--url", peer.URL(), "--binding", binding, "--protocol", version}
					with := func(cmd ...string) []string {
						return append(append(append([]string{cmd[0]}, target...), s.args...), cmd[1:]...)
					}
					r := authRun(t, data, s.good, secrets, exitOK, with("send", "--json", "echo", "hello")...)
					task := decodeTask(t, r.stdout)
					if task.Status.State != a2a.StateCompleted {
						t.Fatalf("send: %s", r.stdout)
					}
					r = authRun(t, data, s.good, secrets, exitOK, with("get", "--json", task.ID)...)
					if decodeTask(t, r.stdout).ID != task.ID {
						t.Fatalf("get: %s", r.stdout)
					}
					r = authRun(t, data, s.good, secrets, exitOK, with("list", "--json")...)
					if !strings.Contains(r.stdout, task.ID) {
						t.Fatalf("list lacks %s:\n%s", task.ID, r.stdout)
					}
					r = authRun(t, data, s.good, secrets, exitOK, with("discover")...)
					wantBinding := map[string]string{"jsonrpc": "JSONRPC", "rest": "HTTP+JSON"}[binding]
					for _, want := range []string{"auth          " + s.want, "binding       " + wantBinding, "security\n", "  " + s.want} {
						if !strings.Contains(r.stdout, want) {
							t.Errorf("discover lacks %q:\n%s", want, r.stdout)
						}
					}

					// Without credentials: one line, exit 4; discover says what to pass.
					r = authRun(t, data, nil, secrets, exitAuth, append([]string{"send"}, append(target, "echo", "hello")...)...)
					oneErrorLine(t, r, "a2atop discover URL")
					if !strings.Contains(r.stderr, "401") && !strings.Contains(r.stderr, "unauthenticated") {
						t.Errorf("no-credentials error does not say unauthenticated: %s", r.stderr)
					}
					r = authRun(t, data, nil, secrets, exitOK, append([]string{"discover"}, target...)...)
					if !strings.Contains(r.stdout, "auth          none: the card asks for") {
						t.Errorf("discover without credentials:\n%s", r.stdout)
					}
					// Wrong credentials: exit 4 too.
					r = authRun(t, data, s.badEnv, secrets, exitAuth, with2(target, s.bad, "get", task.ID)...)
					oneErrorLine(t, r, "")
					noSecretInFiles(t, data, secrets)
				})
			}
		}
	}
}

func with2(target, extra []string, cmd ...string) []string {
	return append(append(append([]string{cmd[0]}, target...), extra...), cmd[1:]...)
}

// TestOAuth2TokenFetchedOncePerProcess: one client (one process: a
// dashboard, a streaming send) asks the token endpoint once and reuses
// the token for the card fetch and every call, streams included.
func TestOAuth2TokenFetchedOncePerProcess(t *testing.T) {
	tokens := testpeer.StartTokenServer(t, "id", "sec", 0)
	peer := testpeer.Start(t, testpeer.Options{Auth: &testpeer.Auth{OAuth2: tokens}, Bindings: []string{"HTTP+JSON", "JSONRPC"}})
	// The token URL from the card; then given (with the card's scope), so
	// that the card fetch carries the token too.
	for i, creds := range []auth.Credentials{
		{ClientID: "id", ClientSecret: "sec"},
		{ClientID: "id", ClientSecret: "sec", TokenURL: tokens.URL(), Scopes: []string{"tasks"}},
	} {
		ctx := context.Background()
		opts := client.Options{NoJournal: true}
		sess, err := authOptions(ctx, peer.URL(), creds, &opts)
		if err != nil {
			t.Fatal(err)
		}
		before := tokens.Issued()
		cl, err := client.New(ctx, peer.URL(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := sess.Plan(); !ok || p.Scheme.Name != "cc" {
			t.Fatalf("plan: %+v %v", p, ok)
		}
		res, err := cl.Send(ctx, &a2a.SendRequest{Message: a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo once")}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Get(ctx, a2a.GetRequest{ID: res.Task.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.List(ctx, a2a.ListRequest{}); err != nil {
			t.Fatal(err)
		}
		st, err := cl.Stream(ctx, &a2a.SendRequest{Message: a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("slow 2")}}})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := st.Recv(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				break
			}
		}
		st.Close()
		cl.Close()
		if n := tokens.Issued() - before; n != 1 {
			t.Errorf("case %d: the token endpoint issued %d tokens for one client, want 1", i, n)
		}
	}
	if got := tokens.Scopes(); len(got) != 2 || got[0] != "tasks" || got[1] != "tasks" {
		t.Errorf("scopes asked for: %q, want the card's (tasks)", got)
	}
}

// TestCredentialsGoOnlyToTheAgent: a card whose interface is on another
// host gets the credentials there (the card says it is the agent); a
// redirect of the card fetch to a third host does not.
func TestCredentialsGoOnlyToTheAgent(t *testing.T) {
	seen := make(chan string, 8)
	other := testpeer.Start(t, testpeer.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen <- r.Header.Get("Authorization")
			http.Error(w, "nothing here", http.StatusNotFound)
		})
	}})
	redirector := testpeer.Start(t, testpeer.Options{Wrap: func(http.Handler) http.Handler {
		return http.RedirectHandler(other.URL()+".well-known/agent-card.json", http.StatusFound)
	}})
	data := t.TempDir()
	authRun(t, data, map[string]string{"A2ATOP_TOKEN": "tok-s3cret"}, []string{"tok-s3cret"}, exitUnreachable, "discover", redirector.URL())
	close(seen)
	n := 0
	for h := range seen {
		n++
		if h != "" {
			t.Errorf("the redirect target got Authorization %q", h)
		}
	}
	if n == 0 {
		t.Fatal("the redirect was not followed: the test checked nothing")
	}
}

// TestMutualTLS: a peer that requires a client certificate from a test
// CA; --cert/--key with --ca-cert work over both bindings, discover says
// mutual TLS is used, and without the certificate the command fails.
func TestMutualTLS(t *testing.T) {
	ca := testca.New(t)
	peer := testpeer.Start(t, testpeer.Options{TLS: ca.ServerTLS(true), Bindings: []string{"JSONRPC", "HTTP+JSON"}})
	cert, key := ca.ClientFiles("a2atop-client")
	data := t.TempDir()
	for _, binding := range []string{"jsonrpc", "rest"} {
		args := []string{"--url", peer.URL(), "--binding", binding, "--ca-cert", ca.CertFile, "--cert", cert, "--key", key}
		r := authRun(t, data, nil, nil, exitOK, append(append([]string{"send"}, args...), "--json", "echo", "mtls")...)
		if task := decodeTask(t, r.stdout); task.Status.State != a2a.StateCompleted {
			t.Fatalf("send over mTLS (%s): %s", binding, r.stdout)
		}
		r = authRun(t, data, nil, nil, exitOK, append([]string{"discover"}, args...)...)
		if !strings.Contains(r.stdout, `auth          mutualTLS "mtls"`) {
			t.Errorf("discover over mTLS:\n%s", r.stdout)
		}
	}
	r := authRun(t, data, nil, nil, exitAuth, "send", "--url", peer.URL(), "--ca-cert", ca.CertFile, "echo", "no cert")
	oneErrorLine(t, r, "certificate")
	r = authRun(t, data, nil, nil, exitUsage, "send", "--url", peer.URL(), "--cert", cert, "echo", "x")
	oneErrorLine(t, r, "--key")
}

// TestAuthFlagErrors: credentials given wrongly are usage errors naming
// the flag, never the value; a local target refuses the remote flags.
func TestAuthFlagErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--token-file", "/nonexistent/tok"}, nil, "--token-file"},
		{[]string{"--token-file", empty}, nil, "is empty"},
		{[]string{"--api-key-name", "X-Key"}, nil, "A2ATOP_API_KEY"},
		{[]string{"--api-key-in", "body"}, map[string]string{"A2ATOP_API_KEY": "k"}, "header, query or cookie"},
		{[]string{"--client-id", "id"}, nil, "A2ATOP_CLIENT_SECRET"},
		{[]string{"--token-url", "https://idp/token"}, nil, "--client-id"},
		{[]string{"--binding", "grpc"}, nil, "jsonrpc or rest"},
		{[]string{"--key", "k.pem"}, nil, "--cert"},
	} {
		env := map[string]string{"A2ATOP_URL": "http://127.0.0.1:1/"}
		for k, v := range c.env {
			env[k] = v
		}
		r := runIn(t, context.Background(), "", env, append([]string{"get"}, append(c.args, "some-id")...)...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, r.code, exitUsage, r.stderr)
			continue
		}
		oneErrorLine(t, r, c.want)
	}
	r := runIn(t, context.Background(), "", map[string]string{"A2ATOP_DB": ":memory:"}, "list", "--token-file", "x")
	if r.code != exitUsage {
		t.Fatalf("--token-file on a local target: exit %d", r.code)
	}
	oneErrorLine(t, r, "--token-file applies to a remote agent")
}

// TestOAuth2RefusedAndUnsafeTokenURL: a refused client is exit 4 with the
// endpoint's error code (never its body); a card whose token URL is plain
// http to another host is not sent the secret.
func TestOAuth2RefusedAndUnsafeTokenURL(t *testing.T) {
	tokens := testpeer.StartTokenServer(t, "id", "right-s3cret", time.Hour)
	peer := testpeer.Start(t, testpeer.Options{Auth: &testpeer.Auth{OAuth2: tokens}})
	data := t.TempDir()
	env := map[string]string{"A2ATOP_CLIENT_SECRET": "wrong-s3cret"}
	r := authRun(t, data, env, []string{"wrong-s3cret", "right-s3cret"}, exitAuth, "send", "--url", peer.URL(), "--client-id", "id", "echo", "x")
	oneErrorLine(t, r, "invalid_client")
	if tokens.Issued() != 0 {
		t.Fatalf("issued %d tokens to a wrong secret", tokens.Issued())
	}
	r = authRun(t, data, env, []string{"wrong-s3cret"}, exitAuth, "send", "--url", peer.URL(), "--client-id", "id", "--token-url", "http://idp.example/token", "echo", "x")
	oneErrorLine(t, r, "only over https")
}

// TestDiscoverShowsACardItCannotSpeakTo: a gRPC-only card is shown, with
// the bindings it offers, and discover exits 3 (as send would) with one
// line on stderr; --binding forces the binding it names.
func TestDiscoverShowsACardItCannotSpeakTo(t *testing.T) {
	grpc := testpeer.Start(t, testpeer.Options{Bindings: []string{"GRPC"}})
	data := t.TempDir()
	r := authRun(t, data, nil, nil, exitUnreachable, "discover", grpc.URL())
	for _, want := range []string{"go-peer", "binding       none a2atop speaks", "GRPC v1.0 at " + grpc.URL(), "  GRPC      v1.0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("discover lacks %q:\n%s", want, r.stdout)
		}
	}
	oneErrorLine(t, r, "no interface a2atop can speak")
	r = authRun(t, data, nil, nil, exitUnreachable, "discover", "--json", grpc.URL())
	if !strings.Contains(r.stdout, `"supportedInterfaces"`) {
		t.Errorf("discover --json of a gRPC card:\n%s", r.stdout)
	}

	both := testpeer.Start(t, testpeer.Options{Bindings: []string{"JSONRPC", "HTTP+JSON"}})
	r = authRun(t, data, nil, nil, exitOK, "discover", "--binding", "rest", both.URL())
	if !strings.Contains(r.stdout, "binding       HTTP+JSON") || !strings.Contains(r.stdout, "forced with --binding") || !strings.Contains(r.stdout, "* HTTP+JSON v1.0") {
		t.Errorf("discover --binding rest:\n%s", r.stdout)
	}
	r = authRun(t, data, nil, nil, exitOK, "discover", both.URL())
	if !strings.Contains(r.stdout, "binding       JSONRPC") || !strings.Contains(r.stdout, "auth          none\n") {
		t.Errorf("discover by the card's order:\n%s", r.stdout)
	}
}

// TestCredentialsFromConfig: a config agent's auth resolves into the same
// credentials the flags give (secrets from the environment or a file).
func TestCredentialsFromConfig(t *testing.T) {
	file := writeSecret(t, "from-a-file")
	env := map[string]string{"AGENT_TOKEN": "from-env"}
	c, err := credentialsFromConfig(context.Background(), config.Auth{
		Bearer: &config.Secret{Env: "AGENT_TOKEN"},
		APIKey: &config.APIKey{Name: "X-Key", In: "query", Value: config.Secret{File: file}},
		OAuth2: &config.OAuth2{ClientID: "id", ClientSecret: config.Secret{Env: "AGENT_TOKEN"}, TokenURL: "https://idp/token", Scopes: []string{"a"}},
		Cert:   "c.pem", Key: "k.pem",
	}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Credentials{Bearer: "from-env", APIKey: "from-a-file", APIKeyName: "X-Key", APIKeyIn: "query",
		ClientID: "id", ClientSecret: "from-env", TokenURL: "https://idp/token", Scopes: []string{"a"}, CertFile: "c.pem", KeyFile: "k.pem"}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("credentials %+v, want %+v", c, want)
	}
	_, err = credentialsFromConfig(context.Background(), config.Auth{Bearer: &config.Secret{Env: "UNSET"}}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "UNSET") {
		t.Errorf("unset variable: %v", err)
	}
}

// TestProtectedCard: an agent that wants credentials for its card too is
// reached with those that need no card (a bearer token; OAuth2 with
// --token-url, whose token then serves the calls as well), and without
// them the card fetch fails with exit 4.
func TestProtectedCard(t *testing.T) {
	tokens := testpeer.StartTokenServer(t, "id", "sec-value", 0)
	peer := testpeer.Start(t, testpeer.Options{Auth: &testpeer.Auth{Bearer: "tok-value", OAuth2: tokens, ProtectCard: true}})
	data := t.TempDir()
	authRun(t, data, map[string]string{"A2ATOP_TOKEN": "tok-value"}, []string{"tok-value"}, exitOK, "send", "--url", peer.URL(), "echo", "hi")
	env := map[string]string{"A2ATOP_CLIENT_SECRET": "sec-value"}
	authRun(t, data, env, []string{"sec-value"}, exitOK, "send", "--url", peer.URL(), "--client-id", "id", "--token-url", tokens.URL(), "--scope", "tasks", "echo", "hi")
	if n := tokens.Issued(); n != 1 {
		t.Errorf("issued %d tokens, want 1 (the card fetch's, reused)", n)
	}
	r := authRun(t, data, env, []string{"sec-value"}, exitAuth, "send", "--url", peer.URL(), "--client-id", "id", "echo", "hi")
	oneErrorLine(t, r, "401")
	r = authRun(t, data, nil, nil, exitAuth, "discover", peer.URL())
	oneErrorLine(t, r, "agent card")
}

func TestCleartextWarning(t *testing.T) {
	for u, want := range map[string]bool{
		"http://agent.example/": true, "http://10.0.0.1:8080": true, "https://agent.example": false,
		"http://127.0.0.1:8080/": false, "http://localhost/": false, "http://[::1]:80/": false, "agent.example": false,
	} {
		if got := cleartext(u); got != want {
			t.Errorf("cleartext(%q) = %v, want %v", u, got, want)
		}
	}
	var stderr strings.Builder
	c := &cli{stderr: &stderr, getenv: func(string) string { return "" }}
	var opts client.Options
	if _, err := c.remoteAuth(context.Background(), remoteTarget{url: "http://192.0.2.1:1/", creds: auth.Credentials{Bearer: "t0ken-value"}}, &opts, func(m string) { c.warn(openHooks{}, m) }); err != nil {
		t.Fatal(err)
	}
	if got := stderr.String(); !strings.Contains(got, "warning: http://192.0.2.1:1/ is plain http") || strings.Contains(got, "t0ken-value") {
		t.Errorf("stderr: %s", got)
	}
}
