package cli

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// noPostgresFolder fails if a DSN was taken for a path in dir: a folder
// named "postgres:" (or "postgresql:") with a bbolt file in it.
func noPostgresFolder(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(strings.ToLower(e.Name()), "postgres") {
			t.Errorf("a DSN was taken for a path: %s/%s exists", dir, e.Name())
		}
	}
}

// The task commands on a PostgreSQL DSN, given with --db or $A2ATOP_DB,
// work as on a bbolt file, and no "postgres:" folder appears.
func TestTaskCommandsOnDatabase(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	cwd := t.TempDir()
	t.Chdir(cwd)

	r := mustRun(t, dsn, exitOK, "send", "--json", "echo", "hello", "postgres")
	task := decodeTask(t, r.stdout)
	if task.Status.State != a2a.StateCompleted {
		t.Fatalf("send on a DSN: %s", task.Status.State)
	}
	env := map[string]string{}
	r = runIn(t, context.Background(), "", env, "get", "--json", "--db", dsn, task.ID)
	if r.code != exitOK || decodeTask(t, r.stdout).ID != task.ID {
		t.Fatalf("get --db DSN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mustRun(t, dsn, exitOK, "list")
	if !strings.Contains(r.stdout, task.ID) {
		t.Fatalf("list on a DSN lacks %s:\n%s", task.ID, r.stdout)
	}

	// A task left running by a send that stopped waiting: the send's
	// replica stops it cleanly when it exits; get and list only read, so
	// it stays as that replica left it; cancel (a replica) ends it.
	forever := decodeTask(t, mustRun(t, dsn, exitOK, "send", "--no-wait", "--json", "forever").stdout)
	before := decodeTask(t, mustRun(t, dsn, exitOK, "get", "--json", forever.ID).stdout)
	mustRun(t, dsn, exitOK, "list")
	after := decodeTask(t, mustRun(t, dsn, exitOK, "get", "--json", forever.ID).stdout)
	if after.Status.State != before.Status.State || after.Status.Message.Text() != before.Status.Message.Text() {
		t.Errorf("get and list changed the task: %s %q, then %s %q", before.Status.State, before.Status.Message.Text(),
			after.Status.State, after.Status.Message.Text())
	}
	r = mustRun(t, dsn, exitOK, "cancel", "--json", forever.ID)
	if got := decodeTask(t, r.stdout); got.Status.State != a2a.StateCanceled {
		t.Fatalf("cancel on a DSN: %s", got.Status.State)
	}
	noPostgresFolder(t, cwd)
}

// A DSN that does not parse is a usage error (2); a server that cannot be
// reached, a refused connection and a schema from a newer a2atop are exit
// 3; each is one line that never shows the password, and none leaves a
// folder behind.
func TestDatabaseErrors(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, tc := range []struct {
		name, db string
		code     int
		want     string
	}{
		{"bad DSN", "postgres://bob:s3cret@[::1/db", exitUsage, "invalid PostgreSQL DSN"},
		{"almost a DSN", "postgres:/s3cret@db", exitUsage, "not one: write postgres://"},
		{"no server on the socket", "postgres://bob:s3cret@/db?host=" + t.TempDir() + "&connect_timeout=5", exitUnreachable, "unreachable"},
		{"refused", "postgres://bob:s3cret@127.0.0.1:1/db?connect_timeout=5", exitUnreachable, "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{"send", "echo", "x"}, {"list"}} {
				r := mustRun(t, tc.db, tc.code, args...)
				oneErrorLine(t, r, tc.want)
				if strings.Contains(r.stderr, "s3cret") {
					t.Errorf("%v: the password is in the message: %s", args, r.stderr)
				}
			}
		})
	}

	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	mustRun(t, dsn, exitOK, "list") // migrates
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), "UPDATE a2atop_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	r := mustRun(t, dsn, exitUnreachable, "send", "echo", "x")
	oneErrorLine(t, r, "upgrade a2atop")
	noPostgresFolder(t, cwd)
}

// A wrong password (the server asks for one: SCRAM in pg_hba.conf) is
// exit 3, one line that names the refusal and the database and never
// shows the password; the right one opens the database.
func TestDatabaseWrongPassword(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.PasswordRole(t, "bob", "right-pass")
	withPassword := func(pw string) string {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("bob", pw)
		return u.String()
	}
	mustRun(t, withPassword("right-pass"), exitOK, "list")
	for _, args := range [][]string{{"send", "echo", "x"}, {"list"}, {"check"}} {
		r := mustRun(t, withPassword("s3cret-wrong"), exitUnreachable, args...)
		oneErrorLine(t, r, "password authentication failed")
		t.Logf("%v: %s", args, r.stderr)
		if !strings.Contains(r.stderr, "bob@") {
			t.Errorf("%v: the message does not name the database: %s", args, r.stderr)
		}
		if strings.Contains(r.stderr, "s3cret") {
			t.Errorf("%v: the password is in the message: %s", args, r.stderr)
		}
	}
	r := mustRun(t, dsn, exitUnreachable, "list") // no password at all
	oneErrorLine(t, r, "password")
}

