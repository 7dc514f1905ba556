package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
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
	// Endpoint is the interface URL requests go to (JSON-RPC posts there;
	// HTTP+JSON paths are under it). Empty when the card names no interface
	// a2atop speaks (Discover then also returns a *NoInterfaceError).
	Endpoint string
	// Binding is a2a.BindingJSONRPC or a2a.BindingHTTPJSON.
	Binding string
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
// URL: one whose path ends in ".json" is taken as the card) and chooses the
// interface as chooseInterface documents: v1.0 before v0.3, then the
// agent's order among JSONRPC and HTTP+JSON. opts.Protocol forces a
// dialect and opts.Binding a binding; with a forced dialect a missing card
// is not fatal and rawURL itself becomes the endpoint.
//
// A card whose interfaces a2atop speaks none of is still returned, with a
// *NoInterfaceError that lists what it offers: discover can show it.
func Discover(ctx context.Context, rawURL string, opts Options) (*Discovery, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
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
		return discovered(&Discovery{
			Card:     &a2a.AgentCard{Name: u.Host, URL: u.String()},
			Endpoint: u.String(),
			Version:  opts.Protocol,
			Binding:  orDefault(opts.Binding, a2a.BindingJSONRPC),
			Reason:   fmt.Sprintf("v%s: forced with --protocol; no agent card (%v), so requests go to %s", opts.Protocol, cardErr, u),
		}, opts)
	}
	d, err := chooseInterface(card, cardURL, opts.Protocol, opts.Binding)
	if err != nil {
		var none *NoInterfaceError
		if errors.As(err, &none) {
			return &Discovery{Card: card, CardURL: cardURL, Reason: err.Error()}, fmt.Errorf("agent card at %s: %w", cardURL, err)
		}
		return nil, fmt.Errorf("agent card at %s: %w", cardURL, err)
	}
	d.Card, d.CardURL = card, cardURL
	d.WatchFeed = watchFeedURL(card, cardURL)
	return discovered(d, opts)
}

// discovered hands a finished discovery to Options.OnDiscover.
func discovered(d *Discovery, opts Options) (*Discovery, error) {
	if opts.OnDiscover != nil {
		if err := opts.OnDiscover(d); err != nil {
			return nil, err
		}
	}
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
	lastNotFound := false
	for _, cand := range cardCandidates(u) {
		var card *a2a.AgentCard
		err := withRetry(ctx, opts.Retry, func() error {
			var err error
			card, err = fetchOneCard(ctx, hc, cand, opts)
			if silent(ctx, err) {
				// No answer in the whole timeout: the host is down or the
				// link blackholed. Another try would only multiply the
				// wait (4 tries: 2 minutes) before saying so.
				return noRetry{err}
			}
			return err
		})
		if err == nil {
			return card, cand, nil
		}
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("agent card: %w", ctx.Err())
		}
		var refused *AuthError
		if errors.As(err, &refused) {
			// The card is there, behind credentials: no other path helps.
			return nil, "", fmt.Errorf("agent card: %w", err)
		}
		errs = append(errs, err.Error())
		var nf notFoundError
		lastNotFound = errors.As(err, &nf)
		if !lastNotFound {
			// Unreachable host or broken card: trying the other paths
			// would only repeat the failure.
			break
		}
	}
	hint := "if the agent publishes its card elsewhere (some use a per-agent path under /.well-known/), pass the card's own URL, e.g. https://host/.well-known/<agent>.json"
	if strings.HasSuffix(u.Path, ".json") {
		hint = "check the card's URL"
	}
	if !lastNotFound {
		// The host answered badly or not at all: another path is no cure.
		return nil, "", fmt.Errorf("no agent card: %s", strings.Join(errs, "; "))
	}
	return nil, "", fmt.Errorf("no agent card found: %s; %s", strings.Join(errs, "; "), hint)
}

