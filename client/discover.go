package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// Well-known card paths: the current one, then the v0.2.x one.
const (
	CardPath       = "/.well-known/agent-card.json"
	LegacyCardPath = "/.well-known/agent.json"
)

// maxCardSize bounds an agent card; real ones are a few KiB.
const maxCardSize = 4 << 20

// Discovery is what discovery learned about an agent: its card, and the
// interface and dialect the client will speak, with the reason in words.
type Discovery struct {
	// CardURL is where the card was found ("" when none was found and the
	// dialect was forced).
	CardURL string
	Card    *a2a.AgentCard
	// Endpoint is the JSON-RPC URL requests go to.
	Endpoint string
	// Version is "1.0" or "0.3".
	Version string
	// Tenant is the chosen v1.0 interface's tenant, if any.
	Tenant string
	// Reason explains the choice, e.g. "v1.0: first JSONRPC interface in
	// supportedInterfaces".
	Reason string
	// WatchFeed is the URL of a2atop's Watch feed when the card advertises
	// it (extension a2a.WatchExtensionURI, its "path" param resolved
	// against the agent's base URL), else "". Watch uses it instead of
	// polling.
	WatchFeed string
}

// Discover fetches the agent card from rawURL (a base URL or the card's own
// URL) and chooses the interface: the first JSONRPC entry of
// supportedInterfaces with a version a2atop speaks (1.0 preferred), else the
// card's v0.3 fields. opts.Protocol forces a dialect; with it, a missing
// card is not fatal and rawURL itself becomes the endpoint.
func Discover(ctx context.Context, rawURL string, opts Options) (*Discovery, error) {
	opts = opts.withDefaults()
	if opts.Protocol != "" {
		codec, err := wire.ForVersion(opts.Protocol)
		if err != nil {
			return nil, fmt.Errorf("--protocol %q: want 1.0 or 0.3", opts.Protocol)
		}
		opts.Protocol = codec.Version()
	}
	hc, err := opts.httpClient()
	if err != nil {
		return nil, err
	}
	return discover(ctx, hc, rawURL, opts)
}

func discover(ctx context.Context, hc *http.Client, rawURL string, opts Options) (*Discovery, error) {
	u, err := parseAgentURL(rawURL)
	if err != nil {
		return nil, err
	}
	card, cardURL, cardErr := fetchCard(ctx, hc, u, opts)
	if cardErr != nil {
		if opts.Protocol == "" {
			return nil, cardErr
		}
		// A forced dialect can do without a card: talk to the URL given.
		return &Discovery{
			Card:     &a2a.AgentCard{Name: u.Host, URL: u.String()},
			Endpoint: u.String(),
			Version:  opts.Protocol,
			Reason:   fmt.Sprintf("v%s: forced with --protocol; no agent card (%v), so requests go to %s", opts.Protocol, cardErr, u),
		}, nil
	}
	d, err := chooseInterface(card, cardURL, opts.Protocol)
	if err != nil {
		return nil, fmt.Errorf("agent card at %s: %w", cardURL, err)
	}
	d.Card, d.CardURL = card, cardURL
	d.WatchFeed = watchFeedURL(card, cardURL)
	return d, nil
}

func parseAgentURL(rawURL string) (*url.URL, error) {
	s := strings.TrimSpace(rawURL)
	if s == "" {
		return nil, errors.New("agent URL is empty")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("agent URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("agent URL %q: scheme must be http or https", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("agent URL %q: no host", rawURL)
	}
	return u, nil
}

// cardCandidates lists where to look: the URL itself when it names a JSON
// file, else the well-known paths under the URL's path, then at the root.
func cardCandidates(u *url.URL) []string {
	if strings.HasSuffix(u.Path, ".json") {
		return []string{u.String()}
	}
	var out []string
	add := func(prefix string) {
		for _, p := range []string{CardPath, LegacyCardPath} {
			c := *u
			c.Path = strings.TrimSuffix(prefix, "/") + p
			c.RawQuery, c.Fragment = "", ""
			out = append(out, c.String())
		}
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" {
		add(p)
	}
	add("")
	return out
}

func fetchCard(ctx context.Context, hc *http.Client, u *url.URL, opts Options) (*a2a.AgentCard, string, error) {
	var errs []string
	for _, cand := range cardCandidates(u) {
		var card *a2a.AgentCard
		err := withRetry(ctx, opts.Retry, func() error {
			var err error
			card, err = fetchOneCard(ctx, hc, cand, opts)
			return err
		})
		if err == nil {
			return card, cand, nil
		}
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("agent card: %w", ctx.Err())
		}
		errs = append(errs, err.Error())
		var nf notFoundError
		if !errors.As(err, &nf) {
			// Unreachable host or broken card: trying the other paths
			// would only repeat the failure.
			break
		}
	}
	return nil, "", fmt.Errorf("no agent card found: %s", strings.Join(errs, "; "))
}

