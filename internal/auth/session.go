package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Session authenticates one client's requests to one agent. It exists
// before the agent's card is known (the client fetches the card through
// it) and decides once the card is in (Discovered):
//
//   - before the card, requests carry what needs no card: a bearer token,
//     an API key whose name was given, an OAuth2 token when the token URL
//     was given. Some agents protect their card (or only their extended
//     card); a public card does not mind.
//   - after the card, requests carry what Choose picked from the card's
//     securitySchemes and requirements.
//
// Credentials only go to the agent: the host the user named and the hosts
// of the interface and feed the card chose. A redirect elsewhere, or any
// other host, gets the request without them. One OAuth2 token source
// serves the whole session, so a token is fetched once and reused until
// shortly before it expires.
type Session struct {
	ctx   context.Context
	creds Credentials

	mu     sync.Mutex
	base   http.RoundTripper
	hosts  map[string]bool
	pre    http.RoundTripper // before the card; nil: nothing to send
	preKey string            // the OAuth2 settings pre was built with
	rt     http.RoundTripper // after the card
	plan   *Plan
}

// NewSession starts a session for the agent at agentURL (its base or card
// URL). ctx bounds OAuth2 token fetches: the client's lifetime.
func NewSession(ctx context.Context, agentURL string, creds Credentials) (*Session, error) {
	s := &Session{ctx: ctx, creds: creds, hosts: map[string]bool{}}
	if err := s.allow(agentURL); err != nil {
		return nil, err
	}
	return s, nil
}

// allow lets credentials go to rawURL's host. A bare host ("agent.example")
// counts as https, as the client reads it.
func (s *Session) allow(rawURL string) error {
	if rawURL == "" {
		return nil
	}
	if !strings.Contains(rawURL, "://") {
		rawURL = "https://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("agent URL: %w", err)
	}
	s.hosts[hostKey(u)] = true
	return nil
}

// hostKey is a URL's host and port, the port made explicit.
func hostKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if strings.EqualFold(u.Scheme, "http") {
			port = "80"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

// Wrap is the client's Options.WrapTransport: base is the TLS-configured
// transport, used as is for requests that carry nothing and for OAuth2
// token fetches.
func (s *Session) Wrap(base http.RoundTripper) http.RoundTripper {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = base
	s.pre, s.preKey = s.preCard(base)
	return s
}

// preCard builds what requests carry before the card is known.
func (s *Session) preCard(base http.RoundTripper) (http.RoundTripper, string) {
	c := s.creds
	var plan Plan
	switch {
	case c.has(KindBearer):
		plan = Plan{Scheme: Scheme{Kind: KindBearer}}
	case c.has(KindAPIKey) && c.APIKeyName != "":
		plan = Plan{Scheme: Scheme{Kind: KindAPIKey}}
	case c.has(KindOAuth2) && c.TokenURL != "":
		plan = Plan{Scheme: Scheme{Kind: KindOAuth2}}
	default:
		return nil, ""
	}
	rt, err := Transport(s.ctx, base, plan, c)
	if err != nil {
		return nil, ""
	}
	if plan.Scheme.Kind == KindOAuth2 {
		return rt, oauthKey(plan, c)
	}
	return rt, ""
}

// oauthKey names the token a plan asks for: same key, same token.
func oauthKey(p Plan, c Credentials) string {
	u, scopes := p.oauthSettings(c)
	return u + " " + strings.Join(scopes, " ")
}

// Discovered chooses the scheme from the card's securitySchemes and
// security requirements (raw JSON, either dialect) and lets credentials go
// to the hosts of urls (the chosen interface, the watch feed) as well. It
// fails when the chosen scheme cannot be used as given (an OAuth2 scheme
// without a token URL, an API key without a name).
func (s *Session) Discovered(schemesJSON, security json.RawMessage, urls ...string) (Plan, error) {
	schemes, err := ParseSchemes(schemesJSON)
	if err != nil {
		schemes = nil // shown by discover; a2atop falls back to what was given
	}
	plan := Choose(schemes, ParseRequirements(security), s.creds)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range urls {
		if err := s.allow(u); err != nil {
			return plan, err
		}
	}
	base := s.base
	if base == nil {
		base = http.DefaultTransport
	}
	switch {
	case plan.None:
		s.rt = base
	case plan.Scheme.Kind == KindOAuth2 && s.pre != nil && s.preKey == oauthKey(plan, s.creds):
		s.rt = s.pre // the token the card fetch already has
	default:
		rt, err := Transport(s.ctx, base, plan, s.creds)
		if err != nil {
			return plan, err
		}
		s.rt = rt
	}
	s.plan = &plan
	return plan, nil
}

// Plan is the scheme chosen by Discovered; ok is false before.
func (s *Session) Plan() (p Plan, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plan == nil {
		return Plan{}, false
	}
	return *s.plan, true
}

// RoundTrip sends r with the session's credentials when it goes to the
// agent, without them anywhere else.
func (s *Session) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	base, rt := s.base, s.rt
	if rt == nil {
		rt = s.pre
	}
	toAgent := s.hosts[hostKey(r.URL)]
	s.mu.Unlock()
	if base == nil {
		return nil, errors.New("auth: session used before Wrap")
	}
	if rt == nil || !toAgent {
		return base.RoundTrip(r)
	}
	return rt.RoundTrip(r)
}

// oauthSettings are the token URL and scopes a plan's OAuth2 token is
// asked with: the user's, else the card's.
func (p Plan) oauthSettings(c Credentials) (tokenURL string, scopes []string) {
	tokenURL = c.TokenURL
	if tokenURL == "" {
		tokenURL = p.Scheme.TokenURL
	}
	scopes = c.Scopes
	if len(scopes) == 0 {
		scopes = p.Scheme.Scopes
	}
	return tokenURL, slices.Clip(scopes)
}
