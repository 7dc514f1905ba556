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
// submitted), so the count costs one row read. QueuedTasks is the engine's
// early refusal; the exact bound is checked by the commit that queues a
// task (engine.Commit.QueueLimit, commit.go's queuedBefore).
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
// Priority across replicas: a2atop_waiters is the cluster's queue, one row
// per task refused a slot (task, replica, level, arrival). AcquireSlot
// grants a slot only when no waiter ranks ahead of the task ((level,
// arrival_ns, task_id) below its own) among the waiters that count: of a
// replica other than the asker (its own queue orders its own waiters) and
// of a task still submitted, so that a waiter whose task was canceled,
// finished, or whose create never committed holds nobody back even before
// its row goes. A refused task takes or keeps its row, a granted one
// leaves it, and ReleaseSlot deletes it when a queued task leaves its
// queue otherwise. The rows of a replica that closed or died stay: their
// tasks still rank where they were, and the survivor that takes one over
// queues it under the row's arrival (WaitingSince) and takes the row over
// when it asks; TakeOver deletes the dead replicas' rows whose task is no
// longer submitted. A grant that removed a waiter while slots remain free
// NOTIFYs too: the next waiter in rank may be on another replica, which
// was refused only because this one was ahead.
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
func (s *Store) AcquireSlot(ctx context.Context, r engine.SlotRequest) (bool, error) {
	if s.opts.Observer {
		return false, ErrObserver
	}
	if r.Limit <= 0 {
		return false, s.await(ctx, r)
	}
	// One batch is one implicit transaction (pgx SendBatch) and one round
	// trip: the lock is held from the count to the commit.
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, slotLock)
	var then engine.SlotRequest
	if r.Then != nil {
		then = *r.Then
	}
	b.Queue(acquireSlotSQL, r.TaskID, s.replica, r.Limit, int16(r.Level), r.Arrival, string(a2a.StateSubmitted),
		then.TaskID, int16(then.Level), then.Arrival)
	ok, err := sendSlotBatch(ctx, s, b)
	if err != nil {
		return false, s.wrapConnErr("take a running slot for task "+r.TaskID+" in", err)
	}
	return ok, nil
}

// acquireSlotSQL grants $1 (of replica $2) a slot, unless $3 is 0 (a
// waiter place only), if it holds one already,
// or if fewer than $3 are held by live replicas and no waiter that counts
// ranks ahead of ($4 level, $5 arrival, $1), $6 being the submitted state; otherwise it makes $1 a
// waiter with that rank. Granted, $7 (unless empty) becomes a waiter with
// rank ($8, $9). Its one row is true when granted.
const acquireSlotSQL = `WITH live AS (
	SELECT id FROM a2atop_replicas WHERE expires_at > now()
), held AS (
	SELECT count(*) AS n FROM a2atop_slots sl JOIN live ON live.id = sl.replica WHERE sl.task_id <> $1
), ahead AS (
	-- The task's state by its primary key, one waiter at a time (LATERAL
	-- with LIMIT is not flattened into a join): a hash join would read
	-- every submitted task through the state index, whose dead entries
	-- pile up under queue position updates (measured: the queued
	-- BlockingSends benchmark ran at 0.5x of the code before waiters with
	-- the join, about even with this).
	SELECT EXISTS (SELECT 1 FROM a2atop_waiters w
		CROSS JOIN LATERAL (SELECT t.state FROM a2atop_tasks t WHERE t.id = w.task_id LIMIT 1) t
		WHERE w.replica <> $2 AND (w.level, w.arrival_ns, w.task_id) < ($4::smallint, $5::bigint, $1::text)
			AND t.state = $6) AS v
), granted AS (
	INSERT INTO a2atop_slots (task_id, replica) SELECT $1, $2
	WHERE $3 > 0 AND (EXISTS (SELECT 1 FROM a2atop_slots WHERE task_id = $1)
		OR ((SELECT n FROM held) < $3 AND NOT (SELECT v FROM ahead)))
	ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica
	RETURNING 1
), left_waiters AS (
	DELETE FROM a2atop_waiters WHERE task_id = $1 AND EXISTS (SELECT 1 FROM granted)
	RETURNING 1
), waits AS (
	INSERT INTO a2atop_waiters (task_id, replica, level, arrival_ns)
	SELECT $1, $2, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM granted)
	ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica, level = excluded.level, arrival_ns = excluded.arrival_ns
	RETURNING 1
), then_waits AS (
	INSERT INTO a2atop_waiters (task_id, replica, level, arrival_ns)
	SELECT $7, $2, $8, $9 WHERE $7 <> '' AND EXISTS (SELECT 1 FROM granted)
	ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica, level = excluded.level, arrival_ns = excluded.arrival_ns
	RETURNING 1
)
SELECT true FROM granted
	LEFT JOIN LATERAL (SELECT pg_notify('` + slotChannel + `', '') FROM left_waiters
		WHERE (SELECT n FROM held) + 1 < $3) woke ON true`

// await makes r a waiter without asking for a slot (Limit 0). It needs no
// slot lock: an acquisition that runs before the row lands grants what it
// would have granted a moment earlier.
func (s *Store) await(ctx context.Context, r engine.SlotRequest) error {
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(`INSERT INTO a2atop_waiters (task_id, replica, level, arrival_ns) VALUES ($1, $2, $3, $4)
		ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica, level = excluded.level, arrival_ns = excluded.arrival_ns
		RETURNING true`, r.TaskID, s.replica, int16(r.Level), r.Arrival)
	if _, err := sendSlotBatch(ctx, s, b); err != nil {
		return s.wrapConnErr("queue task "+r.TaskID+" for a running slot in", err)
	}
	return nil
}

// WaitingSince implements engine.SharedSlots.
func (s *Store) WaitingSince(ctx context.Context, taskID string) (int64, bool, error) {
	var arrival int64
	err := s.pool.QueryRow(ctx, `SELECT arrival_ns FROM a2atop_waiters WHERE task_id = $1`, taskID).Scan(&arrival)
	if isNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrapConnErr("read the queue place of task "+taskID+" in", err)
	}
	return arrival, true, nil
}

// ReleaseSlot implements engine.SharedSlots.
func (s *Store) ReleaseSlot(ctx context.Context, taskID string) error {
	if s.opts.Observer {
		return ErrObserver
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(`WITH freed AS (DELETE FROM a2atop_slots WHERE task_id = $1 AND replica = $2 RETURNING 1),
		withdrawn AS (DELETE FROM a2atop_waiters WHERE task_id = $1 AND replica = $2 RETURNING 1)
		SELECT pg_notify('`+slotChannel+`', '')
		WHERE EXISTS (SELECT 1 FROM freed) OR EXISTS (SELECT 1 FROM withdrawn)`, taskID, s.replica)
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
