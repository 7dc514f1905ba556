// Package pgtest starts throwaway PostgreSQL servers for tests: a data
// directory in a temporary folder, a server listening only on a unix socket
// inside it (listen_addresses is empty: nothing on the network), stopped and
// removed when the test ends.
//
// initdb runs once per test binary, into a template data directory that
// every server then copies (copying is several times faster than initdb).
// PostgreSQL refuses to run as root, so when the tests run as root (CI
// does) the data directory is handed to an unprivileged user (postgres if
// the system has one, else nobody) and the server runs as that user.
//
// Under CI=true a missing PostgreSQL fails the test; elsewhere it skips it
// with the command to install one.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options tune Start.
type Options struct {
	// Durable keeps fsync and synchronous commit on, for tests that kill
	// the server and expect acknowledged commits to survive (default off:
	// tests do not survive a machine crash and need not pay for it).
	Durable bool
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
}

// Server is one running PostgreSQL server.
type Server struct {
	dir  string // holds data/ and the socket
	bin  string
	opts Options
	run  runAs

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
	dbs  int
}

// The user the server runs as, and what it needs to own.
type runAs struct {
	uid, gid uint32
	asOther  bool // false: the current user
}

// template is initdb's output, made once per test binary.
var template struct {
	once sync.Once
	dir  string
	err  error
}

// BinDir returns the folder holding initdb and postgres, or an error
// saying how to install them.
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's initdb is not installed (apt-get install -y postgresql)")
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start starts a server for the test and registers its stop and removal
// with t.Cleanup. The returned server has one database, "postgres"; see
// DSN and NewDatabase.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v (CI=true: PostgreSQL tests must run)", err)
		}
		t.Skipf("pgtest: %v", err)
	}
	s, err := start(bin, opts)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Destroy(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

func start(bin string, opts Options) (*Server, error) {
	run, err := serverUser()
	if err != nil {
		return nil, err
	}
	template.once.Do(func() { template.dir, template.err = makeTemplate(bin, run) })
	if template.err != nil {
		return nil, template.err
	}
	// Not t.TempDir: its parents are private to the test's user, and the
	// server's user must reach the socket and the data.
	dir, err := os.MkdirTemp("", "a2atop-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, opts: opts, run: run}
	if err := copyTree(template.dir, s.dataDir(), run); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("copy the template data directory: %w", err)
	}
	if err := s.chown(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// serverUser picks who runs the server: the current user, or when that is
// root, an unprivileged one (initdb and postgres refuse root).
func serverUser() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{}, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return runAs{uid: uint32(uid), gid: uint32(gid), asOther: true}, nil
	}
	return runAs{}, errors.New("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
}

func (r runAs) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = procAttr(r)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	return cmd
}

func (s *Server) chown(path string) error {
	if !s.run.asOther {
		return nil
	}
	if err := os.Chown(path, int(s.run.uid), int(s.run.gid)); err != nil {
		return fmt.Errorf("hand %s to the server's user: %w", path, err)
	}
	return nil
}

// makeTemplate runs initdb once into a temporary folder. The folder is
// removed by the next test binary's sweep (see sweepOldTemplates), since no
// hook runs at the end of a test binary without a TestMain.
func makeTemplate(bin string, run runAs) (string, error) {
	sweepOldTemplates()
	dir, err := os.MkdirTemp("", "a2atop-pgtemplate-")
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	if run.asOther {
		if err := os.Chown(dir, int(run.uid), int(run.gid)); err != nil {
			return "", fmt.Errorf("hand %s to the server's user: %w", dir, err)
		}
	}
	cmd := run.command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("initdb: %v: %s", err, lastLine(out))
	}
	// Mark it with this process's id, so a later sweep knows whose it is.
	_ = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	return data, nil
}

// sweepOldTemplates removes template folders whose test binary has ended.
func sweepOldTemplates() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "a2atop-pgtemplate-*"))
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			if info, err := os.Stat(d); err == nil && time.Since(info.ModTime()) > time.Hour {
				os.RemoveAll(d) // never finished
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// copyTree copies a data directory, keeping modes (PostgreSQL insists on
// 0700 for it) and giving every file to the server's user.
func copyTree(from, to string, run runAs) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := os.Mkdir(dst, info.Mode().Perm()); err != nil {
				return err
			}
		} else {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(dst, raw, info.Mode().Perm()); err != nil {
				return err
			}
		}
		if run.asOther {
			return os.Lchown(dst, int(run.uid), int(run.gid))
		}
		return nil
	})
}

