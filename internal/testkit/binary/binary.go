// Package binary builds the a2atop command for tests that run it as a
// process: once per test binary, shared by every test in it.
package binary

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Module is the import path of the a2atop command.
const Module = "github.com/a2atop/a2atop"

// The build is process-wide on purpose: building the command takes
// seconds, and every test of a package runs the same binary.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// Build builds the a2atop command once and returns its path; a failed
// build fails t with the compiler's output.
func Build(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "a2atop-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "a2atop")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, Module).CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build a2atop: %v\n%s", built.err, built.out)
	}
	return built.path
}

// Remove deletes the built command; call it from TestMain after m.Run.
func Remove() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}
