package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The schema: every table is prefixed a2atop_, so the store can share a
// database with other applications.
//
//	a2atop_schema    one row: the schema version (migrations below)
//	a2atop_tasks     one row per task: the task (codec.go) and the
//	                 bookkeeping List, Unfinished and Sweep select on.
//	                 Times are unix nanoseconds (timestamptz keeps only
//	                 microseconds, and page tokens and Record.Updated must
//	                 round-trip exactly).
//	a2atop_events    every task's log; cursor is the global log's position,
//	                 (task_id, seq) the task's timeline.
//	a2atop_messages  message id -> task id, for idempotent sends.
//	a2atop_counts    task counts by scope ('all'; 'state', state;
//	                 'context', id; 'terminal'), kept by each commit so
//	                 that a first page's total costs one row read, not a
//	                 count over every task.
//	a2atop_log_head  one row: the highest cursor assigned. Commit takes
//	                 its row lock to assign cursors and holds it until the
//	                 transaction commits, so cursors follow commit order
//	                 across every process writing the database: a reader
//	                 that saw cursor c can never later see one below c
//	                 appear (see commit.go).
//	a2atop_replicas, a2atop_claims  live replicas and who runs what
//	                 (cluster.go).
//	a2atop_slots     running slots held across replicas (limits.go).
//	a2atop_waiters   tasks refused a slot, by rank: the cluster's queue
//	                 order (limits.go).
//
// Lists walk the (updated_ns, id) indexes backwards from the page token's
// key, so a first page costs the same at a thousand tasks or a million.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE a2atop_tasks (
	id         text PRIMARY KEY,
	context_id text NOT NULL,
	state      text NOT NULL,
	terminal   boolean NOT NULL,
	created_ns bigint NOT NULL,
	updated_ns bigint NOT NULL,
	attempts   integer NOT NULL,
	priority   integer NOT NULL,
	last_seq   bigint NOT NULL,
	running    boolean NOT NULL,
	stopped    boolean NOT NULL,
	task       bytea NOT NULL
);
CREATE INDEX a2atop_tasks_by_updated ON a2atop_tasks (updated_ns DESC, id DESC);
CREATE INDEX a2atop_tasks_by_state ON a2atop_tasks (state, updated_ns DESC, id DESC);
CREATE INDEX a2atop_tasks_by_context ON a2atop_tasks (context_id, updated_ns DESC, id DESC);
CREATE INDEX a2atop_tasks_unfinished ON a2atop_tasks (created_ns, id) WHERE NOT terminal;
CREATE INDEX a2atop_tasks_terminal ON a2atop_tasks (updated_ns, id) WHERE terminal;

CREATE TABLE a2atop_events (
	cursor  bigint PRIMARY KEY,
	task_id text NOT NULL,
	seq     bigint NOT NULL,
	at_ns   bigint NOT NULL,
	event   bytea NOT NULL,
	UNIQUE (task_id, seq)
);

CREATE TABLE a2atop_messages (
	message_id text PRIMARY KEY,
	task_id    text NOT NULL
);
CREATE INDEX a2atop_messages_by_task ON a2atop_messages (task_id);

CREATE TABLE a2atop_counts (
	scope text NOT NULL,
	key   text NOT NULL,
	n     bigint NOT NULL,
	PRIMARY KEY (scope, key)
);

CREATE TABLE a2atop_log_head (
	id   integer PRIMARY KEY CHECK (id = 1),
	last bigint NOT NULL
);
INSERT INTO a2atop_log_head VALUES (1, 0);
`,
	// 2: replicas and claims (cluster.go).
	`
CREATE TABLE a2atop_replicas (
	id         text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE TABLE a2atop_claims (
	task_id text PRIMARY KEY,
	replica text NOT NULL
);
CREATE INDEX a2atop_claims_by_replica ON a2atop_claims (replica);
`,
	// 3: running slots shared by the replicas (limits.go).
	`
CREATE TABLE a2atop_slots (
	task_id text PRIMARY KEY,
	replica text NOT NULL
);
CREATE INDEX a2atop_slots_by_replica ON a2atop_slots (replica);
`,
	// 4: the tasks waiting for a slot, by rank (limits.go).
	`
CREATE TABLE a2atop_waiters (
	task_id    text PRIMARY KEY,
	replica    text NOT NULL,
	level      smallint NOT NULL,
	arrival_ns bigint NOT NULL
);
CREATE INDEX a2atop_waiters_by_rank ON a2atop_waiters (level, arrival_ns, task_id);
CREATE INDEX a2atop_waiters_by_replica ON a2atop_waiters (replica);
`,
}

// SchemaVersion is the schema this build writes.
var SchemaVersion = len(migrations)

// migrationLock is the pg_advisory_lock key under which processes migrate
// the schema one at a time ("a2atop" in ASCII).
const migrationLock int64 = 0x613261746f70

// migrate brings the schema to SchemaVersion, under the advisory lock so
// that replicas starting together migrate once. A schema newer than this
// build is ErrNewerSchema.
func migrate(ctx context.Context, conn *pgx.Conn) (err error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("lock the schema: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be done.
		if _, uerr := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock); uerr != nil && err == nil {
			err = fmt.Errorf("unlock the schema: %w", uerr)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS a2atop_schema (
		id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)`); err != nil {
		return fmt.Errorf("create the schema table: %w", err)
	}
	var version int
	err = conn.QueryRow(ctx, "SELECT version FROM a2atop_schema").Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		version = 0
	} else if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w (schema version %d, this build knows up to %d): upgrade a2atop", ErrNewerSchema, version, SchemaVersion)
	}
	for v := version; v < SchemaVersion; v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO a2atop_schema VALUES (1, $1)
				ON CONFLICT (id) DO UPDATE SET version = excluded.version`, v+1)
			return err
		})
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				return fmt.Errorf("migrate the schema to version %d: %s", v+1, pgErr.Message)
			}
			return fmt.Errorf("migrate the schema to version %d: %w", v+1, err)
		}
	}
	return nil
}
