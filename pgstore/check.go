package pgstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/a2atop/a2atop/internal/taskcodec"
	"time"

	"github.com/jackc/pgx/v5"
)

// checkTimeout bounds Check, which has no context (engine.Checker's shape,
// localstore's too).
const checkTimeout = 10 * time.Minute

// Check is CheckContext bounded by checkTimeout: engine.Checker, the
// self-check `a2atop check` runs on every store.
func (s *Store) Check() error {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	return s.CheckContext(ctx)
}

// CheckContext verifies the database's invariants: the schema is this
// build's, every task decodes and its columns agree with its body, every
// task's events are seq 1..last_seq with cursors at or below the log's
// head, no event or message id names a missing task, and the counters
// equal a count of the tasks. It reads every row: for tests and repair
// tools, not for every open.
func (s *Store) CheckContext(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("check %s: %w", s.desc, err)
	}
	return nil
}

func (s *Store) check(ctx context.Context) error {
	var version int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM a2atop_schema`).Scan(&version); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if version != SchemaVersion {
		return fmt.Errorf("schema version %d, this build's is %d", version, SchemaVersion)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, context_id, state, terminal, task FROM a2atop_tasks`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, cid, state string
		var terminal bool
		var body []byte
		if err := rows.Scan(&id, &cid, &state, &terminal, &body); err != nil {
			rows.Close()
			return err
		}
		t, err := taskcodec.DecodeTask(body)
		if err != nil {
			rows.Close()
			return fmt.Errorf("task %q: %w", id, err)
		}
		if t.ID != id || t.ContextID != cid || string(t.Status.State) != state || t.Status.State.Terminal() != terminal {
			rows.Close()
			return fmt.Errorf("task %q: columns (%s, %s, %s) disagree with its body (%s, %s, %s)",
				id, id, cid, state, t.ID, t.ContextID, t.Status.State)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Each query returns a description of the first violation, or no row.
	checks := []struct{ what, query string }{
		{"events per task", `SELECT t.id || ': last seq ' || t.last_seq || ', events ' || count(e.seq) || ' up to ' || coalesce(max(e.seq), 0)
			FROM a2atop_tasks t LEFT JOIN a2atop_events e ON e.task_id = t.id
			GROUP BY t.id, t.last_seq HAVING count(e.seq) <> t.last_seq OR coalesce(max(e.seq), 0) <> t.last_seq LIMIT 1`},
		{"orphan events", `SELECT 'event ' || e.seq || ' of missing task ' || e.task_id FROM a2atop_events e
			WHERE NOT EXISTS (SELECT 1 FROM a2atop_tasks t WHERE t.id = e.task_id) LIMIT 1`},
		{"cursors", `SELECT 'cursor ' || max(cursor) || ' above the head ' || (SELECT last FROM a2atop_log_head)
			FROM a2atop_events HAVING max(cursor) > (SELECT last FROM a2atop_log_head)`},
		{"message ids", `SELECT 'message ' || m.message_id || ' names missing task ' || m.task_id FROM a2atop_messages m
			WHERE NOT EXISTS (SELECT 1 FROM a2atop_tasks t WHERE t.id = m.task_id) LIMIT 1`},
		{"counters", `WITH want AS (
				SELECT 'all' AS scope, '' AS key, count(*) AS n FROM a2atop_tasks
				UNION ALL SELECT 'terminal', '', count(*) FROM a2atop_tasks WHERE terminal
				UNION ALL SELECT 'state', state, count(*) FROM a2atop_tasks GROUP BY state
				UNION ALL SELECT 'context', context_id, count(*) FROM a2atop_tasks GROUP BY context_id
			)
			SELECT 'counter ' || coalesce(c.scope, w.scope) || '/' || coalesce(c.key, w.key) || ' is ' ||
				coalesce(c.n, 0) || ', the tasks say ' || coalesce(w.n, 0)
			FROM a2atop_counts c FULL JOIN want w ON c.scope = w.scope AND c.key = w.key
			WHERE coalesce(c.n, 0) <> coalesce(w.n, 0) LIMIT 1`},
	}
	for _, c := range checks {
		var bad string
		err := s.pool.QueryRow(ctx, c.query).Scan(&bad)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
		return fmt.Errorf("%s: %s", c.what, bad)
	}
	return nil
}