// silent reports that a try got no answer within its own timeout while
// the caller's ctx is still alive.
func silent(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// noRetry marks an error withRetry must not try again, whatever it wraps
// (Unreachable still sees the transient cause: exit 3).
type noRetry struct{ err error }

func (e noRetry) Error() string { return e.err.Error() }
func (e noRetry) Unwrap() error { return e.err }

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

// chooseInterface picks the endpoint, binding and dialect from a card.
//
// Preference order: protocol version first, v1.0 before v0.3 (v1.0 can
// list tasks); within a version, the agent's own order (supportedInterfaces
// in order, then the v0.3 url with its preferredTransport, then
// additionalInterfaces), taking the first interface whose binding a2atop
// speaks: JSONRPC or HTTP+JSON (gRPC is never chosen). forceVersion and
// forceBinding (Options.Protocol, Options.Binding) restrict the choice.
func chooseInterface(card *a2a.AgentCard, cardURL, forceVersion string, forceBinding ...string) (*Discovery, error) {
	ch := chooser{card: card, cardURL: cardURL, force: forceVersion}
	if len(forceBinding) > 0 {
		ch.binding = forceBinding[0]
	}
	versions := []string{a2a.Version10, a2a.Version03}
	if ch.force != "" {
		versions = []string{ch.force}
	}
	for _, v := range versions {
		if d := ch.fromSupported(v); d != nil {
			return d, nil
		}
	}
	if ch.force == "" || ch.force == a2a.Version03 || len(card.Interfaces) == 0 {
		if d := ch.fromV03Fields(); d != nil {
			return d, nil
		}
	}
	return nil, &NoInterfaceError{Offered: card.AllInterfaces(), Version: ch.force, Binding: ch.binding}
}

// chooser is one chooseInterface: the card and what the user forced.
type chooser struct {
	card    *a2a.AgentCard
	cardURL string
	force   string // --protocol, "" when free
	binding string // --binding, "" when free
}

// resolve makes an interface URL absolute against the card's URL.
func (ch chooser) resolve(ref string) string {
	base, err := url.Parse(ch.cardURL)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return base.ResolveReference(r).String()
}

// speaks names binding b as a2atop knows it, if a2atop speaks it and it
// is the one forced (if any).
func (ch chooser) speaks(b string) (string, bool) {
	name, ok := parseBinding(b)
	if !ok || (ch.binding != "" && name != ch.binding) {
		return "", false
	}
	return name, true
}

// forcedSuffix ends a reason with the flags that restricted the choice.
func (ch chooser) forcedSuffix() string {
	var parts []string
	if ch.force != "" {
		parts = append(parts, "--protocol")
	}
	if ch.binding != "" {
		parts = append(parts, "--binding")
	}
	if len(parts) == 0 {
		return ""
	}
	return ", forced with " + strings.Join(parts, " and ")
}

// fromSupported is the first entry of supportedInterfaces in version v
// with a binding a2atop speaks.
func (ch chooser) fromSupported(v string) *Discovery {
	for i, in := range ch.card.Interfaces {
		binding, ok := ch.speaks(in.ProtocolBinding)
		if !ok || normVersion(in.ProtocolVersion) != v || in.URL == "" {
			continue
		}
		reason := fmt.Sprintf("v%s: first %s interface with protocolVersion %s in supportedInterfaces (entry %d of %d)", v, binding, v, i+1, len(ch.card.Interfaces))
		if i == 0 {
			reason = fmt.Sprintf("v%s: first %s interface in supportedInterfaces", v, binding)
		}
		if s := ch.forcedSuffix(); s != "" {
			reason += s
		} else if v == a2a.Version03 {
			reason += " (no v1.0 interface a2atop speaks)"
		}
		return &Discovery{Endpoint: ch.resolve(in.URL), Version: v, Binding: binding, Tenant: in.Tenant, Reason: reason}
	}
	return nil
}

// fromV03Fields reads the v0.3 fields: url with preferredTransport, then
// additionalInterfaces.
func (ch chooser) fromV03Fields() *Discovery {
	v := a2a.Version03
	if ch.force != "" {
		v = ch.force
	}
	suffix := ch.forcedSuffix()
	if ch.force != "" && ch.force != a2a.Version03 {
		suffix = fmt.Sprintf(", spoken as v%s because --protocol forced it", ch.force)
	}
	card := ch.card
	if card.URL != "" {
		if binding, ok := ch.speaks(orDefault(card.PreferredTransport, a2a.BindingJSONRPC)); ok {
			return &Discovery{Endpoint: ch.resolve(card.URL), Version: v, Binding: binding,
				Reason: "v0.3: the card's url (preferredTransport " + orDefault(card.PreferredTransport, "JSONRPC by default") + ")" + suffix}
		}
	}
	for _, in := range card.AdditionalInterfaces {
		if binding, ok := ch.speaks(in.ProtocolBinding); ok && in.URL != "" {
			return &Discovery{Endpoint: ch.resolve(in.URL), Version: v, Binding: binding,
				Reason: "v0.3: the first " + binding + " entry of additionalInterfaces" + suffix}
		}
	}
	return nil
}

// NoInterfaceError says that an agent card names no interface a2atop can
// speak (or none matching what was forced). Discover returns it together
// with the Discovery, so that a caller can still show the card and the
// bindings it offers.
type NoInterfaceError struct {
	// Offered is every interface the card names.
	Offered []a2a.AgentInterface
	// Version and Binding are what was forced, if anything.
	Version, Binding string
}

func (e *NoInterfaceError) Error() string {
	want := "JSONRPC or HTTP+JSON in v1.0 or v0.3"
	switch {
	case e.Version != "" && e.Binding != "":
		want = e.Binding + " v" + e.Version + " (forced)"
	case e.Version != "":
		want = "JSONRPC or HTTP+JSON in v" + e.Version + " (forced)"
	case e.Binding != "":
		want = e.Binding + " in v1.0 or v0.3 (forced)"
	}
	return fmt.Sprintf("no interface a2atop can speak: the card offers %s; a2atop needs %s", OfferedBindings(e.Offered), want)
}

// OfferedBindings describes interfaces in one line, e.g. "GRPC v1.0 at
// grpc://a, HTTP+JSON v0.3 at https://a/rest", or "no interfaces".
func OfferedBindings(ins []a2a.AgentInterface) string {
	if len(ins) == 0 {
		return "no interfaces"
	}
	parts := make([]string, len(ins))
	for i, in := range ins {
		parts[i] = fmt.Sprintf("%s v%s at %s", orDefault(in.ProtocolBinding, "?"), orDefault(in.ProtocolVersion, "?"), orDefault(in.URL, "?"))
	}
	return strings.Join(parts, ", ")
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
