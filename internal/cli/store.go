package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/localshare"
	"github.com/a2atop/a2atop/pgstore"
)

// A PostgreSQL DSN as --db (or $A2ATOP_DB) names a database that several
// a2atop processes share as replicas (package pgstore): every process on
// it runs its own engine, so the bbolt store's sharing of one engine
// through a socket (package localshare) does not apply. What each command
// is on a database:
//   - send, cancel, subscribe, serve and the dashboard: a replica that runs
//     tasks (its own and those of replicas that die), with a lease the
//     store renews while the command runs;
//   - get and list: a reader, not a replica (no lease, no task claimed or
//     resumed);
//   - the dashboard with --read-only: an observer, which follows every
//     replica's tasks live but runs, answers and cancels none.

// pgConnectTimeout bounds connecting to the database and migrating its
// schema; a DSN's own connect_timeout applies within it.
const pgConnectTimeout = 20 * time.Second

// dbValue is --db, else $A2ATOP_DB: the store as the user named it.
func (c *cli) dbValue(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return c.getenv("A2ATOP_DB")
}

// checkDSNShape refuses a --db value that starts like a PostgreSQL URL but
// is not one ("postgres:/db", "postgresql:host"): taken for a path, it
// would create a folder named "postgres:".
func checkDSNShape(db string) error {
	lower := strings.ToLower(db)
	if !pgstore.IsDSN(db) && (strings.HasPrefix(lower, "postgres:") || strings.HasPrefix(lower, "postgresql:")) {
		// Not quoted back: it may hold a password.
		return usageErr("--db starts like a PostgreSQL DSN but is not one: write postgres://USER@HOST/DB (or key=value pairs such as \"host=/run/postgresql dbname=a2atop\")")
	}
	return nil
}

// openDatabase opens the local target on a PostgreSQL database: a replica
// engine, an observer engine (l.observe), or a reader (l.readOnly).
func (c *cli) openDatabase(ctx context.Context, l localTarget, dsn string, exec engine.Executor, card a2a.AgentCard) (*opened, error) {
	observer := l.readOnly || l.observe
	openCtx, cancel := context.WithTimeout(ctx, pgConnectTimeout)
	st, err := pgstore.Open(openCtx, dsn, pgstore.Options{Observer: observer})
	cancel()
	if err != nil {
		return nil, databaseErr(err)
	}
	if l.readOnly {
		return &opened{svc: localshare.ReadOnlyService(st, card), close: st.Close, path: st.String()}, nil
	}
	opts := c.engineOptions(l)
	opts.Observe = l.observe
	eng, err := engine.New(st, exec, opts)
	if err != nil {
		_ = st.Close()
		return nil, databaseErr(fmt.Errorf("start the engine on %s: %w", st, err))
	}
	role := "replica"
	if l.observe {
		role = "observer, read-only"
	}
	return &opened{
		svc: eng,
		// The engine first (its executions stop and record where they
		// stopped), then the store, whose Close hands this replica's
		// claims to the other replicas at once.
		close: func() error { return errors.Join(eng.Close(), st.Close()) },
		path:  st.String() + " (" + role + ")",
	}, nil
}

// engineOptions are the engine's options for the local target on a
// database (the engine on a bbolt store is started by localshare): the
// queue bounds hold across replicas (README: Several replicas on PostgreSQL).
func (c *cli) engineOptions(l localTarget) engine.Options { return l.limits.options() }

// checkDatabase is `a2atop check` on a database: every task read, then the
// store's own Check (engine.Checker), as for a bbolt file. It opens the
// database as an observer: checking claims nothing.
func (c *cli) checkDatabase(ctx context.Context, dsn string) (int, error) {
	openCtx, cancel := context.WithTimeout(ctx, pgConnectTimeout)
	st, err := pgstore.Open(openCtx, dsn, pgstore.Options{Observer: true})
	cancel()
	if err != nil {
		return 0, databaseErr(err)
	}
	defer st.Close()
	return checkStore(ctx, st, st.String(), c.stdout)
}

// databaseErr gives an error opening a database its exit status: a DSN
// that does not parse is a usage error (2); anything else (refused,
// unreachable, wrong password, a schema from a newer a2atop) means the
// store cannot be used (3). pgstore's messages name the database as
// "postgres user@host/db", never with the password.
func databaseErr(err error) error {
	if errors.Is(err, pgstore.ErrBadDSN) {
		return usageErr("--db: %v", err)
	}
	return unreachable(err)
}
