package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/auth"
	"github.com/spf13/cobra"
)

// discoverCommand prints what an agent's card says and which dialect
// a2atop would speak to it, and why.
func (c *cli) discoverCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{Use: "discover [flags] URL", Short: "show a remote agent's card and the dialect a2atop would speak"}
	fs := cmd.Flags()
	tf := addTargetFlags(fs, remoteKind)
	jsonOut := fs.Bool("json", false, "print the agent card as A2A v1.0 JSON")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if len(args) > 1 {
			return 0, usageErr("discover: one agent URL expected, got %d arguments", len(args))
		}
		url := ""
		if len(args) == 1 {
			url = args[0]
		}
		t, err := tf.resolve(url, c.getenv)
		if err != nil {
			return 0, usageErr("discover: %v", err)
		}
		if t.remote.insecure {
			c.warn(openHooks{}, insecureWarning)
		}
		opts := t.remote.clientOptions()
		opts.Getenv = c.getenv
		if _, err := c.remoteAuth(ctx, t.remote, &opts, func(msg string) { c.warn(openHooks{}, msg) }); err != nil {
			return 0, err
		}
		d, err := client.Discover(ctx, t.remote.url, opts)
		var none *client.NoInterfaceError
		if err != nil && (d == nil || !errors.As(err, &none)) {
			return 0, unreachable(err)
		}
		// A card a2atop cannot speak to is still shown, then the error
		// (exit 3, as send would give).
		if *jsonOut {
			raw, jerr := wire.V10().EncodeCard(d.Card)
			if jerr = writeJSONLine(c.stdout, raw, jerr); jerr != nil {
				return 0, jerr
			}
		} else if perr := printDiscovery(c.stdout, d, t.remote.creds); perr != nil {
			return 0, perr
		}
		if err != nil {
			return 0, unreachable(err)
		}
		return exitOK, nil
	})
	return cmd
}

// printDiscovery writes the card for people. Every string from the agent is
// cleaned: a card must not be able to move the cursor or hide text.
func printDiscovery(w io.Writer, d *client.Discovery, creds auth.Credentials) error {
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
	if d.Endpoint != "" {
		line("dialect", fmt.Sprintf("A2A v%s at %s", d.Version, clean(d.Endpoint, 500)))
		line("binding", d.Binding)
	} else {
		line("dialect", "none a2atop speaks")
		line("binding", "none a2atop speaks (JSONRPC, HTTP+JSON): the card offers "+clean(client.OfferedBindings(card.AllInterfaces()), 1000))
	}
	line("why", clean(d.Reason, 500))
	line("auth", clean(authChoice(card, creds), 1000))
	if d.WatchFeed != "" {
		line("watch", "live feed of every task at "+clean(d.WatchFeed, 500)+" (the dashboard follows it instead of polling)")
	} else {
		line("watch", "no live feed: the dashboard polls for changes")
	}

	line("capabilities", strings.Join(capabilities(card), ", "))
	if len(card.DefaultInputModes) > 0 || len(card.DefaultOutputModes) > 0 {
		line("modes", "in "+cleanJoin(card.DefaultInputModes)+"; out "+cleanJoin(card.DefaultOutputModes))
	}

	b.WriteString("interfaces\n")
	for _, in := range card.AllInterfaces() {
		mark := " "
		if in.URL != "" && in.URL == d.Endpoint && normVersion(in.ProtocolVersion) == d.Version && sameBinding(in.ProtocolBinding, d.Binding) {
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
		schemes, err := auth.ParseSchemes(card.SecuritySchemes)
		if err != nil {
			fmt.Fprintf(&b, "  unreadable: %s\n", clean(err.Error(), 300))
		}
		for _, s := range schemes {
			fmt.Fprintf(&b, "  %s\n", clean(s.String(), 500))
		}
		if reqs := auth.ParseRequirements(card.Security); len(reqs) > 0 {
			alts := make([]string, len(reqs))
			for i, r := range reqs {
				alts[i] = clean(strings.Join(r, " + "), 300)
			}
			fmt.Fprintf(&b, "  required: %s\n", strings.Join(alts, " or "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// capabilities lists what a card declares, cleaned, for people.
func capabilities(card *a2a.AgentCard) []string {
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
	return caps
}

func cleanJoin(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s, 100)
	}
	return strings.Join(out, ", ")
}

// authChoice says which scheme a2atop will use with the card, e.g.
// `oauth2 "cc" (client credentials at https://idp/token)`, or `none: the
// card asks for …`.
func authChoice(card *a2a.AgentCard, creds auth.Credentials) string {
	schemes, _ := auth.ParseSchemes(card.SecuritySchemes)
	return auth.Choose(schemes, auth.ParseRequirements(card.Security), creds).Describe()
}

// sameBinding compares a card's binding name with a2a's (JSONRPC,
// HTTP+JSON), case-insensitively.
func sameBinding(card, chosen string) bool {
	return strings.EqualFold(strings.TrimSpace(card), chosen)
}

func normVersion(v string) string {
	c, err := wire.ForVersion(v)
	if err != nil {
		return v
	}
	return c.Version()
}
