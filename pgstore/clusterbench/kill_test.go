//go:build linux

package clusterbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// sender sends blocking SendMessage requests with a message id of its
// choosing, so that a send whose replica died is retried on another
// replica as the same send (idempotent by message id).
type sender struct {
	hc *http.Client
}

func newSender(conns int) *sender {
	return &sender{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: 4 * conns}}}
}

type sendResult struct {
	Result *struct {
		Task *struct {
			ID     string `json:"id"`
			Status struct {
				State string `json:"state"`
			} `json:"status"`
		} `json:"task"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// send posts one blocking send of text with message id msgID to url and
// returns the task id once the task completed.
func (s *sender) send(ctx context.Context, url, msgID, text string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
		"params": map[string]any{"message": map[string]any{
			"messageId": msgID, "role": "ROLE_USER", "parts": []any{map[string]any{"text": text}}}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("A2A-Version", "1.0")
	resp, err := s.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r sendResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", fmt.Errorf("HTTP %s: %w", resp.Status, err)
	}
	switch {
	case r.Error != nil:
		return "", fmt.Errorf("JSON-RPC error %d: %s", r.Error.Code, r.Error.Message)
	case r.Result == nil || r.Result.Task == nil:
		return "", fmt.Errorf("no task in the answer")
	case r.Result.Task.Status.State != "TASK_STATE_COMPLETED":
		return "", fmt.Errorf("task %s ended %s", r.Result.Task.ID, r.Result.Task.Status.State)
	}
	return r.Result.Task.ID, nil
}

// cluster is R pg replicas on one database.
type cluster struct {
	dsn   string
	lease time.Duration
	mu    sync.Mutex
	nodes []*child // nil: killed
}

func (c *cluster) live() []*child {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*child
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

type killRound struct {
	acked, lost, duplicates, retried int
	takeover                         time.Duration
	tasksTakenOver                   int
}

// runKillRound puts c=conc blocking `slow 2` sends on the replicas, kills
// replica victim with SIGKILL once the load runs, measures how long its
// claimed tasks take to run again elsewhere, and checks that every
// acknowledged send's task is stored, completed, once.
func runKillRound(tb testing.TB, cl *cluster, victim, conc int) killRound {
	tb.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, cl.dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close(ctx)
	snd := newSender(conc)
	var (
		stop    atomic.Bool
		mu      sync.Mutex
		acked   = map[string]string{} // message id -> task id
		retried atomic.Int64
		wg      sync.WaitGroup
		started = make(chan struct{}, conc)
	)
	for w := range conc {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				msgID := uuid.NewString()
				var taskID string
				var err error
				for attempt := 0; attempt < 20; attempt++ {
					nodes := cl.live()
					n := nodes[(w+i+attempt)%len(nodes)]
					sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					taskID, err = snd.send(sctx, n.url, msgID, "slow 2")
					cancel()
					if err == nil {
						break
					}
					retried.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
				if err != nil {
					tb.Errorf("send %s: gave up: %v", msgID, err)
					return
				}
				mu.Lock()
				acked[msgID] = taskID
				mu.Unlock()
				if i == 0 {
					started <- struct{}{}
				}
			}
		})
	}
	// Kill once every worker has had a send answered and the next ones
	// are running.
	for range conc {
		<-started
	}
	time.Sleep(300 * time.Millisecond)
	dead := cl.nodes[victim]
	dead.kill()
	killedAt := time.Now()
	cl.mu.Lock()
	cl.nodes[victim] = nil
	cl.mu.Unlock()
	var claimed []string
	rows, err := db.Query(ctx, `SELECT task_id FROM a2atop_claims WHERE replica = $1`, dead.replica)
	if err != nil {
		tb.Fatal(err)
	}
	claimed, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	// Takeover: every task the dead replica held is finished or runs on a
	// survivor (a benchmark may poll; this is the figure).
	var takeover time.Duration
	for {
		var waiting int
		err := db.QueryRow(ctx, `SELECT count(*) FROM a2atop_tasks t
			WHERE t.id = ANY($1) AND NOT t.terminal AND NOT (t.running AND EXISTS (
				SELECT 1 FROM a2atop_claims c WHERE c.task_id = t.id AND c.replica <> $2))`, claimed, dead.replica).Scan(&waiting)
		if err != nil {
			tb.Fatal(err)
		}
		if waiting == 0 {
			takeover = time.Since(killedAt)
			break
		}
		if time.Since(killedAt) > time.Minute {
			tb.Fatalf("%d tasks of the killed replica not taken over after a minute", waiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	r := killRound{acked: len(acked), retried: int(retried.Load()), takeover: takeover, tasksTakenOver: len(claimed)}
	for msgID, taskID := range acked {
		var stored, state string
		err := db.QueryRow(ctx, `SELECT m.task_id, t.state FROM a2atop_messages m JOIN a2atop_tasks t ON t.id = m.task_id
			WHERE m.message_id = $1`, msgID).Scan(&stored, &state)
		if err != nil || stored != taskID || state != "completed" {
			r.lost++
			tb.Logf("acknowledged send %s (task %s): stored %q %q, %v", msgID, taskID, stored, state, err)
		}
	}
	// A task that no message id leads to was created a second time for a
	// send already stored.
	if err := db.QueryRow(ctx, `SELECT count(*) FROM a2atop_tasks t
		WHERE NOT EXISTS (SELECT 1 FROM a2atop_messages m WHERE m.task_id = t.id)`).Scan(&r.duplicates); err != nil {
		tb.Fatal(err)
	}
	// Bring the cluster back to full strength for the next round.
	cl.mu.Lock()
	cl.nodes[victim] = startChild(tb, "pg", cl.dsn, cl.lease)
	cl.mu.Unlock()
	return r
}

func startCluster(tb testing.TB, replicas int, lease time.Duration) *cluster {
	tb.Helper()
	srv := pgtest.Start(tb, pgtest.Options{})
	cl := &cluster{dsn: srv.NewDatabase(tb), lease: lease}
	for range replicas {
		cl.nodes = append(cl.nodes, startChild(tb, "pg", cl.dsn, lease))
	}
	return cl
}

// One of three replicas is killed with SIGKILL under load: no acknowledged
// send is lost, none is stored twice, and the killed replica's tasks run
// again on the survivors.
func TestKillReplicaUnderLoad(t *testing.T) {
	cl := startCluster(t, 3, time.Second)
	r := runKillRound(t, cl, 0, 8)
	t.Logf("acked %d, retried %d, %d tasks taken over in %v", r.acked, r.retried, r.tasksTakenOver, r.takeover)
	if r.lost != 0 || r.duplicates != 0 {
		t.Errorf("lost %d acknowledged sends, %d duplicates; want none", r.lost, r.duplicates)
	}
}

// BenchmarkKillReplica: 10 rounds of SIGKILL of one of three replicas
// under c=32 blocking sends (run with -benchtime 1x; the rounds are fixed).
func BenchmarkKillReplica(b *testing.B) {
	lease := 2 * time.Second
	if s := os.Getenv("A2ATOP_CLUSTERBENCH_LEASE_MS"); s != "" {
		var ms int
		fmt.Sscan(s, &ms)
		lease = time.Duration(ms) * time.Millisecond
	}
	cl := startCluster(b, 3, lease)
	var total killRound
	var takeovers []time.Duration
	for round := range 10 {
		r := runKillRound(b, cl, round%3, 32)
		b.Logf("round %d: acked %d, lost %d, duplicates %d, retried %d, %d tasks taken over in %v",
			round, r.acked, r.lost, r.duplicates, r.retried, r.tasksTakenOver, r.takeover)
		total.acked += r.acked
		total.lost += r.lost
		total.duplicates = r.duplicates // cumulative in the database
		total.tasksTakenOver += r.tasksTakenOver
		takeovers = append(takeovers, r.takeover)
	}
	sort.Slice(takeovers, func(i, j int) bool { return takeovers[i] < takeovers[j] })
	b.ReportMetric(float64(total.acked), "acked")
	b.ReportMetric(float64(total.lost), "lost")
	b.ReportMetric(float64(total.duplicates), "duplicates")
	b.ReportMetric(float64(total.tasksTakenOver), "taken-over")
	b.ReportMetric(takeovers[len(takeovers)/2].Seconds(), "takeover-p50-s")
	b.ReportMetric(takeovers[len(takeovers)-1].Seconds(), "takeover-max-s")
}
