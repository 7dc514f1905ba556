package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/a2atop/a2atop/engine"
)

// engineLimits are the local engine's queue bounds, from --max-running and
// --max-queued. They apply when this process runs the engine (it hosts the
// store); an a2atop that uses another one's engine through its socket gets
// that engine's limits.
type engineLimits struct {
	maxRunning int // 0: the agent's own limit (demo 64, exec 4)
	maxQueued  int
	// allowDamaged runs the engine on a store with damaged unfinished
	// tasks, leaving those alone (see checkHelp).
	allowDamaged bool
	// keep and keepCount bound the finished tasks kept: by the age of
	// their last change (0: any age) and by number (0: any number).
	keep      time.Duration
	keepCount int
}

func (l *engineLimits) register(fs *pflag.FlagSet) {
	fs.IntVar(&l.maxRunning, "max-running", 0, "run at most `N` tasks at once when this a2atop runs the engine (default: the agent's limit, demo 64, exec 4); high priority may use a quarter more")
	fs.IntVar(&l.maxQueued, "max-queued", engine.DefaultMaxQueued, "let at most `N` tasks wait for a slot; past that a send is refused as busy (exit 3)")
	fs.DurationVar(&l.keep, "keep", engine.DefaultRetention, "delete finished tasks whose last change is older than `DURATION` (e.g. 720h); 0 keeps them whatever their age (when this a2atop runs the engine)")
	fs.IntVar(&l.keepCount, "keep-count", 0, "keep at most `N` finished tasks, deleting the oldest first (0: no limit)")
	fs.BoolVar(&l.allowDamaged, "allow-damaged", false, "run the engine on a store whose unfinished tasks cannot all be read, leaving the damaged ones alone (see `a2atop check`)")
}

func (l engineLimits) check() error {
	if l.maxRunning < 0 {
		return usageErr("--max-running %d: give a number of tasks, 1 or more", l.maxRunning)
	}
	if l.maxQueued < 1 {
		return usageErr("--max-queued %d: give a number of tasks, 1 or more", l.maxQueued)
	}
	if l.keep < 0 {
		return usageErr("--keep %s: give how long finished tasks are kept (e.g. 720h), or 0 to keep them whatever their age", l.keep)
	}
	if l.keepCount < 0 {
		return usageErr("--keep-count %d: give a number of tasks, or 0 for no limit", l.keepCount)
	}
	return nil
}

func (l engineLimits) options() engine.Options {
	keep := l.keep
	if keep == 0 {
		keep = engine.RetainForever
	}
	return engine.Options{MaxRunning: l.maxRunning, MaxQueued: l.maxQueued, AllowDamaged: l.allowDamaged,
		Retention: keep, RetainCount: l.keepCount}
}
