package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/config"
)

// reachTimeout bounds one agent's card fetch in `config list`.
const reachTimeout = 3 * time.Second

// configCommand is `a2atop config path|check|list`.
func (c *cli) configCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config path|check|list",
		Short: "show where the config file is, check it, or list its agents and whether they answer",
		RunE: c.action(status, func(_ context.Context, args []string) (int, error) {
			if len(args) == 0 {
				return 0, usageErr("config: name what to do: path, check or list")
			}
			return 0, usageErr("config: unknown subcommand %q: use path, check or list", clean(args[0], 40))
		}),
	}
	cmd.AddCommand(
		&cobra.Command{
			Use: "path", Short: "print where the config file is (or would be)", Args: noArgs("config path"),
			RunE: c.action(status, func(context.Context, []string) (int, error) {
				path, err := c.configFile()
				if err != nil {
					return 0, err
				}
				fmt.Fprintln(c.stdout, path)
				return exitOK, nil
			}),
		},
		&cobra.Command{
			Use: "check", Short: "validate the config file: every problem with its line and field (exit 2 if any)", Args: noArgs("config check"),
			RunE: c.action(status, func(context.Context, []string) (int, error) { return c.configCheck() }),
		},
		&cobra.Command{
			Use: "list", Short: "list the config's agents, sets and default, and whether each agent answers", Args: noArgs("config list"),
			RunE: c.action(status, func(ctx context.Context, _ []string) (int, error) { return c.configList(ctx) }),
		},
	)
	return cmd
}

// configFile is the config file's path: --config, $A2ATOP_CONFIG or XDG.
func (c *cli) configFile() (string, error) {
	if c.configPath != "" {
		return c.configPath, nil
	}
	p, err := config.Path(c.getenv)
	if err != nil {
		return "", usageErr("%v", err)
	}
	return p, nil
}

// configCheck prints every problem of the file, one per line, and exits 2
// when there is one.
func (c *cli) configCheck() (int, error) {
	path, err := c.configFile()
	if err != nil {
		return 0, err
	}
	cfg, ok, err := config.Load(path)
	var es config.Errors
	switch {
	case errors.As(err, &es):
		for _, e := range es {
			fmt.Fprintf(c.stderr, "a2atop: %s\n", oneLine(clean(e.Error(), 2000)))
		}
		return exitUsage, nil
	case err != nil:
		return 0, usageErr("%v", err)
	case !ok:
		fmt.Fprintf(c.stdout, "%s: no config file (a2atop works without one; see the README for an example)\n", path)
		return exitOK, nil
	}
	def := "local engine"
	if len(cfg.Default) > 0 {
		def = strings.Join(cfg.Default, ", ")
	}
	fmt.Fprintf(c.stdout, "%s: ok: %d agent(s), %d set(s), default: %s\n", path, len(cfg.Agents), len(cfg.Sets), def)
	return exitOK, nil
}

// configList prints the agents with their target, binding and whether
// they answer (each agent's card fetched concurrently, with a short
// timeout), then the sets and the default.
func (c *cli) configList(ctx context.Context) (int, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return 0, err
	}
	if len(cfg.Agents) == 0 {
		where := cfg.Path
		if where == "" {
			where, _ = c.configFile()
		}
		fmt.Fprintf(c.stdout, "no agents in %s: the dashboard opens the local engine\n", where)
		return exitOK, nil
	}
	reach := make([]string, len(cfg.Agents))
	var wg sync.WaitGroup
	for i, a := range cfg.Agents {
		wg.Go(func() { reach[i] = c.reachability(ctx, a) })
	}
	wg.Wait()
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tTARGET\tBINDING\tMODE\tREACHABLE")
	for i, a := range cfg.Agents {
		where := a.URL
		if a.DB != "" {
			where = "local · " + a.DB
		}
		binding := "auto"
		if a.Binding != "" || a.Protocol != "" {
			binding = strings.Trim(a.Binding+" "+a.Protocol, " ")
		}
		if a.DB != "" {
			binding = "-"
		}
		mode := "read-write"
		if a.ReadOnly {
			mode = "read-only"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(a.Name, 40), clean(where, 200), binding, mode, clean(reach[i], 200))
	}
	_ = tw.Flush()
	for _, name := range sortedSetNames(cfg.Sets) {
		fmt.Fprintf(&b, "set %s: %s\n", name, strings.Join(cfg.Sets[name], " "))
	}
	def := "local engine"
	if len(cfg.Default) > 0 {
		def = strings.Join(cfg.Default, " ")
	}
	fmt.Fprintf(&b, "default: %s\n", def)
	_, err = c.stdout.Write(b.Bytes())
	return exitOK, err
}

func sortedSetNames(sets map[string][]string) []string {
	return slices.Sorted(maps.Keys(sets))
}

// reachability says whether agent a answers: a remote agent's card is
// fetched (with its headers and auth); a local store is looked for.
func (c *cli) reachability(ctx context.Context, a config.Agent) string {
	if a.DB != "" {
		if _, err := os.Stat(a.DB); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "no store yet (created on first use)"
			}
			return "✗ " + oneLine(err.Error())
		}
		return "✓ store exists"
	}
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	lines, err := configHeaders(ctx, &a, c.getenv)
	if err != nil {
		return "✗ " + oneLine(err.Error())
	}
	h, err := client.ParseHeaders(lines...)
	if err != nil {
		return "✗ " + oneLine(err.Error())
	}
	// No forced dialect: with one, a missing card is not an error, and the
	// card is what answers here.
	opts := client.Options{Headers: http.Header(h), Timeout: reachTimeout, NoJournal: true}
	creds, err := credentialsFromConfig(ctx, a.Auth, c.getenv)
	if err != nil {
		return "✗ auth: " + oneLine(redact(err.Error(), secretsOf(creds)))
	}
	if _, err := authOptions(ctx, a.URL, creds, &opts); err != nil {
		return "✗ auth: " + oneLine(redact(err.Error(), secretsOf(creds)))
	}
	d, err := client.Discover(ctx, a.URL, opts)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Sprintf("✗ no answer within %s", reachTimeout)
		}
		return "✗ " + oneLine(redact(err.Error(), secretsOf(creds)))
	}
	name := ""
	if d.Card != nil {
		name = d.Card.Name + " · "
	}
	return fmt.Sprintf("✓ %sA2A v%s", name, d.Version)
}
