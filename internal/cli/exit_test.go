package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// An agent whose card answers but whose every request is cut before an
// answer could not be reached: exit status 3, as the help says, not 1
// (which means the agent answered no).
func TestUnreachableAgentExits3(t *testing.T) {
	peer := testpeer.Start(t, testpeer.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				h.ServeHTTP(w, r)
				return
			}
			// The connection drops after the request was read.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		})
	}})
	env := map[string]string{"A2ATOP_URL": peer.URL()}
	for _, args := range [][]string{
		{"get", "some-task"},
		{"subscribe", "some-task"},
		{"list"},
		{"send", "echo", "hi"},
		{"send", "--stream", "echo", "hi"},
	} {
		r := remoteRun(t, env, exitUnreachable, args...)
		oneErrorLine(t, r, peer.Addr())
	}
	// The agent answering no is still 1.
	ok := testpeer.Start(t, testpeer.Options{})
	r := remoteRun(t, map[string]string{"A2ATOP_URL": ok.URL()}, exitTaskFailed, "get", "no-such-task")
	oneErrorLine(t, r, "not found")
}

// Which failures are which exit status, for the errors no test above can
// provoke within seconds (a stream gives up after two minutes).
func TestExitStatusOfErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&client.GaveUpError{TaskID: "t1", After: 2 * time.Minute, Endpoint: "http://x/", Err: errors.New("connection refused")}, exitUnreachable},
		{fmt.Errorf("subscribe: %w", &client.GaveUpError{TaskID: "t1", Err: errors.New("reset")}), exitUnreachable},
		{fmt.Errorf("send: %w", a2a.NewError(a2a.ErrServerBusy, "server busy: 10000 tasks queued")), exitUnreachable},
		{a2a.NewError(a2a.ErrTaskNotFound, "task t1 not found"), exitTaskFailed},
		{a2a.NewError(a2a.ErrInternal, "boom"), exitTaskFailed},
		{errInterrupted, exitInterrupted},
		{usageErr("bad"), exitUsage},
	} {
		var out bytes.Buffer
		c := &cli{stderr: &out}
		if got := c.fail(tc.err); got != tc.want {
			t.Errorf("exit status of %v = %d, want %d", tc.err, got, tc.want)
		}
	}
}
