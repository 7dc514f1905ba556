package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/client"
)

// remoteFlags point a task command at a remote A2A agent instead of the
// local engine: --url (or $A2ATOP_URL), --protocol, --header (repeatable;
// also $A2ATOP_HEADERS, newline-separated, so tokens stay out of shell
// history), --ca-cert and --insecure.
type remoteFlags struct {
	url      string
	protocol string
	headers  headerList
	caCert   string
	insecure bool
}

func (f *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "act on the remote A2A agent at `URL` (base or agent card URL; default $A2ATOP_URL) instead of the local engine")
	fs.StringVar(&f.protocol, "protocol", "", "remote dialect `1.0|0.3` (default: what the agent card offers, 1.0 preferred)")
	fs.Var(&f.headers, "header", "send `'Name: value'` with every remote request (repeatable; also $A2ATOP_HEADERS, one per line)")
	fs.StringVar(&f.caCert, "ca-cert", "", "trust the PEM certificates in `FILE` as well as the system roots")
	fs.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification (unsafe)")
}

// agentURL is --url, else $A2ATOP_URL; "" means the local engine.
func (f *remoteFlags) agentURL(getenv func(string) string) string {
	if f.url != "" {
		return f.url
	}
	return strings.TrimSpace(getenv("A2ATOP_URL"))
}

type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }
func (h *headerList) Set(s string) error {
	if _, _, err := client.ParseHeader(s); err != nil {
		return err
	}
	*h = append(*h, s)
	return nil
}

// clientOptions builds the client's options from the flags and the
// environment; bad headers are usage errors, and --insecure is warned about.
func (c *cli) clientOptions(f *remoteFlags) (client.Options, error) {
	headers, err := client.ParseHeaders(append([]string{c.getenv("A2ATOP_HEADERS")}, f.headers...)...)
	if err != nil {
		return client.Options{}, usageErr("%v", err)
	}
	switch f.protocol {
	case "", "1.0", "0.3":
	default:
		return client.Options{}, usageErr("--protocol %q: use 1.0 or 0.3", clean(f.protocol, 40))
	}
	if f.insecure {
		fmt.Fprintln(c.stderr, "a2atop: warning: --insecure: TLS certificates are not verified; anyone on the path can read and change this traffic")
	}
	return client.Options{
		Protocol:   f.protocol,
		Headers:    http.Header(headers),
		CACertFile: f.caCert,
		Insecure:   f.insecure,
	}, nil
}

// openRemote is openService for --url: the remote agent as an a2a.Service.
func (c *cli) openRemote(ctx context.Context, f *serviceFlags, url string) (a2a.Service, func() error, error) {
	if f.db != "" || (f.agent != "" && f.agent != "demo") || f.workdir != "" {
		return nil, nil, usageErr("--db, --agent and --workdir apply to the local engine, not to --url")
	}
	opts, err := c.clientOptions(&f.remote)
	if err != nil {
		return nil, nil, err
	}
	cl, err := client.New(ctx, url, opts)
	if err != nil {
		return nil, nil, unreachable(fmt.Errorf("reach the agent at %s: %w", url, err))
	}
	return cl, cl.Close, nil
}

