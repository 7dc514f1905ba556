package localshare

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// Tests that need another process (another user) re-execute the test
// binary with childEnv set; TestMain then runs the child instead.
const (
	childEnv     = "A2ATOP_LOCALSHARE_CHILD"
	childSockEnv = "A2ATOP_LOCALSHARE_SOCK"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode, os.Getenv(childSockEnv)))
	}
	os.Exit(m.Run())
}

// runChild "ask" asks the host at sock for its HostInfo: exit 0 and the
// answer on stdout if it answered, exit 3 with the error if not.
func runChild(mode, sock string) int {
	if mode != "ask" {
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Get(baseURL + HostPath[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %s", resp.Status, b)
	return 0
}
