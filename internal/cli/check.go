package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/pgstore"
)

const checkHelp = `check reads every task of the store and, when the store can check itself
(engine.Checker: the bbolt and PostgreSQL stores do), its indexes and logs
too; --db takes a postgres:// DSN as the other commands do. It prints
"no damage found" and exits 0, or names every damaged task and what is
inconsistent and exits 1; 3 when there is no store at the path or another
a2atop has it open (check needs the file to itself: stop that one first).
A damaged record fails only what needs it: list shows the other tasks and
names the damaged ones (exit 3), get of one says so, and an engine will not
start on a store whose unfinished tasks it cannot read unless given
--allow-damaged, which leaves those tasks as they are.`

// checkCommand checks a local store for damage.
func (c *cli) checkCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{Use: "check [--db PATH]", Short: "check the local task store for damage", Long: checkHelp}
	fs := cmd.Flags()
	db := fs.String("db", "", "task store `PATH`, or a PostgreSQL DSN postgres://USER@HOST/DB (default $A2ATOP_DB, else $XDG_DATA_HOME/a2atop/tasks.db or ~/.local/share/a2atop/tasks.db)")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if len(args) > 0 {
			return 0, usageErr("check: unexpected argument %q (give the store with --db PATH)", clean(args[0], 80))
		}
		path, isDefault, err := c.dbPath(*db)
		if err != nil {
			return 0, unreachable(err)
		}
		if path == ":memory:" {
			return 0, usageErr("check: a store in memory keeps nothing to check; give --db PATH")
		}
		if err := checkDSNShape(path); err != nil {
			return 0, err
		}
		if pgstore.IsDSN(path) {
			return c.checkDatabase(ctx, path) // store.go
		}
		if err := requireStore(path, isDefault); err != nil {
			return 0, err
		}
		st, err := localstore.Open(path, localstore.Options{NoCreate: true})
		switch {
		case errors.Is(err, localstore.ErrNotA2atop):
			// Damaged beyond opening: that is check's finding, not a failure to run.
			fmt.Fprintf(c.stdout, "%s: damaged: %s\n", path, oneLine(clean(err.Error(), 2000)))
			return exitTaskFailed, nil
		case err != nil:
			return 0, openErr(err, path, isDefault)
		}
		defer st.Close()
		return checkStore(ctx, st, path, c.stdout)
	})
	return cmd
}

// checkStore reports on w what is damaged in st: the tasks whose records
// cannot be read (found by listing every task, as any store can), then
// what the store's own Check finds when it has one. It returns exit status
// 0 when nothing is damaged, 1 when something is.
func checkStore(ctx context.Context, st engine.Store, name string, w io.Writer) (int, error) {
	r := engine.Reader{Store: st}
	req := a2a.ListRequest{PageSize: a2a.MaxPageSize}
	sound, problems := 0, 0
	seen := map[string]bool{}
	for {
		page, err := r.List(ctx, req)
		if err != nil {
			// The listing itself broke (a damaged index): report it, and
			// let Check say more.
			fmt.Fprintf(w, "damaged: the task list cannot be read: %s\n", oneLine(clean(err.Error(), 2000)))
			problems++
			break
		}
		sound += len(page.Tasks)
		for _, id := range page.Damaged {
			fmt.Fprintf(w, "damaged: task %s: its record cannot be read\n", oneLine(clean(id, 200)))
			problems++
		}
		if page.NextPageToken == "" || seen[page.NextPageToken] {
			break
		}
		seen[page.NextPageToken] = true
		req.PageToken = page.NextPageToken
	}
	if ch, ok := st.(engine.Checker); ok {
		if err := ch.Check(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(w, "inconsistent: %s\n", clean(line, 2000))
			}
			problems++
		}
	} else {
		fmt.Fprintln(w, "note: this store cannot check its indexes; only the records were read")
	}
	if problems > 0 {
		fmt.Fprintf(w, "%s: damaged (%d readable task(s)); copy the file before changing anything\n", name, sound)
		return exitTaskFailed, nil
	}
	fmt.Fprintf(w, "%s: no damage found (%d task(s))\n", name, sound)
	return exitOK, nil
}
