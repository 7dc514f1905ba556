package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Replicas and claims (engine.Claimer, engine.CancelRouter).
//
// Every open Store is a replica: a row in a2atop_replicas whose lease
// (expires_at, on the database's clock, so that replicas need no clock
// agreement) its heartbeat renews every Lease/3. A task's claim
// (a2atop_claims) names the replica that created it or started its
// execution; Commit maintains claims in its transaction (commit.go):
//   - the first commit of a task claims it;
//   - a commit that starts an execution (running goes true) claims it, and
//     is refused with ErrConflict if another live replica holds it: two
//     replicas never both start one task;
//   - a commit that ends the task or makes it wait for input releases it;
//     if a live replica other than the committer held it and the task is
//     now canceled, NOTIFY a2atop_cancel tells the holder to stop its
//     execution.
//
// Takeover: the heartbeat also looks for expired leases and unclaimed
// work, and wakes WatchTakeOver; TakeOver then claims those tasks for this
// replica, in one transaction whose row locks let one survivor win each
// task. Detecting a killed replica needs a clock (it sends nothing when it
// dies): that is the heartbeat's timer, a few rows touched every Lease/3,
// not a poll of the task data.

// DefaultLease is Options.Lease's default: a killed replica's tasks are
// taken over within about this long.
const DefaultLease = 10 * time.Second

// takeoverLock serialises TakeOver transactions (advisory lock key).
const takeoverLock int64 = migrationLock + 2

const (
	takeoverChannel = "a2atop_takeover"
	cancelChannel   = "a2atop_cancel"
)

var (
	_ engine.Claimer      = (*Store)(nil)
	_ engine.CancelRouter = (*Store)(nil)
)

// ReplicaID names this store's replica in the database.
func (s *Store) ReplicaID() string { return s.replica }

func newReplicaID() string { return uuid.Must(uuid.NewV7()).String() }

// join registers the replica and starts its heartbeat.
func (s *Store) join(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO a2atop_replicas (id, expires_at) VALUES ($1, now() + $2::interval)`,
		s.replica, s.leaseInterval())
	if err != nil {
		return s.wrapConnErr("register a replica with", err)
	}
	go s.heartbeat()
	return nil
}

func (s *Store) leaseInterval() string {
	return fmt.Sprintf("%d milliseconds", s.opts.Lease.Milliseconds())
}

func (s *Store) endHeartbeat() {
	s.heartbeatOnce.Do(func() { close(s.stopHeartbeat) })
	<-s.heartbeatDone
}

func (s *Store) heartbeat() {
	defer close(s.heartbeatDone)
	t := time.NewTicker(s.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stopHeartbeat:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.Lease/3)
		s.beat(ctx)
		cancel()
	}
}

// beat renews the lease (re-registering if survivors removed the replica
// as dead: its claims are gone, new ones are valid) and wakes takeover
// watchers when there is work without a live owner.
func (s *Store) beat(ctx context.Context) {
	_, err := s.pool.Exec(ctx, `INSERT INTO a2atop_replicas (id, expires_at) VALUES ($1, now() + $2::interval)
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`, s.replica, s.leaseInterval())
	if err != nil {
		return // the next beat tries again; the listener reconnects on its own
	}
	var orphans bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM a2atop_replicas WHERE expires_at < now())
		OR EXISTS (SELECT 1 FROM a2atop_tasks t WHERE NOT t.terminal AND t.state <> ALL($1)
			AND NOT EXISTS (SELECT 1 FROM a2atop_claims c WHERE c.task_id = t.id))`, interruptedStates).Scan(&orphans)
	if err == nil && orphans {
		s.notify.wake(takeoverChannel)
	}
}

var interruptedStates = []string{string(a2a.StateInputRequired), string(a2a.StateAuthRequired)}

