package pgstore

import (
	"context"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/jackc/pgx/v5"
)

// The queue limits across replicas (engine.SharedQueueCount,
// engine.SharedSlots).
//
// Queued tasks are counted by the commit's counters (a2atop_counts, state
// submitted), so the count costs one row read.
//
// Running slots are rows of a2atop_slots (task, replica). AcquireSlot
// counts the slots held by live replicas and inserts the task's in one
// transaction that first takes an advisory transaction lock: acquisitions
// run one at a time across every replica, so two cannot both see the last
// slot free. A slot of a replica whose lease expired no longer counts (its
// task is taken over and asks again); TakeOver and a clean close delete
// such rows. ReleaseSlot deletes the row and NOTIFYs a2atop_slots, which
// wakes every replica waiting for a slot.
//
// Slot transactions commit without waiting for the WAL flush
// (synchronous_commit off): a slot is soft state, and an fsync per start
// under the lock would serialise every start in the cluster on the disk.
// A database crash may lose the last slot changes; runs then end and
// release as usual, and a lost release only leaves a slot taken until its
// replica's lease ends or the task starts again.

// slotLock serialises AcquireSlot transactions (advisory lock key).
const slotLock int64 = migrationLock + 3

const slotChannel = "a2atop_slots"

var (
	_ engine.SharedQueueCount = (*Store)(nil)
	_ engine.SharedSlots      = (*Store)(nil)
)

// QueuedTasks implements engine.SharedQueueCount.
func (s *Store) QueuedTasks(ctx context.Context) (int, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT n FROM a2atop_counts WHERE scope = 'state' AND key = $1), 0)`,
		string(a2a.StateSubmitted)).Scan(&n)
	if err != nil {
		return 0, s.wrapConnErr("count the queued tasks in", err)
	}
	return int(n), nil
}

// AcquireSlot implements engine.SharedSlots.
func (s *Store) AcquireSlot(ctx context.Context, taskID string, limit int) (bool, error) {
	if s.opts.Observer {
		return false, ErrObserver
	}
	// One batch is one implicit transaction (pgx SendBatch) and one round
	// trip: the lock is held from the count to the commit.
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, slotLock)
	b.Queue(`INSERT INTO a2atop_slots (task_id, replica) SELECT $1, $2
		WHERE (SELECT count(*) FROM a2atop_slots sl
			JOIN a2atop_replicas r ON r.id = sl.replica AND r.expires_at > now()
			WHERE sl.task_id <> $1) < $3
		ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica
		RETURNING true`, taskID, s.replica, limit)
	ok, err := sendSlotBatch(ctx, s, b)
	if err != nil {
		return false, s.wrapConnErr("take a running slot for task "+taskID+" in", err)
	}
	return ok, nil
}

// ReleaseSlot implements engine.SharedSlots.
func (s *Store) ReleaseSlot(ctx context.Context, taskID string) error {
	if s.opts.Observer {
		return ErrObserver
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(`WITH freed AS (DELETE FROM a2atop_slots WHERE task_id = $1 AND replica = $2 RETURNING 1)
		SELECT pg_notify('`+slotChannel+`', '') FROM freed`, taskID, s.replica)
	_, err := sendSlotBatch(ctx, s, b)
	if err != nil {
		return s.wrapConnErr("free the running slot of task "+taskID+" in", err)
	}
	return nil
}

// sendSlotBatch runs b, one implicit transaction, and reports whether its
// last statement returned a row.
func sendSlotBatch(ctx context.Context, s *Store, b *pgx.Batch) (bool, error) {
	br := s.pool.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return false, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return false, err
	}
	got := rows.Next()
	rows.Close()
	if err := rows.Err(); err != nil {
		br.Close()
		return false, err
	}
	return got, br.Close()
}

// WatchSlots implements engine.SharedSlots.
func (s *Store) WatchSlots() (<-chan struct{}, func()) { return s.notify.subscribe(slotChannel) }
