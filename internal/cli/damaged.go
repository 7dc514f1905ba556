package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/a2atop/a2atop/engine"
)

// A damaged record (engine.DamagedError) fails only the commands that need
// it: list prints every other task and names the damaged ones at the end,
// get of one says which and how to check, and both exit 3 (the store could
// not be read whole).

// damagedListed is the end of a listing that skipped damaged records.
type damagedListed struct{ ids []string }

func (d *damagedListed) Error() string {
	const show = 10
	var ids []string
	for _, id := range d.ids[:min(len(d.ids), show)] {
		ids = append(ids, oneLine(clean(id, 200)))
	}
	more := ""
	if len(d.ids) > show {
		more = fmt.Sprintf(" and %d more", len(d.ids)-show)
	}
	return fmt.Sprintf("%d stored task(s) could not be read and are not listed: %s%s", len(d.ids), strings.Join(ids, ", "), more)
}

// listedDamaged returns the error ending a listing that met damaged
// records, or nil.
func listedDamaged(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return &damagedListed{ids: ids}
}

// explainDamage turns an error about damaged records into exit status 3
// with the command that reports the damage; path is the store's.
func explainDamage(err error, path string) error {
	check := "`a2atop check`"
	if path != "" {
		check = "`a2atop check --db " + path + "`"
	}
	var listed *damagedListed
	if errors.As(err, &listed) {
		return unreachable(fmt.Errorf("%w: the store is damaged; %s reports the damage", err, check))
	}
	var damaged *engine.DamagedError
	if errors.As(err, &damaged) {
		return unreachable(fmt.Errorf("task %s is stored, but its record is damaged and cannot be read (%v): %s reports every damaged record",
			damaged.TaskID, damaged.Err, check))
	}
	return err
}
