// Package cli is a2atop's command line: the subcommands, serve and the
// dashboard launcher, behind one entry point, Run. Every command that
// reaches tasks opens its target (the local engine or a remote agent) from
// one set of flags (target.go). The process (os.Args, the standard
// streams, the environment, signals) is handed in by main, so tests run
// the whole command line in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/a2atop/a2atop/client"
)

// Version is the version `a2atop version` prints.
const Version = "0.1.0-dev"

// Exit statuses, documented in `a2atop help`.
const (
	exitOK          = 0 // done; a task completed or waits for input
	exitTaskFailed  = 1 // a task failed, was canceled or rejected; or the service refused the request
	exitUsage       = 2 // the command line is wrong
	exitUnreachable = 3 // the store or the server could not be reached
	exitAuth        = 4 // the agent refused the credentials or asked for some; or a2atop could not get a token
	exitInterrupted = 130
)

// Stdio is the standard streams of a run.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Run runs a2atop with args (without the program name) and returns its
// exit status. getenv is the whole environment a2atop reads ($A2ATOP_*,
// $NO_COLOR, $XDG_DATA_HOME, $HOME, ...); canceling ctx (SIGINT) stops a
// wait with status 130.
func Run(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) int {
	c := &cli{stdin: stdio.In, stdout: stdio.Out, stderr: stdio.Err, getenv: getenv}
	return c.main(ctx, args)
}

// cli holds a run's streams and environment; everything else is per command.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// configPath is --config; "" means $A2ATOP_CONFIG or the XDG path.
	configPath string
	// secrets are the credential values this run holds, kept out of
	// every error line (redact). A fleet opens its agents concurrently:
	// secretsMu guards the appends (addSecrets).
	secretsMu sync.Mutex
	secrets   []string
}

// exitError carries an exit status up to main with the one line to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func unreachable(err error) error { return &exitError{code: exitUnreachable, err: err} }

// longFlagWithOneDash finds pflag's complaint about -json, read as -j -s -o -n.
var longFlagWithOneDash = regexp.MustCompile(`in -[^-\s]{2,}`)

// errInterrupted ends a wait cut short by SIGINT.
var errInterrupted = errors.New("interrupted: stopped waiting (the task was not canceled)")

// main runs the command tree and turns errors into one line on stderr and
// an exit status.
func (c *cli) main(ctx context.Context, args []string) int {
	status := exitOK
	ran := false
	root := c.commandTree(&status, &ran)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return status
	}
	var ee *exitError
	if !ran && !errors.As(err, &ee) {
		// cobra refused the command line before any command ran.
		err = usageErr("%v (see `a2atop help`)", err)
	}
	return c.fail(err)
}

// fail prints err as one line and returns its exit status.
func (c *cli) fail(err error) int {
	code := exitTaskFailed
	msg := err.Error()
	var ee *exitError
	switch {
	case isAuthFailure(err):
		code = exitAuth
		msg += authHint
	case errors.As(err, &ee):
		code = ee.code
	case errors.Is(err, errInterrupted):
		code = exitInterrupted
	case client.Unreachable(err):
		// Retries are spent (client.RetryPolicyHelp): the agent, or the
		// local engine's host, was not reached or was too busy.
		code = exitUnreachable
	}
	fmt.Fprintf(c.stderr, "a2atop: %s\n", oneLine(clean(redact(msg, c.secretList()), 2000)))
	return code
}

// action adapts a command body to cobra: its exit status goes to *status.
func (c *cli) action(status *int, run func(ctx context.Context, args []string) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		code, err := run(cmd.Context(), args)
		*status = code
		return err
	}
}

