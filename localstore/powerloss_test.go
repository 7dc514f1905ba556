//go:build linux

package localstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/google/uuid"
)

// powerImage is what a power loss may leave: the file and its redo log as
// of their last syncs, and as the page cache held them at the loss.
type powerImage struct {
	syncedStore, syncedRedo []byte
	store, redo             []byte
}

// TestPowerLoss cuts the power under a store taking echo sends from 8
// committers (after a Sweep, so that the log carries a Sweep's deletes
// too), by rebuilding its two files the way a power loss may leave them:
// what was synced last, with any mix of the writes since (whole pages,
// the older or the newer version, or torn sector by sector, the meta pages
// and the log's header slots included). Every rebuilt store must open,
// pass Check, hold every task acknowledged before the cut, and none of the
// tasks the acknowledged Sweep deleted.
//
// A SIGKILL cannot test this: the page cache survives the process, and
// bbolt with NoSync then loses nothing even without the log.
func TestPowerLoss(t *testing.T) {
	if !redoSupported {
		t.Skip("no redo log on this system")
	}
	for trial := range 4 {
		t.Run(fmt.Sprint("trial", trial), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(trial), 17))
			img, acked, swept := runUntilPowerLoss(t, rng)
			for mix := range 6 {
				dir := t.TempDir()
				path := filepath.Join(dir, "tasks.db")
				if err := os.WriteFile(path, mixWrites(rng, img.syncedStore, img.store, 4096), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(redoPath(path), mixWrites(rng, img.syncedRedo, img.redo, 512), 0o600); err != nil {
					t.Fatal(err)
				}
				checkRecovered(t, fmt.Sprint("mix ", mix), path, acked, swept)
			}
		})
	}
}

// runUntilPowerLoss fills a store and cuts the power at a random moment
// while sends are in flight. It returns the image, the ids of the tasks
// acknowledged before the cut, and the tasks the Sweep deleted.
func runUntilPowerLoss(t *testing.T, rng *rand.Rand) (img powerImage, acked []string, swept map[string]bool) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	var mu sync.Mutex // held by the cut: no sync completes meanwhile
	var syncErr error
	var syncedStore, syncedRedo []byte // the images as of the last syncs
	opts := Options{afterSync: func(file string) {
		mu.Lock()
		defer mu.Unlock()
		name := path
		if file == "redo" {
			name = redoPath(path)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			syncErr = err
		}
		if file == "redo" {
			syncedRedo = b
		} else {
			syncedStore = b
		}
	}}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eng, err := engine.New(s, agents.NewDemo(), engine.Options{Retention: engine.RetainForever})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var ackMu sync.Mutex
	var done []string
	send := func(n int) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for ctx.Err() == nil {
					ackMu.Lock()
					if n == 0 {
						ackMu.Unlock()
						return
					}
					n--
					ackMu.Unlock()
					id, err := echoTask(ctx, eng)
					if err != nil {
						return
					}
					ackMu.Lock()
					done = append(done, id)
					ackMu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	send(200)
	first := done
	if len(first) != 200 {
		t.Fatalf("%d of 200 first sends done", len(first))
	}
	// A small Sweep: its record, not a checkpoint, carries it to the cut
	// unless the sends after it reach one first.
	if n, err := s.Sweep(ctx, time.Time{}, 190); err != nil || n != 10 {
		t.Fatalf("Sweep = %d, %v; want 10", n, err)
	}
	swept = map[string]bool{}
	for _, id := range first {
		if _, err := s.Get(ctx, id); errors.Is(err, a2a.ErrTaskNotFound) {
			swept[id] = true
		}
	}
	done = nil

	// The cut: at a random count of acknowledged sends, with 8 in flight.
	cutAt := 1 + rng.IntN(150)
	go send(1 << 30)
	for {
		ackMu.Lock()
		n := len(done)
		ackMu.Unlock()
		if n >= cutAt {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	ackMu.Lock()
	acked = append(acked, done...)
	ackMu.Unlock()
	img.store, err = os.ReadFile(path)
	if err == nil {
		img.redo, err = os.ReadFile(redoPath(path))
	}
	img.syncedStore, img.syncedRedo = syncedStore, syncedRedo
	mu.Unlock()
	cancel()
	if err != nil || syncErr != nil {
		t.Fatal(err, syncErr)
	}
	return img, acked, swept
}

func echoTask(ctx context.Context, eng *engine.Engine) (string, error) {
	res, err := eng.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}}})
	if err != nil {
		return "", err
	}
	if res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		return "", fmt.Errorf("echo answered %+v", res)
	}
	return res.Task.ID, nil
}

// mixWrites rebuilds a file after a power loss: synced, with each unit
// that differs in the page cache's version (current) either kept, taken
// from current, or torn (each 512-byte sector from either). A file that
// grew keeps its new size (bbolt syncs a grown size at once), with zeros
// where the new blocks did not reach the disk.
func mixWrites(rng *rand.Rand, synced, current []byte, unit int) []byte {
	out := make([]byte, max(len(synced), len(current)))
	copy(out, synced)
	for off := 0; off < len(out); off += unit {
		end := min(off+unit, len(out))
		var cur []byte
		if off < len(current) {
			cur = current[off:min(end, len(current))]
		}
		if bytes.Equal(out[off:off+len(cur)], cur) {
			continue
		}
		switch rng.IntN(3) {
		case 0: // the write never reached the disk
		case 1:
			copy(out[off:], cur)
		default:
			for sec := 0; sec < len(cur); sec += 512 {
				if rng.IntN(2) == 0 {
					copy(out[off+sec:], cur[sec:min(sec+512, len(cur))])
				}
			}
		}
	}
	return out
}

// checkRecovered opens a rebuilt store and checks what it holds.
func checkRecovered(t *testing.T, name, path string, acked []string, swept map[string]bool) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, id := range acked {
		rec, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("%s: acknowledged task %s: %v", name, id, err)
		}
		if rec.Task.Status.State != a2a.StateCompleted {
			t.Fatalf("%s: acknowledged task %s is %s", name, id, rec.Task.Status.State)
		}
	}
	for id := range swept {
		if _, err := s.Get(ctx, id); !errors.Is(err, a2a.ErrTaskNotFound) {
			t.Fatalf("%s: swept task %s is back (%v)", name, id, err)
		}
	}
	// The recovered store takes commits.
	eng, err := engine.New(s, agents.NewDemo(), engine.Options{Retention: engine.RetainForever})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := echoTask(ctx, eng); err != nil {
		t.Fatalf("%s: send after recovery: %v", name, err)
	}
}
