package localstore

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The writer drops the mapped file's pages now and then: a store written
// for long does not keep its whole file resident, whatever the number of
// tasks it holds.
func TestWriterReleasesMappedPages(t *testing.T) {
	s := openTemp(t, Options{NoSync: true})
	ctx := context.Background()
	n := 0
	commitNext := func() {
		c, err := benchTask(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for n < 3000 {
		commitNext()
	}
	size, err := fileSize(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	// Read every page, as a long-running store's reads and commits do
	// over time.
	err = s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error { return nil })
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if rss := mappedRSS(t, s.Path()); rss < size/2 {
		t.Fatalf("only %d of the file's %d bytes are resident after reading every page", rss, size)
	}
	// One more commit: within releaseEvery of it, the writer drops the
	// pages, though no commit follows.
	commitNext()
	deadline := time.Now().Add(10 * releaseEvery)
	for {
		rss := mappedRSS(t, s.Path())
		if rss < size/4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the file's %d bytes stay resident %s after the last commit", rss, size, 10*releaseEvery)
		}
		time.Sleep(10 * time.Millisecond) // polling the kernel's count
	}
	if _, err := s.Get(ctx, "00000001-7d3c-4a5b-9c1d-000000001eef"); err != nil {
		t.Fatalf("read after the release: %v", err)
	}
}

// mappedRSS is the resident size of this process's mappings of path.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = fields[len(fields)-1] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