// commandTree builds the commands; ran is set once a command's body runs.
func (c *cli) commandTree(status *int, ran *bool) *cobra.Command {
	root := c.dashboardCommand(status)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.Version = Version
	// Defined here, cobra's would also take -v.
	root.Flags().Bool("version", false, "print the version")
	root.PersistentFlags().StringVar(&c.configPath, "config", "", "read the config file at `PATH` (default $A2ATOP_CONFIG, else $XDG_CONFIG_HOME/a2atop/config.yaml)")
	root.SetVersionTemplate("a2atop {{.Version}}\n")
	root.PersistentPreRun = func(*cobra.Command, []string) { *ran = true }
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if strings.Contains(err.Error(), "shorthand") && longFlagWithOneDash.MatchString(err.Error()) {
			// pflag reads -json as -j -s -o -n.
			err = fmt.Errorf("%w; long flags take two dashes (--json, not -json)", err)
		}
		if cmd == root {
			return usageErr("%v (see `a2atop --help`)", err)
		}
		return usageErr("%s: %v (see `a2atop %s --help`)", cmd.Name(), err, cmd.Name())
	})
	root.AddCommand(
		c.sendCommand(status),
		c.getCommand(status),
		c.listCommand(status),
		c.cancelCommand(status),
		c.subscribeCommand(status),
		c.discoverCommand(status),
		c.serveCommand(status),
		c.configCommand(status),
		c.checkCommand(status),
		&cobra.Command{
			Use: "version", Short: "print the version", Args: noArgs("version"),
			Run: func(*cobra.Command, []string) { fmt.Fprintf(c.stdout, "a2atop %s\n", Version) },
		},
	)
	root.SetHelpCommand(&cobra.Command{
		Use: "help [SUBCOMMAND]", Short: "show help for a2atop or a subcommand",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				c.printHelp(c.stdout, root)
				return nil
			}
			cmd, _, err := root.Find(args)
			if err != nil || cmd == root || cmd.Name() != args[0] {
				return usageErr("help: unknown subcommand %q", clean(args[0], 80))
			}
			return cmd.Help()
		},
	})
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		switch {
		case cmd == root:
			c.printHelp(c.stdout, root)
		case cmd.Parent() == root && cmd.Name() != "completion":
			c.printUsage(c.stdout, cmd)
		default: // completion and its shells: cobra's own help
			defaultHelp(cmd, args)
		}
	})
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" {
			cmd.Use = "completion SHELL"
			cmd.Short = "print the tab-completion script for SHELL: bash, zsh, fish or powershell"
			// Without a shell cobra would print help and exit 0.
			cmd.RunE = func(_ *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usageErr("completion: unknown shell %q: use bash, zsh, fish or powershell", clean(args[0], 40))
				}
				return usageErr("completion: name the shell: bash, zsh, fish or powershell")
			}
		}
	}
	return root
}

func noArgs(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErr("%s takes no arguments", name)
		}
		return nil
	}
}

const helpFooter = `Exit status:
  0    done: the task completed or waits for input (answer it with send --task ID)
  1    the task failed, was canceled or rejected, or the request was refused
       (unknown task, task not waiting for an answer, not cancelable, ...)
  2    usage error: unknown subcommand or flag, a flag that does not apply
       to the target (--header without a URL, --db with one), missing TEXT
       or ID, bad --meta, a --db postgres:// DSN that does not parse
  3    the task store or the agent could not be reached: no store at the
       path (get and list never create one), a store held by an a2atop
       that does not share it, not an a2atop file, unreadable; a
       PostgreSQL database that is unreachable, refuses the connection or
       the login, or has a newer a2atop's schema; an agent
       that stayed unreachable through the retries, or answered busy (a
       full queue: nothing was stored, run the same command later)
       discover: the card names no interface a2atop speaks (it is shown
       anyway)
  4    authentication: the agent refused the credentials (HTTP 401/403),
       asked for some that were not given, or the OAuth2 token endpoint
       refused the client
  130  interrupted (Ctrl-C) while waiting: a2atop stops waiting but does not
       cancel the task. The local engine runs tasks only while an a2atop
       process has the store open: a task left running resumes (or, with
       its attempts used up, fails as interrupted) the next time send,
       cancel, subscribe or the dashboard opens the store; get and list only
       read it.

One engine per store: the first a2atop to open a store (a dashboard, serve,
or a waiting send) runs its engine and shares it on a socket beside the
file (PATH.sock, owner-only); every other a2atop on that store uses the
same engine, and when its process exits another one takes over.
`

