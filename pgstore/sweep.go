package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweepLock is the advisory lock a sweep holds for its transaction: with
// several replicas on one database, one sweeps at a time and the others
// skip their turn (their sweep returns 0) instead of queueing to delete
// the same rows.
const sweepLock int64 = migrationLock + 1

// sweepBatch caps the tasks one sweep transaction deletes, so that a large
// backlog is deleted in short transactions that commits can interleave with.
const sweepBatch = 500

// Sweep deletes terminal tasks older than olderThan, then the oldest
// terminal tasks beyond keep, with their events, message ids and counter
// entries. It returns 0 at once when another process is sweeping.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time, keep int) (int, error) {
	if s.opts.Observer {
		return 0, ErrObserver
	}
	total := 0
	for {
		n, busy, err := s.sweepBatch(ctx, olderThan.UnixNano(), keep)
		total += n
		if err != nil {
			return total, s.wrapConnErr("sweep", err)
		}
		if busy || n < sweepBatch {
			return total, nil
		}
	}
}

func (s *Store) sweepBatch(ctx context.Context, cutNs int64, keep int) (n int, busy bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, sweepLock).Scan(&got); err != nil {
			return err
		}
		if !got {
			busy = true
			return nil
		}
		// Past the age limit: the oldest first. Beyond the count limit:
		// the terminal tasks after the newest keep.
		over := 0
		if keep > 0 {
			var terminal int64
			err := tx.QueryRow(ctx, `SELECT coalesce((SELECT n FROM a2atop_counts WHERE scope = 'terminal' AND key = ''), 0)`).Scan(&terminal)
			if err != nil {
				return err
			}
			over = max(int(terminal)-keep, 0)
		}
		rows, err := tx.Query(ctx, `
			WITH doomed AS (
				SELECT id, updated_ns FROM a2atop_tasks WHERE terminal
				ORDER BY updated_ns, id LIMIT $2
			), gone AS (
				DELETE FROM a2atop_tasks t USING (
					SELECT id, row_number() OVER (ORDER BY updated_ns, id) AS rn FROM doomed
				) d
				WHERE t.id = d.id AND t.terminal AND (t.updated_ns < $1 OR d.rn <= $3)
				RETURNING t.id, t.state, t.context_id
			)
			SELECT id, state, context_id FROM gone`, cutNs, sweepBatch, over)
		if err != nil {
			return err
		}
		var ids []string
		counts := map[countKey]int64{}
		for rows.Next() {
			var id, state, cid string
			if err := rows.Scan(&id, &state, &cid); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			counts[countKey{"all", ""}]--
			counts[countKey{"terminal", ""}]--
			counts[countKey{"state", state}]--
			counts[countKey{"context", cid}]--
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(ids)
		if n == 0 {
			return nil
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM a2atop_events WHERE task_id = ANY($1)`, ids)
		b.Queue(`DELETE FROM a2atop_messages WHERE task_id = ANY($1)`, ids)
		queueCounts(b, counts)
		return tx.SendBatch(ctx, b).Close()
	})
	return n, busy, err
}