// Start starts the (stopped) server and waits until it accepts
// connections. Start in the package starts it the first time; this starts
// it again after Kill or Stop.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("the server is already running")
	}
	args := []string{"-D", s.dataDir(), "-k", s.dir, "-c", "listen_addresses=",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB", "-c", "log_min_messages=fatal"}
	if !s.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for k, v := range s.opts.Settings {
		args = append(args, "-c", k+"="+v)
	}
	cmd := s.run.command(filepath.Join(s.bin, "postgres"), args...)
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	// Wait until it answers; an early exit is reported with its log.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.DSN())
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("postgres exited at start: %s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections in 30s: %v; %s", err, s.logTail())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *Server) logTail() string {
	raw, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return lastLine(raw)
}

// Kill ends the server with SIGKILL, as a crash would (the next Start
// recovers from the write-ahead log).
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL) }

// Stop shuts the server down cleanly (fast shutdown: sessions are ended).
func (s *Server) Stop() error { return s.signal(syscall.SIGINT) }

// BeginSmartShutdown asks the server for a smart shutdown (pg_ctl stop -m
// smart: SIGTERM) and returns at once. The server then waits for its open
// sessions to end, refusing new connections meanwhile with SQLSTATE 57P03
// ("the database system is shutting down"): the state a client meets when
// it connects to a database on its way down. It exits when the last
// session closes; Stop (a fast shutdown) ends it without waiting for them.
func (s *Server) BeginSmartShutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("the server is not running")
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal postgres: %w", err)
	}
	return nil
}

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	var backends []int
	if sig == syscall.SIGKILL {
		// Backends too: left behind, they would keep the shared memory,
		// and the next start would refuse to run.
		backends = killTree(s.cmd.Process.Pid)
	} else if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal postgres: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	// Wait until the killed backends have exited (init reaps them, not
	// us), so that the next start finds the shared memory free.
	for _, pid := range backends {
		for i := 0; !gone(pid); i++ {
			if i == 3000 {
				return fmt.Errorf("postgres backend %d did not exit in 30s", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// Destroy stops the server and removes its folder.
func (s *Server) Destroy() error {
	err := s.Stop()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// Dir is the folder holding the data directory and the socket.
func (s *Server) Dir() string { return s.dir }

// DSN is a URL for the server's "postgres" database.
func (s *Server) DSN() string { return s.dsnFor("postgres") }

func (s *Server) dsnFor(db string) string {
	q := url.Values{"host": {s.dir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db, RawQuery: q.Encode()}).String()
}

// NewDatabase creates an empty database on the server and returns its DSN:
// a fresh database costs a few milliseconds, a fresh server far more.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.dbs++
	name := fmt.Sprintf("test_%d", s.dbs)
	s.mu.Unlock()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return s.dsnFor(name)
}

// PasswordRole creates a login role that must authenticate with a
// password (SCRAM: a pg_hba.conf line ahead of the trust lines, reloaded),
// owning a new database, and returns that database's DSN for the role
// without a password: add one to the DSN to log in, or a wrong one to be
// refused.
func (s *Server) PasswordRole(t testing.TB, role, password string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{role}.Sanitize()
	if _, err := conn.Exec(ctx, "SET password_encryption = 'scram-sha-256'"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE "+ident+" LOGIN PASSWORD "+quoteLiteral(password)); err != nil {
		t.Fatalf("pgtest: create role: %v", err)
	}
	s.mu.Lock()
	s.dbs++
	name := fmt.Sprintf("test_%d", s.dbs)
	s.mu.Unlock()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 OWNER "+ident); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	hba := filepath.Join(s.dataDir(), "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// The first matching line decides: this one goes before trust.
	line := fmt.Sprintf("local all %s scram-sha-256\n", role)
	if err := os.WriteFile(hba, append([]byte(line), old...), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := s.chown(hba); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_reload_conf()").Scan(&ok); err != nil || !ok {
		t.Fatalf("pgtest: reload the configuration: %v", err)
	}
	q := url.Values{"host": {s.dir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(role), Path: "/" + name, RawQuery: q.Encode()}).String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
