package cli

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveInProcess runs `a2atop serve ARGS` in-process with env until the
// test ends; it returns the base URL and the serve's stderr.
func serveInProcess(t *testing.T, env map[string]string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var stderr lockedBuffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	exit := make(chan int, 1)
	go func() {
		exit <- c.main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	}()
	t.Cleanup(func() { stop(); <-exit })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := servingURL.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], &stderr
		}
		select {
		case code := <-exit:
			exit <- code
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getTaskStatus posts a v1.0 GetTask with the Authorization header auth
// and returns the HTTP status.
func getTaskStatus(t *testing.T, base, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"nope"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("A2A-Version", "1.0")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeTokenFileAndCaseInsensitiveScheme: serve takes its token from
// a file without a warning, accepts the bearer scheme in any case (RFC
// 9110), and a2atop's own remote commands reach it with --token-file.
func TestServeTokenFileAndCaseInsensitiveScheme(t *testing.T) {
	const tok = "serve-s3cret-token"
	file := writeSecret(t, tok)
	base, stderr := serveInProcess(t, nil, "--db", ":memory:", "--token-file", file)
	for auth, want := range map[string]int{
		"":                         http.StatusUnauthorized,
		"Bearer wrong":             http.StatusUnauthorized,
		"Basic " + tok:             http.StatusUnauthorized,
		"Bearer " + tok:            http.StatusOK,
		"bearer " + tok:            http.StatusOK,
		"BEARER " + tok:            http.StatusOK,
		"  bEaReR   " + tok + "  ": http.StatusOK,
	} {
		if got := getTaskStatus(t, base, auth); got != want {
			t.Errorf("Authorization %q: HTTP %d, want %d", auth, got, want)
		}
	}
	data := t.TempDir()
	r := authRun(t, data, nil, []string{tok}, exitOK, "send", "--url", base, "--token-file", file, "--json", "echo", "through serve")
	if !strings.Contains(r.stdout, "through serve") {
		t.Errorf("send: %s", r.stdout)
	}
	authRun(t, data, nil, []string{tok}, exitAuth, "get", "--url", base, "some-id")
	if strings.Contains(stderr.String(), "warning") || strings.Contains(stderr.String(), tok) {
		t.Errorf("serve stderr: %s", stderr.String())
	}
}

// TestServeTokenSources: $A2ATOP_SERVE_TOKEN, then $A2ATOP_TOKEN; --token
// still works but warns that it shows in ps.
func TestServeTokenSources(t *testing.T) {
	base, _ := serveInProcess(t, map[string]string{"A2ATOP_SERVE_TOKEN": "from-serve-env", "A2ATOP_TOKEN": "from-token-env"}, "--db", ":memory:")
	if getTaskStatus(t, base, "Bearer from-serve-env") != http.StatusOK || getTaskStatus(t, base, "Bearer from-token-env") != http.StatusUnauthorized {
		t.Error("$A2ATOP_SERVE_TOKEN must win over $A2ATOP_TOKEN")
	}
	base, _ = serveInProcess(t, map[string]string{"A2ATOP_TOKEN": "from-token-env"}, "--db", ":memory:")
	if getTaskStatus(t, base, "Bearer from-token-env") != http.StatusOK || getTaskStatus(t, base, "") != http.StatusUnauthorized {
		t.Error("$A2ATOP_TOKEN must still protect serve")
	}
	base, stderr := serveInProcess(t, nil, "--db", ":memory:", "--token", "on-the-command-line")
	if getTaskStatus(t, base, "Bearer on-the-command-line") != http.StatusOK {
		t.Error("--token no longer works")
	}
	if !strings.Contains(stderr.String(), "warning: --token shows in ps") {
		t.Errorf("no warning for --token: %s", stderr.String())
	}
	r := runIn(t, context.Background(), "", nil, "serve", "--db", ":memory:", "--token", "a", "--token-file", "b")
	if r.code != exitUsage {
		t.Errorf("--token with --token-file: exit %d", r.code)
	}
}
