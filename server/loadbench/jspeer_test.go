//go:build linux

package loadbench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
)

// The JS SDK peer: jspeer/server.mjs on @a2a-js/sdk 1.3.0 and express 5,
// pinned by jspeer/package-lock.json and installed with npm into
// jspeer/node_modules (gitignored; not a dependency of the Go module) the
// first time a benchmark needs it.
var (
	jsOnce   sync.Once
	jsDir    string
	jsReason string // why the JS peer is not available; "" when it is
)

// jsPeerDir returns the folder of the installed JS peer, or "" and the
// reason it could not be installed (no node or npm, no registry).
func jsPeerDir() (string, string) {
	jsOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir := filepath.Join(filepath.Dir(file), "jspeer")
		if _, err := exec.LookPath("node"); err != nil {
			jsReason = "node is not installed"
			return
		}
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@a2a-js", "sdk", "package.json")); err != nil {
			npm, err := exec.LookPath("npm")
			if err != nil {
				jsReason = "npm is not installed"
				return
			}
			// npm ci installs exactly the locked versions.
			cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				jsReason = fmt.Sprintf("npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, err, out)
				return
			}
		}
		jsDir = dir
	})
	return jsDir, jsReason
}

// jsLine is the line of the JS peer's stderr that names its URL.
var jsLine = regexp.MustCompile(`jspeer serving at (http://\S+/)`)

// startJS runs the JS SDK peer; it ends when its stdin closes.
func startJS(tb testing.TB) *child {
	tb.Helper()
	dir, reason := jsPeerDir()
	if dir == "" {
		tb.Fatalf("the JS SDK peer is not available: %s", reason)
	}
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = dir
	return startChild(tb, "js", cmd, true, jsLine)
}
