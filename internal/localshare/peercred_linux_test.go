//go:build linux

package localshare

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// askAs runs the child "ask" (the test binary bin) as uid against sock.
func askAs(t *testing.T, bin string, uid int, sock string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=ask", childSockEnv+"="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Skipf("cannot run a child as uid %d: %v", uid, err)
	}
	return out.String(), errOut.String(), code
}

// Another user can neither open the socket (mode 0600) nor, should its
// mode be loosened, be served: the host checks SO_PEERCRED on accept.
func TestOtherUsersAreRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a child as another user")
	}
	const nobody = 65534
	dir, err := os.MkdirTemp("", "ls-peer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The other user may reach the directory, and the test binary.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A copy of the test binary the other user may run.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tasks.db")
	l, err := Open(context.Background(), path, demoOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sock := l.Role().Socket

	// The same user (root here) is served: the child works.
	if out, errOut, code := askAs(t, bin, 0, sock); code != 0 {
		t.Fatalf("the owner was refused: exit %d, %s %s", code, out, errOut)
	}
	if _, errOut, code := askAs(t, bin, nobody, sock); code != 3 || !bytes.Contains([]byte(errOut), []byte("permission denied")) {
		if code == 0 {
			t.Fatal("another user was served through the 0600 socket")
		}
		t.Skipf("the child as uid %d failed otherwise (exit %d): %s", nobody, code, errOut)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := askAs(t, bin, nobody, sock); code != 3 {
		t.Fatalf("another user was served once the socket's mode allowed it: exit %d, %s %s", code, out, errOut)
	}
}