// Two `serve` processes on one database are replicas: a task sent to one
// is read and canceled through the other.
func TestServeReplicasOnDatabase(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	a, exitA := startServeOn(t, ctx, dsn)
	b, exitB := startServeOn(t, ctx, dsn)

	ca, err := client.New(ctx, a, client.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := client.New(ctx, b, client.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	res, err := ca.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: "m1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo across")}}})
	if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("send to replica A: %+v %v", res, err)
	}
	got, err := cb.Get(ctx, a2a.GetRequest{ID: res.Task.ID})
	if err != nil || got.Status.State != a2a.StateCompleted {
		t.Fatalf("get from replica B: %+v %v", got, err)
	}
	res, err = ca.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: "m2", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("forever")}},
		Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil || res.Task == nil {
		t.Fatalf("send forever to A: %+v %v", res, err)
	}
	sub, err := ca.Subscribe(ctx, res.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	canceled, err := cb.Cancel(ctx, res.Task.ID)
	if err != nil || canceled.Status.State != a2a.StateCanceled {
		t.Fatalf("cancel through B of A's task: %+v %v", canceled, err)
	}
	for { // A's own reader sees its execution end canceled
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("A's subscriber ended without the cancel: %v", err)
		}
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.Status.State == a2a.StateCanceled {
			break
		}
	}
	stop()
	for _, exit := range []chan int{exitA, exitB} {
		if code := <-exit; code != exitOK {
			t.Errorf("serve exited %d", code)
		}
	}
}

// startServeOn runs `a2atop serve --db dsn` in-process and returns its base
// URL and its exit status to come.
func startServeOn(t *testing.T, ctx context.Context, dsn string) (string, chan int) {
	t.Helper()
	var stderr lockedBuffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	exit := make(chan int, 1)
	go func() { exit <- c.main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dsn}) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := servingURL.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], exit
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The dashboard's target on a DSN: a replica that runs tasks by default;
// with --read-only an observer that refuses to run or cancel anything but
// follows the replicas' tasks live on Watch.
func TestDashboardTargetOnDatabase(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	ctx := context.Background()
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}

	replica, err := c.openTarget(ctx, target{kind: localKind, local: localTarget{db: dsn}}, openHooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer replica.close()
	observer, err := c.openTarget(ctx, target{kind: localKind, local: localTarget{db: dsn, observe: true}}, openHooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer observer.close()
	if !strings.Contains(replica.path, "(replica)") || !strings.Contains(observer.path, "(observer, read-only)") {
		t.Errorf("targets named %q and %q", replica.path, observer.path)
	}
	msg := a2a.Message{ID: "m1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("slow 2")}}
	if _, err := observer.svc.Send(ctx, &a2a.SendRequest{Message: msg}); !errors.Is(err, a2a.ErrUnsupported) {
		t.Fatalf("send on the observer: %v, want unsupported", err)
	}
	w, err := observer.svc.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := replica.svc.Send(ctx, &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("the observer's watch: %v", err)
		}
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.TaskID == res.Task.ID && su.Status.State == a2a.StateCompleted {
			break
		}
	}
	if _, err := observer.svc.Cancel(ctx, res.Task.ID); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("cancel on the observer: %v, want unsupported", err)
	}
}

// `a2atop check` on a DSN reads every task and runs the PostgreSQL store's
// own Check: 0 on a sound database, 1 naming what is inconsistent, 3 when
// the database cannot be reached.
func TestCheckOnDatabase(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	mustRun(t, dsn, exitOK, "send", "echo", "x")
	r := mustRun(t, dsn, exitOK, "check")
	if !strings.Contains(r.stdout, "no damage found (1 task(s))") {
		t.Fatalf("check on a sound database:\n%s", r.stdout)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE a2atop_counts SET n = 5 WHERE scope = 'all'`); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, context.Background(), "", nil, "check", "--db", dsn)
	if r.code != exitTaskFailed || !strings.Contains(r.stdout, "inconsistent: ") || !strings.Contains(r.stdout, "counter all/ is 5") {
		t.Fatalf("check on a damaged database: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mustRun(t, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=5", exitUnreachable, "check")
	oneErrorLine(t, r, "unreachable")
}

// A database on its way down (a smart shutdown waiting for a session to
// end: PostgreSQL refuses new connections with SQLSTATE 57P03, "the
// database system is shutting down") is exit 3 and one line that names the
// database and says it is shutting down, for send and list alike.
func TestDatabaseShuttingDown(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	mustRun(t, dsn, exitOK, "list") // migrates
	ctx := context.Background()
	held, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(ctx)
	if err := srv.BeginSmartShutdown(); err != nil {
		t.Fatal(err)
	}
	// The postmaster refuses from the moment it has the signal; wait for
	// that on a connection of our own rather than for a time.
	for {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Close(ctx)
			continue
		}
		if !strings.Contains(err.Error(), "57P03") {
			t.Fatalf("connecting during a smart shutdown: %v, want SQLSTATE 57P03", err)
		}
		break
	}
	for _, args := range [][]string{{"send", "echo", "x"}, {"list"}} {
		r := mustRun(t, dsn, exitUnreachable, args...)
		oneErrorLine(t, r, "the database system is shutting down (SQLSTATE 57P03); try again once it is up")
		t.Logf("%v: %s", args, r.stderr)
		if strings.Contains(r.stderr, "unreachable") {
			t.Errorf("%v: a server that answered is called unreachable: %s", args, r.stderr)
		}
		if !strings.Contains(r.stderr, "postgres postgres@") {
			t.Errorf("%v: the message does not name the database: %s", args, r.stderr)
		}
	}
}