func (c *cli) printHelp(w io.Writer, root *cobra.Command) {
	root.InheritedFlags() // merges the persistent --config into root.Flags()
	fmt.Fprintf(w, `a2atop %s: watch and steer A2A (Agent2Agent) tasks.

Usage:
  a2atop [flags] [URL]         open the dashboard (on the agent at URL)
  a2atop SUBCOMMAND [flags] ARGS

Subcommands:
`, Version)
	// In the order of use, not cobra's alphabetical one.
	for _, name := range []string{"send", "get", "list", "cancel", "subscribe", "discover", "serve", "check", "completion", "version", "help"} {
		for _, cmd := range root.Commands() {
			if cmd.Name() == name {
				fmt.Fprintf(w, "  %-28s %s\n", cmd.Use, cmd.Short)
			}
		}
	}
	fmt.Fprintf(w, `
Flags go after the subcommand; `+"`a2atop SUBCOMMAND --help`"+` lists them. Every
task command takes --db PATH (or $A2ATOP_DB; default
$XDG_DATA_HOME/a2atop/tasks.db, else ~/.local/share/a2atop/tasks.db; :memory:
keeps nothing) and --agent demo|exec (exec runs each message as a shell
command in --workdir DIR; never the default), or --url URL (or $A2ATOP_URL)
with --protocol, --binding, --header, --ca-cert and --insecure for a remote agent.

Remote credentials, used the way the agent's card asks (securitySchemes;
`+"`a2atop discover URL`"+` shows which one a2atop picks): a bearer token from
--token-file FILE or $A2ATOP_TOKEN; an API key from --api-key-file FILE or
$A2ATOP_API_KEY (--api-key-name, --api-key-in when the card names none);
OAuth2 client credentials with --client-id ID and the secret from
--client-secret-file FILE or $A2ATOP_CLIENT_SECRET (--token-url, --scope);
a client certificate with --cert FILE --key FILE. No flag takes a secret
itself (it would show in ps), and a2atop never prints one.

Dashboard flags:
%s
Examples:
  a2atop send echo hello               the demo agent echoes; prints the task
  a2atop send --stream slow 5          progress events as they happen
  a2atop send ask                      waits for input; prints the task ID
  a2atop send --task ID 2030-01-31     answers it
  a2atop list --state input-required   tasks waiting for an answer
  a2atop send --json echo hi | jq .    A2A v1.0 JSON, one object per line
  source <(a2atop completion bash)     tab completion (also zsh, fish)

%s`, flagUsages(root.Flags()), helpFooter)
}

// printUsage is a subcommand's --help: usage, summary, flags, exit statuses.
func (c *cli) printUsage(w io.Writer, cmd *cobra.Command) {
	cmd.InheritedFlags() // merges --config into cmd.Flags(), as parsing does
	fmt.Fprintf(w, "usage: a2atop %s\n\n%s.\n\nFlags:\n%s", cmd.Use, capitalize(cmd.Short), flagUsages(cmd.Flags()))
	if cmd.Name() == "send" {
		fmt.Fprint(w, "\nTEXT is the rest of the arguments, joined by spaces; `-` reads it from stdin.\nWithout --stream or --no-wait, send waits until the task ends or waits for input.\n")
	}
	if cmd.Long != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.Long)
	}
	if cmd.Flags().Lookup("url") != nil {
		// A command that can reach a remote agent says what it retries.
		fmt.Fprintf(w, "\n%s\n", client.RetryPolicyHelp)
	}
	fmt.Fprintf(w, "\n%s", commandFooter(cmd.Name()))
}

// unreachableFooter is the exit statuses 3 and 4 as every command that
// reads a store or reaches an agent has them.
const unreachableFooter = `  3    the task store or the agent could not be reached: no store at the
       path (get and list never create one), a store held by an a2atop
       that does not share it, not an a2atop file, unreadable; a
       PostgreSQL database that is unreachable, refuses the connection or
       the login, or has a newer a2atop's schema; an agent
       that stayed unreachable through the retries, or answered busy (a
       full queue: nothing was stored, run the same command later)
  4    authentication: the agent refused the credentials (HTTP 401/403),
       asked for some that were not given, or the OAuth2 token endpoint
       refused the client
`

// commandFooter is the exit statuses as they apply to one command: get,
// list and cancel do not wait for a task, so "the task failed" is not
// what their 1 means.
func commandFooter(name string) string {
	switch name {
	case "cancel":
		return `Exit status:
  0    the task is canceled (it was running, queued or waiting for input,
       or was canceled already)
  1    the task could not be canceled: unknown, or it ended otherwise
       (completed, failed, rejected)
  2    usage error
` + unreachableFooter
	case "get", "list":
		return `Exit status:
  0    the task(s) were printed, whatever their state
  1    the request was refused (unknown task, ambiguous ID prefix, ...)
  2    usage error
` + unreachableFooter
	}
	return helpFooter
}

// flagUsages lists a flag set in the order the flags were added (the
// target's first), without cobra's own --help flag.
func flagUsages(fs *pflag.FlagSet) string {
	shown := pflag.NewFlagSet("", pflag.ContinueOnError)
	shown.SortFlags = false
	was := fs.SortFlags
	fs.SortFlags = false
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			shown.AddFlag(f)
		}
	})
	fs.SortFlags = was
	// pflag spells a switch --json[=true|false]; blanks keep the columns.
	return strings.ReplaceAll(shown.FlagUsages(), "[=true|false]", "             ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// addSecrets remembers credential values to keep out of error lines.
func (c *cli) addSecrets(s ...string) {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	c.secrets = append(c.secrets, s...)
}

func (c *cli) secretList() []string {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	return append([]string(nil), c.secrets...)
}
