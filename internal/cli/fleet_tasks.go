package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/internal/config"
	"github.com/a2atop/a2atop/internal/localshare"
)

// list and get across a fleet: `list prod staging`, `list -A` (every agent
// of the config file), `get ID prod staging`. Each target is opened and
// asked concurrently; one that fails is reported on stderr and the others
// still print. Output has an AGENT column, and with --json each line is
// {"agent": NAME, "task": <A2A v1.0 Task>}, so the Task object itself stays
// a plain A2A Task.

// agentTaskJSON is one line of `list --json` or `get --json` over several
// targets.
type agentTaskJSON struct {
	Agent string          `json:"agent"`
	Task  json.RawMessage `json:"task"`
}

// fleetTargets resolves the target words of list or get (cmd); all is -A.
func (c *cli) fleetTargets(cmd string, words []string, all bool, tf *targetFlags) ([]namedTarget, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if all {
		if len(words) > 0 {
			return nil, usageErr("-A lists every agent: give it without target names")
		}
		words = []string{config.AllName}
	}
	return c.resolveFleet(cmd, words, cfg, tf)
}

// agentResult is what one target answered.
type agentResult struct {
	tasks []*a2a.Task
	err   error
}

// eachTarget runs fn on every target concurrently, each opened and closed
// on its own, and returns the results in target order.
func (c *cli) eachTarget(ctx context.Context, targets []namedTarget, fn func(ctx context.Context, svc a2a.Service) ([]*a2a.Task, error)) []agentResult {
	out := make([]agentResult, len(targets))
	var wg sync.WaitGroup
	for i, nt := range targets {
		wg.Go(func() {
			op, err := c.openTarget(ctx, nt.t, openHooks{onRole: func(localshare.Role) {}})
			if err != nil {
				out[i].err = err
				return
			}
			out[i].tasks, out[i].err = fn(ctx, op.svc)
			if cerr := op.close(); cerr != nil && out[i].err == nil {
				out[i].err = fmt.Errorf("closing: %w", cerr)
			}
		})
	}
	wg.Wait()
	return out
}

// printFleet prints every agent's tasks with their agent, and the
// failures on stderr. Exit status: 3 when an agent could not be reached,
// else 0.
func (c *cli) printFleet(targets []namedTarget, results []agentResult, jsonOut bool) (int, error) {
	code := exitOK
	var tw *tabwriter.Writer
	codec := wire.V10()
	n := 0
	for i, res := range results {
		name := targets[i].name
		if res.err != nil {
			fmt.Fprintf(c.stderr, "a2atop: agent %s: %s\n", name, oneLine(clean(res.err.Error(), 500)))
			code = exitUnreachable
			continue
		}
		for _, t := range res.tasks {
			if jsonOut {
				raw, err := codec.EncodeTask(t)
				if err != nil {
					return 0, fmt.Errorf("encode JSON: %w", err)
				}
				line, err := json.Marshal(agentTaskJSON{Agent: name, Task: raw})
				if err != nil {
					return 0, fmt.Errorf("encode JSON: %w", err)
				}
				if _, err := c.stdout.Write(append(line, '\n')); err != nil {
					return 0, err
				}
				n++
				continue
			}
			if tw == nil {
				tw = tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "AGENT\tID\tSTATE\tUPDATED\tSTATUS")
			}
			updated := "-"
			if !t.Status.Timestamp.IsZero() {
				updated = t.Status.Timestamp.Local().Format("2006-01-02 15:04:05")
			}
			status := strings.ReplaceAll(preview(statusText(t)), "\t", " ")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, strings.ReplaceAll(oneLine(clean(t.ID, 200)), "\t", " "), t.Status.State, updated, status)
			n++
		}
	}
	if jsonOut {
		return code, nil
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return 0, err
		}
	}
	if n == 0 {
		fmt.Fprintln(c.stdout, "no tasks")
	} else {
		fmt.Fprintf(c.stdout, "%d task(s) on %d agent(s)\n", n, len(targets))
	}
	return code, nil
}

// listFleet is `list` over several targets.
func (c *cli) listFleet(ctx context.Context, targets []namedTarget, req a2a.ListRequest, jsonOut bool) (int, error) {
	results := c.eachTarget(ctx, targets, func(ctx context.Context, svc a2a.Service) ([]*a2a.Task, error) {
		var tasks []*a2a.Task
		seen := map[string]bool{}
		r := req
		for {
			page, err := svc.List(ctx, r)
			if err != nil {
				return tasks, waitErr(ctx, err)
			}
			tasks = append(tasks, page.Tasks...)
			if page.NextPageToken == "" || seen[page.NextPageToken] {
				return tasks, nil
			}
			seen[page.NextPageToken] = true
			r.PageToken = page.NextPageToken
		}
	})
	return c.printFleet(targets, results, jsonOut)
}

// getCommand is `get ID [TARGET]...`: one target as before (flags), or
// the task of that id on each target named.
func (c *cli) getCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{Use: "get [flags] ID [URL | local | NAME]...", Short: "show a task (on each target given)"}
	fs := cmd.Flags()
	tf := addTargetFlags(fs, localKind|remoteKind)
	tf.local.readOnly = true
	hideAgentFlags(fs)
	jsonOut := fs.Bool("json", false, "print the task as A2A v1.0 JSON (over several targets: {\"agent\": NAME, \"task\": Task} per line)")
	all := fs.BoolP("all-agents", "A", false, "look on every agent of the config file")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if err := refuseAgentFlags("get", fs); err != nil {
			return 0, err
		}
		if len(args) == 0 {
			return 0, usageErr("get: missing the task ID")
		}
		id, words := strings.TrimSpace(args[0]), args[1:]
		if id == "" {
			return 0, usageErr("get: the task ID is empty")
		}
		if len(words) == 0 && !*all {
			t, err := tf.resolve("", c.getenv)
			if err != nil {
				return 0, err
			}
			out := c.printerFor(*jsonOut, tf)
			return c.withTarget(ctx, t, func(svc a2a.Service) (int, error) {
				full, err := resolveID(ctx, svc, id)
				if err != nil {
					return 0, err
				}
				t, err := svc.Get(ctx, a2a.GetRequest{ID: full})
				if err != nil {
					return 0, err
				}
				return exitOK, out.task(t)
			})
		}
		targets, err := c.fleetTargets("get", words, *all, tf)
		if err != nil {
			return 0, err
		}
		results := c.eachTarget(ctx, targets, func(ctx context.Context, svc a2a.Service) ([]*a2a.Task, error) {
			full, err := resolveID(ctx, svc, id)
			if err != nil {
				return nil, err
			}
			t, err := svc.Get(ctx, a2a.GetRequest{ID: full})
			if errors.Is(err, a2a.ErrTaskNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []*a2a.Task{t}, nil
		})
		found := 0
		for _, r := range results {
			found += len(r.tasks)
		}
		code, err := c.printFleet(targets, results, *jsonOut)
		if err == nil && found == 0 && code == exitOK {
			return 0, fmt.Errorf("get: no task %s on any of the %d agent(s)", clean(id, 80), len(targets))
		}
		return code, err
	})
	return cmd
}