type notFoundError struct{ url string }

func (e notFoundError) Error() string { return e.url + ": 404 Not Found" }

func fetchOneCard(ctx context.Context, hc *http.Client, cardURL string, opts Options) (*a2a.AgentCard, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cardURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cardURL, err)
	}
	for k, vs := range opts.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transient(netError("GET", cardURL, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, notFoundError{cardURL}
	}
	body, err := readBounded(resp.Body, maxCardSize)
	if err != nil {
		if ctx.Err() == nil && !strings.Contains(err.Error(), "larger than") {
			err = transient(err) // cut in the middle of the card
		}
		return nil, fmt.Errorf("GET %s: %w", cardURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusTransient(resp, statusError("GET", cardURL, resp, body))
	}
	if isHTML(resp.Header.Get("Content-Type"), body) {
		return nil, fmt.Errorf("GET %s: got an HTML page, not an agent card", cardURL)
	}
	card, err := wire.V10().DecodeCard(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: bad agent card: %w", cardURL, err)
	}
	return card, nil
}

// chooseInterface picks the endpoint and dialect from a card.
func chooseInterface(card *a2a.AgentCard, cardURL, force string) (*Discovery, error) {
	versions := []string{a2a.Version10, a2a.Version03}
	if force != "" {
		versions = []string{force}
	}
	resolve := func(ref string) string {
		base, err := url.Parse(cardURL)
		if err != nil {
			return ref
		}
		r, err := url.Parse(ref)
		if err != nil {
			return ref
		}
		return base.ResolveReference(r).String()
	}
	for _, v := range versions {
		for i, in := range card.Interfaces {
			if !isJSONRPC(in.ProtocolBinding) || normVersion(in.ProtocolVersion) != v || in.URL == "" {
				continue
			}
			reason := fmt.Sprintf("v%s: first JSONRPC interface with protocolVersion %s in supportedInterfaces (entry %d of %d)", v, v, i+1, len(card.Interfaces))
			if i == 0 {
				reason = fmt.Sprintf("v%s: first JSONRPC interface in supportedInterfaces", v)
			}
			if force != "" {
				reason += ", forced with --protocol"
			} else if v == a2a.Version03 {
				reason += " (no v1.0 JSONRPC interface)"
			}
			return &Discovery{Endpoint: resolve(in.URL), Version: v, Tenant: in.Tenant, Reason: reason}, nil
		}
	}
	// The v0.3 fields: url with preferredTransport, then additionalInterfaces.
	if force == "" || force == a2a.Version03 || len(card.Interfaces) == 0 {
		v := a2a.Version03
		if force != "" {
			v = force
		}
		suffix := ""
		if force != "" && force != a2a.Version03 {
			suffix = fmt.Sprintf(", spoken as v%s because --protocol forced it", force)
		} else if force != "" {
			suffix = ", forced with --protocol"
		}
		if card.URL != "" && (card.PreferredTransport == "" || isJSONRPC(card.PreferredTransport)) {
			return &Discovery{Endpoint: resolve(card.URL), Version: v,
				Reason: "v0.3: the card's url (preferredTransport " + orDefault(card.PreferredTransport, "JSONRPC by default") + ")" + suffix}, nil
		}
		for _, in := range card.AdditionalInterfaces {
			if isJSONRPC(in.ProtocolBinding) && in.URL != "" {
				return &Discovery{Endpoint: resolve(in.URL), Version: v,
					Reason: "v0.3: the first JSONRPC entry of additionalInterfaces" + suffix}, nil
			}
		}
	}
	if force != "" {
		return nil, fmt.Errorf("no JSONRPC interface for protocol %s", force)
	}
	return nil, errors.New("no JSONRPC interface with protocol version 1.0 or 0.3 (a2atop speaks JSON-RPC only)")
}

func isJSONRPC(binding string) bool {
	b := strings.ToUpper(strings.TrimSpace(binding))
	return b == a2a.BindingJSONRPC || b == "JSON-RPC" || b == "JSON_RPC"
}

func normVersion(v string) string {
	c, err := wire.ForVersion(v)
	if err != nil {
		return ""
	}
	return c.Version()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readBounded reads at most limit bytes, failing clearly beyond.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("response is larger than %d bytes", limit)
	}
	return body, nil
}

func isHTML(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return true
	}
	head := strings.ToLower(strings.TrimSpace(string(body[:min(len(body), 64)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}
