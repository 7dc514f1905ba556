package localshare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
)

// maxSocketPath is the longest path a unix socket can be bound to: sun_path
// is 108 bytes on Linux and 104 on the BSDs and macOS, NUL included.
func maxSocketPath() int {
	if runtime.GOOS == "linux" {
		return 107
	}
	return 103
}

// SocketPath is where the engine of the store at db is shared: beside the
// file as <db>.sock (the file's real path, so that every a2atop reaching
// the store through a symlink or a relative path meets at one socket). When
// that path is too long for a unix socket, a per-user runtime directory
// ($XDG_RUNTIME_DIR/a2atop/<hash of the path>.sock) is used instead; when
// there is none, "" is returned with the reason, and the engine is not
// shared.
func SocketPath(db string, getenv func(string) string) (string, error) {
	abs, err := filepath.Abs(db)
	if err != nil {
		return "", fmt.Errorf("socket for %s: %w", db, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	beside := abs + ".sock"
	if fitsSocket(beside) {
		return beside, nil
	}
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) {
		sum := sha256.Sum256([]byte(abs))
		p := filepath.Join(rt, "a2atop", hex.EncodeToString(sum[:12])+".sock")
		if fitsSocket(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("the path %s is longer than a unix socket path may be (%d bytes) and $XDG_RUNTIME_DIR offers no shorter place", beside, maxSocketPath())
}

// fitsSocket reports whether p, and the temporary path it is bound at
// before being renamed to p (see listenPrivate), are short enough.
func fitsSocket(p string) bool {
	return len(p) <= maxSocketPath() && len(tempSocketPattern(p)) <= maxSocketPath()
}

// tempSocketPattern is the longest temporary path listenPrivate may bind:
// os.MkdirTemp appends at most 10 digits to its pattern.
func tempSocketPattern(p string) string {
	return filepath.Join(filepath.Dir(p), ".s0123456789", "s")
}

// errNotSocket is returned when the socket path holds something a user
// put there: it is never deleted.
var errNotSocket = errors.New("exists and is not a socket")

// listenPrivate listens on a unix socket at path that only this user can
// connect to from the moment it exists: it is bound inside a fresh
// directory of mode 0700, set to 0600, and then renamed over path. A socket
// already at path is stale (only the process holding the store's lock
// serves, and that is the caller) and is replaced; anything else there is
// left alone and reported.
func listenPrivate(path string) (*net.UnixListener, os.FileInfo, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != fs.ModeSocket {
		return nil, nil, fmt.Errorf("socket %s: %w: remove or rename it so that other a2atop processes can share this engine", path, errNotSocket)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	tmpDir, err := os.MkdirTemp(dir, ".s")
	if err != nil {
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	// The listener must not unlink the path it was bound at when it
	// closes: by then that name is gone, and path may be someone else's.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return ln, fi, nil
}

// removeIfSame removes the socket at path if it is still the one this
// process bound (fi), not a successor's.
func removeIfSame(path string, fi os.FileInfo) {
	if cur, err := os.Lstat(path); err == nil && os.SameFile(cur, fi) {
		_ = os.Remove(path)
	}
}

// peerListener accepts only connections from this user, where the system
// tells who the peer is (SO_PEERCRED on Linux); elsewhere the socket's
// mode 0600 is the whole check.
type peerListener struct{ *net.UnixListener }

func (l peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if cred, err := peerCred(c); err != nil || (cred.known && cred.uid != os.Getuid()) {
			c.Close()
			continue
		}
		return c, nil
	}
}

// dialPrivate connects to the socket at path and checks, where the system
// can tell, that the process serving it runs as this user.
func dialPrivate(ctx context.Context, path string) (*net.UnixConn, peer, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, peer{}, err
	}
	uc := c.(*net.UnixConn)
	cred, err := peerCred(uc)
	if err != nil {
		uc.Close()
		return nil, peer{}, fmt.Errorf("socket %s: peer credentials: %w", path, err)
	}
	if cred.known && cred.uid != os.Getuid() {
		uc.Close()
		return nil, peer{}, fmt.Errorf("socket %s is served by another user (uid %d): not connecting", path, cred.uid)
	}
	return uc, cred, nil
}

// peer is what the system says about the other end of a unix socket.
type peer struct {
	known    bool // false where the system cannot tell
	uid, pid int
}