// leave ends the heartbeat and removes the replica and its claims, telling
// the others to take its queue over.
func (s *Store) leave() {
	s.endHeartbeat()
	if s.opts.Observer {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = s.pool.Exec(ctx, `WITH gone AS (DELETE FROM a2atop_claims WHERE replica = $1),
		freed AS (DELETE FROM a2atop_slots WHERE replica = $1)
		DELETE FROM a2atop_replicas WHERE id = $1`, s.replica)
	_, _ = s.pool.Exec(ctx, `SELECT pg_notify('`+takeoverChannel+`', $1), pg_notify('`+slotChannel+`', '')`, s.replica)
}

// Claim implements engine.Claimer.
func (s *Store) Claim(ctx context.Context, taskID string) (bool, error) {
	if s.opts.Observer {
		return false, ErrObserver
	}
	var holder string
	err := s.pool.QueryRow(ctx, `INSERT INTO a2atop_claims (task_id, replica) VALUES ($1, $2)
		ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica
		WHERE a2atop_claims.replica = excluded.replica OR NOT EXISTS (
			SELECT 1 FROM a2atop_replicas r WHERE r.id = a2atop_claims.replica AND r.expires_at > now())
		RETURNING replica`, taskID, s.replica).Scan(&holder)
	if err != nil {
		if isNoRows(err) {
			return false, nil
		}
		return false, s.wrapConnErr("claim task "+taskID+" in", err)
	}
	return true, nil
}

// TakeOver implements engine.Claimer.
func (s *Store) TakeOver(ctx context.Context) ([]string, error) {
	if s.opts.Observer {
		return nil, ErrObserver
	}
	var ids []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One takeover at a time: each then reads the claims the previous
		// one moved (a concurrent UPDATE's recheck would not see that the
		// claim's new holder is live, and two survivors could both take a
		// task).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, takeoverLock); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
		WITH dead AS (
			DELETE FROM a2atop_replicas WHERE expires_at < now() RETURNING id
		), moved AS (
			UPDATE a2atop_claims c SET replica = $1
			WHERE c.replica <> $1 AND NOT EXISTS (
				SELECT 1 FROM a2atop_replicas r WHERE r.id = c.replica AND r.expires_at > now())
			RETURNING c.task_id
		), unclaimed AS (
			INSERT INTO a2atop_claims (task_id, replica)
			SELECT t.id, $1 FROM a2atop_tasks t
			WHERE NOT t.terminal AND t.state <> ALL($2)
				AND NOT EXISTS (SELECT 1 FROM a2atop_claims c WHERE c.task_id = t.id)
			ON CONFLICT (task_id) DO NOTHING
			RETURNING task_id
		)
		SELECT task_id FROM moved UNION SELECT task_id FROM unclaimed`, s.replica, interruptedStates)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		// Slots of replicas no longer live count for nothing (limits.go):
		// drop them, and their waiters whose task no longer waits. The
		// others keep their place until their new replica asks.
		_, err = tx.Exec(ctx, `WITH freed AS (DELETE FROM a2atop_slots sl WHERE NOT EXISTS (
			SELECT 1 FROM a2atop_replicas r WHERE r.id = sl.replica AND r.expires_at > now()))
			DELETE FROM a2atop_waiters w WHERE NOT EXISTS (
				SELECT 1 FROM a2atop_replicas r WHERE r.id = w.replica AND r.expires_at > now())
			AND NOT EXISTS (SELECT 1 FROM a2atop_tasks t WHERE t.id = w.task_id AND t.state = $1)`,
			string(a2a.StateSubmitted))
		return err
	})
	if err != nil {
		return nil, s.wrapConnErr("take over tasks in", err)
	}
	return ids, nil
}

// WatchTakeOver implements engine.Claimer.
func (s *Store) WatchTakeOver() (<-chan struct{}, func()) { return s.notify.subscribe(takeoverChannel) }

// WatchCanceled implements engine.CancelRouter.
func (s *Store) WatchCanceled() (<-chan string, func()) {
	return s.notify.subscribePayload(cancelChannel)
}

// RequestCancel implements engine.CancelRouter: the same NOTIFY a stored
// cancel sends, before anything is stored.
func (s *Store) RequestCancel(ctx context.Context, taskID string) error {
	if s.opts.Observer {
		return ErrObserver
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, cancelChannel, taskID); err != nil {
		return s.wrapConnErr("ask the replica running task "+taskID+" to cancel it in", err)
	}
	return nil
}
