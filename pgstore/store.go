// Package pgstore is the PostgreSQL implementation of engine.Store (pgx
// v5): tasks, their timelines and the global event log in a database that
// several a2atop processes (serve replicas, dashboards, the CLI) share.
//
// The schema and its migrations are in schema.go; commits from many
// goroutines are grouped into one transaction (commit.go); cursors are
// assigned by the database in commit order, so that every process reads
// one global log (commit.go, notify.go).
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/a2atop/a2atop/engine"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tunes Open.
type Options struct {
	// MaxConns caps the pool's connections (default 8: one writer at a time
	// per process, the rest for reads).
	MaxConns int32
	// NoSync sets synchronous_commit off for this store's sessions (tests
	// and benchmarks only): a crash of the database server may then lose
	// the last commits it acknowledged.
	NoSync bool
	// Lease is how long this replica's claims outlive its last heartbeat
	// (default DefaultLease): a killed replica's tasks are taken over
	// within about this long.
	Lease time.Duration
	// Observer opens the store for reading and following only (get, list,
	// a dashboard with --read-only): it does not register as a replica, so
	// it holds no lease and never claims a task, and Commit and Sweep
	// refuse with ErrObserver.
	Observer bool
}

// Errors Open and the store's methods return, for errors.Is; each is
// wrapped with what happened and what to do.
var (
	// ErrUnreachable: the database server could not be reached (refused,
	// unknown host, timed out). The CLI exits with status 3 for it.
	ErrUnreachable = errors.New("the PostgreSQL server is unreachable")
	// ErrNotReady: the server answered that it is starting up or shutting
	// down (SQLSTATE 57P03). The CLI exits with status 3 for it too.
	ErrNotReady = errors.New("the PostgreSQL server is not accepting connections")
	// ErrNewerSchema: the database was migrated by a newer a2atop.
	ErrNewerSchema = errors.New("the database's a2atop schema is newer than this a2atop")
	// ErrBadDSN: the DSN could not be parsed.
	ErrBadDSN = errors.New("invalid PostgreSQL DSN")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("the task store is closed")
	// ErrConflict: a commit was built on a task version that another
	// writer has changed meanwhile (its first event's seq is not the stored
	// task's next), or started an execution of a task another live replica
	// holds: nothing of it was stored. It is engine.ErrConflict, on which
	// the engine stops the execution that published it.
	ErrConflict = engine.ErrConflict
	// ErrObserver: a write on a store opened with Options.Observer.
	ErrObserver = errors.New("the task store was opened to observe only")
)

// Store is a PostgreSQL-backed engine.Store. Its methods are safe for
// concurrent use, and any number of Stores (in any number of processes)
// may share one database.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	desc string // host/database, for messages (never the password)

	// commits feeds the writer goroutine (commit.go); see localstore for
	// the same protocol: a request taken by the writer is always answered.
	commits    chan *commitRequest
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	notify *notifier // LISTEN/NOTIFY, started on first use (notify.go)

	// The replica this store is (cluster.go).
	replica       string
	stopHeartbeat chan struct{}
	heartbeatDone chan struct{}
	heartbeatOnce sync.Once
}

var dsnURL = regexp.MustCompile(`(?i)^postgres(ql)?://`)

// dsnKeyValue matches the start of a libpq key=value DSN.
var dsnKeyValue = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|sslmode|service|connect_timeout|application_name)\s*=`)

// IsDSN reports whether s names a PostgreSQL database rather than a file:
// a postgres:// or postgresql:// URL, or a libpq key=value string
// ("host=/run/postgresql dbname=a2atop"). Such a string must never be taken
// for a path.
func IsDSN(s string) bool {
	return dsnURL.MatchString(s) || dsnKeyValue.MatchString(s)
}

// Open connects to the database, migrates the schema to this build's
// version (under an advisory lock, so replicas starting together migrate
// once) and starts the commit writer. ctx bounds the connection and the
// migration.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included: say only
		// what kind of mistake it is.
		return nil, fmt.Errorf("%w: %s: expected postgres://user@host/db or key=value pairs", ErrBadDSN, dsnParseReason(err))
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "a2atop"
	}
	if opts.NoSync {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	s := &Store{opts: opts, desc: describe(cfg.ConnConfig.Config),
		commits: make(chan *commitRequest), closing: make(chan struct{}), writerDone: make(chan struct{}),
		replica: newReplicaID(), stopHeartbeat: make(chan struct{}), heartbeatDone: make(chan struct{})}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.wrapConnErr("connect to", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		s.pool.Close()
		return nil, s.wrapConnErr("connect to", err)
	}
	err = migrate(ctx, conn.Conn())
	conn.Release()
	if err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open %s: %w", s.desc, err)
	}
	s.notify = newNotifier(s)
	if opts.Observer {
		close(s.heartbeatDone) // no replica, no heartbeat (cluster.go)
	} else if err := s.join(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// describe names the database for messages: user@host/db, no password.
func describe(c pgconn.Config) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	}
	return fmt.Sprintf("postgres %s@%s/%s", c.User, host, c.Database)
}

// dsnParseReason keeps the first clause of pgx's parse error, without the
// DSN it may quote.
func dsnParseReason(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		return "cannot parse it"
	}
	return msg
}

// wrapConnErr marks errors that mean the server could not be reached.
func (s *Store) wrapConnErr(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgNotReady {
		// The server's own words say which ("is starting up", "is
		// shutting down"); the socket path and FATAL prefix add nothing.
		return fmt.Errorf("%s %s: %w: %s (SQLSTATE %s); try again once it is up%w", what, s.desc, ErrNotReady, pgErr.Message, pgErr.Code, passing)
	}
	if isUnreachable(err) {
		return fmt.Errorf("%s %s: %w: %v%w", what, s.desc, ErrUnreachable, rootCause(err), passing)
	}
	if errors.As(err, &pgErr) {
		if connectionLost(pgErr.Code) {
			return fmt.Errorf("%s %s: %s (SQLSTATE %s)%w", what, s.desc, pgErr.Message, pgErr.Code, passing)
		}
		return fmt.Errorf("%s %s: %s (SQLSTATE %s)", what, s.desc, pgErr.Message, pgErr.Code)
	}
	return fmt.Errorf("%s %s: %w", what, s.desc, err)
}

func isUnreachable(err error) bool {
	var netErr net.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	return false
}

// passing marks an error as engine.ErrStoreUnavailable without adding to
// its text: the server is down, restarting or dropped the connection, and
// a later try may succeed.
var passing = silentWrap{engine.ErrStoreUnavailable}

type silentWrap struct{ err error }

func (w silentWrap) Error() string { return "" }
func (w silentWrap) Unwrap() error { return w.err }

// connectionLost reports SQLSTATEs of a session the server ended or lost:
// class 08 (connection exception), 57P01 admin_shutdown (the server is
// stopping or a backend crashed: "terminating connection due to ...") and
// 57P02 crash_shutdown.
func connectionLost(code string) bool {
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02"
}

// pgNotReady is SQLSTATE 57P03, cannot_connect_now: the server is starting
// up, shutting down or recovering.
const pgNotReady = "57P03"

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// String names the database (without credentials).
func (s *Store) String() string { return s.desc }

// Close waits for commits in progress, stops the writer and the listener
// and closes the pool. Safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone
		s.leave()
		s.notify.close()
		s.pool.Close()
	})
	return nil
}

var (
	_ engine.SharedLog = (*Store)(nil)
	_ engine.Checker   = (*Store)(nil) // a2atop check
)
