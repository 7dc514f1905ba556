//go:build unix

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/loadgen"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
)

// BenchmarkDashboardCPUUnderStreams measures the dashboard's CPU (the
// real binary, in tmux, on `a2atop serve`'s live feed) while 64 clients
// each stream `burst 200` from that serve at once: the dashboard's CPU
// time over the wall time of the streams, as a percentage of one core
// (issue 14's target: under 15%), and the status updates per second it
// was fed. With A2ATOP_BENCH_BEFORE=BIN (an a2atop built from an earlier
// commit) a dashboard of each binary watches the same serve in every
// round, so both are measured under the same load.
//
//	go test ./internal/cli/ -run '^$' -bench DashboardCPUUnderStreams -benchtime 6x -v
func BenchmarkDashboardCPUUnderStreams(b *testing.B) {
	const streams, burst = 64, 200
	bin := binary.Build(b)
	dir := b.TempDir()
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL=", "A2ATOP_DB=", "A2ATOP_CONFIG=" + filepath.Join(dir, "none.yaml")}
	sp := startServeB(b, bin, filepath.Join(dir, "serve.db"), env)
	type dashboard struct {
		name     string
		tm       *tmux.Term
		pid      int
		pct, ups []float64
	}
	bins := map[string]string{"now": bin}
	if before := os.Getenv("A2ATOP_BENCH_BEFORE"); before != "" {
		bins["before"] = before
	}
	var dashes []*dashboard
	for _, name := range []string{"before", "now"} {
		if path, ok := bins[name]; ok {
			tm := tmux.Start(b, append([]string{"NO_COLOR=1"}, env...), path, "--url", sp.url)
			tm.WaitFor("connected · live feed")
			dashes = append(dashes, &dashboard{name: name, tm: tm, pid: dashboardPID(b, tm)})
		}
	}
	lg := loadgen.New(sp.url, streams)
	defer lg.Close()

	for b.Loop() {
		cpu0 := make([]time.Duration, len(dashes))
		for i, d := range dashes {
			cpu0[i] = procCPU(b, d.pid)
		}
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, streams)
		for range streams {
			wg.Go(func() {
				if _, err := lg.Stream(context.Background(), fmt.Sprintf("burst %d", burst)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		wall := time.Since(t0)
		for i, d := range dashes {
			d.pct = append(d.pct, 100*float64(procCPU(b, d.pid)-cpu0[i])/float64(wall))
			d.ups = append(d.ups, float64(streams*burst)/wall.Seconds())
		}
	}
	b.StopTimer()
	for _, d := range dashes {
		if s := d.tm.Screen(); !strings.Contains(s, "connected") {
			b.Fatalf("the %s dashboard lost its agent:\n%s", d.name, s)
		}
		lo, med, hi := minMedMax(d.pct)
		b.ReportMetric(med, d.name+"-dashboard-cpu-%")
		b.Logf("%s: dashboard CPU while %d streams of burst %d run: min/median/max %.1f/%.1f/%.1f %% of a core", d.name, streams, burst, lo, med, hi)
		lo, med, hi = minMedMax(d.ups)
		b.Logf("%s: status updates streamed: %.0f/%.0f/%.0f per second", d.name, lo, med, hi)
	}
}

// minMedMax is the minimum, median and maximum of xs.
func minMedMax(xs []float64) (lo, med, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}