// discover prints what an agent's card says and which dialect a2atop
// would speak to it, and why.
func (c *cli) discover(ctx context.Context, args []string) (int, error) {
	fs := c.newFlagSet("discover")
	var rf remoteFlags
	fs.StringVar(&rf.protocol, "protocol", "", "force the dialect `1.0|0.3` (the reason then says so)")
	fs.Var(&rf.headers, "header", "send `'Name: value'` with the request (repeatable; also $A2ATOP_HEADERS)")
	fs.StringVar(&rf.caCert, "ca-cert", "", "trust the PEM certificates in `FILE` as well as the system roots")
	fs.BoolVar(&rf.insecure, "insecure", false, "skip TLS certificate verification (unsafe)")
	jsonOut := fs.Bool("json", false, "print the agent card as A2A v1.0 JSON")
	rest, handled, err := c.parse(fs, args, true)
	if handled || err != nil {
		return exitOK, err
	}
	url := ""
	switch {
	case len(rest) == 1:
		url = rest[0]
	case len(rest) == 0:
		url = strings.TrimSpace(c.getenv("A2ATOP_URL"))
		if url == "" {
			return 0, usageErr("discover: missing the agent URL")
		}
	default:
		return 0, usageErr("discover: one agent URL expected, got %d arguments", len(rest))
	}
	opts, err := c.clientOptions(&rf)
	if err != nil {
		return 0, err
	}
	d, err := client.Discover(ctx, url, opts)
	if err != nil {
		return 0, unreachable(err)
	}
	if *jsonOut {
		raw, err := wire.V10().EncodeCard(d.Card)
		if err != nil {
			return 0, err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", raw)
		return exitOK, err
	}
	return exitOK, printDiscovery(c.stdout, d)
}

// printDiscovery writes the card for people. Every string from the agent is
// cleaned: a card must not be able to move the cursor or hide text.
func printDiscovery(w io.Writer, d *client.Discovery) error {
	card := d.Card
	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-13s %s\n", label, value)
		}
	}
	line("name", clean(card.Name, 200))
	line("description", clean(card.Description, 2000))
	line("version", clean(card.Version, 80))
	if card.Provider != nil {
		line("provider", strings.TrimSpace(clean(card.Provider.Organization, 200)+" "+clean(card.Provider.URL, 500)))
	}
	line("card", clean(d.CardURL, 500))
	line("docs", clean(card.DocumentationURL, 500))
	line("dialect", fmt.Sprintf("A2A v%s at %s", d.Version, clean(d.Endpoint, 500)))
	line("why", clean(d.Reason, 500))
	if d.WatchFeed != "" {
		line("watch", "live feed of every task at "+clean(d.WatchFeed, 500)+" (the dashboard follows it instead of polling)")
	} else {
		line("watch", "no live feed: the dashboard polls for changes")
	}

	var caps []string
	if card.Capabilities.Streaming {
		caps = append(caps, "streaming")
	}
	if card.Capabilities.PushNotifications {
		caps = append(caps, "push notifications")
	}
	if card.Capabilities.StateTransitionHistory {
		caps = append(caps, "state transition history")
	}
	if card.SupportsExtendedCard {
		caps = append(caps, "extended card")
	}
	for _, e := range card.Capabilities.Extensions {
		ext := "extension " + clean(e.URI, 300)
		if e.Required {
			ext += " (required)"
		}
		caps = append(caps, ext)
	}
	if len(caps) == 0 {
		caps = append(caps, "none declared")
	}
	line("capabilities", strings.Join(caps, ", "))
	if len(card.DefaultInputModes) > 0 || len(card.DefaultOutputModes) > 0 {
		line("modes", "in "+cleanJoin(card.DefaultInputModes)+"; out "+cleanJoin(card.DefaultOutputModes))
	}

	b.WriteString("interfaces\n")
	for _, in := range card.AllInterfaces() {
		mark := " "
		if in.URL == d.Endpoint && normVersion(in.ProtocolVersion) == d.Version && strings.EqualFold(in.ProtocolBinding, a2a.BindingJSONRPC) {
			mark = "*"
		}
		tenant := ""
		if in.Tenant != "" {
			tenant = " tenant " + clean(in.Tenant, 100)
		}
		fmt.Fprintf(&b, "  %s %-9s v%-4s %s%s\n", mark, clean(in.ProtocolBinding, 20), clean(in.ProtocolVersion, 10), clean(in.URL, 500), tenant)
	}
	if len(card.Skills) > 0 {
		b.WriteString("skills\n")
		for _, s := range card.Skills {
			fmt.Fprintf(&b, "  %s: %s\n", clean(s.Name, 200), clean(s.Description, 1000))
			if len(s.Tags) > 0 {
				fmt.Fprintf(&b, "      tags: %s\n", cleanJoin(s.Tags))
			}
			for _, ex := range s.Examples {
				fmt.Fprintf(&b, "      e.g. %s\n", clean(ex, 300))
			}
		}
	}
	if len(card.SecuritySchemes) > 0 && string(card.SecuritySchemes) != "null" {
		b.WriteString("security\n")
		var schemes map[string]json.RawMessage
		if json.Unmarshal(card.SecuritySchemes, &schemes) == nil {
			for name, raw := range schemes {
				fmt.Fprintf(&b, "  %s: %s\n", clean(name, 100), clean(string(raw), 500))
			}
		} else {
			fmt.Fprintf(&b, "  %s\n", clean(string(card.SecuritySchemes), 1000))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cleanJoin(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s, 100)
	}
	return strings.Join(out, ", ")
}

func normVersion(v string) string {
	c, err := wire.ForVersion(v)
	if err != nil {
		return v
	}
	return c.Version()
}
