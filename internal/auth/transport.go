package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Credentials are what the user gave, already resolved.
type Credentials struct {
	// Bearer is an HTTP bearer token.
	Bearer string
	// APIKey is an API key; APIKeyIn and APIKeyName override where the
	// card says to put it (needed when the card declares no apiKey scheme).
	APIKey               string
	APIKeyIn, APIKeyName string
	// ClientID and ClientSecret are OAuth2 client credentials; TokenURL
	// and Scopes override the card's.
	ClientID, ClientSecret string
	TokenURL               string
	Scopes                 []string
	// CertFile and KeyFile are a client certificate for mutual TLS.
	CertFile, KeyFile string
}

// has says which kinds these credentials can serve.
func (c Credentials) has(k Kind) bool {
	switch k {
	case KindBearer:
		return c.Bearer != ""
	case KindAPIKey:
		return c.APIKey != ""
	case KindOAuth2:
		return c.ClientID != "" && c.ClientSecret != ""
	case KindMutualTLS:
		return c.CertFile != "" && c.KeyFile != ""
	}
	return false
}

// Plan is the scheme a2atop will use with an agent.
type Plan struct {
	// Scheme is the card's scheme used, or a synthetic one when the user
	// gave credentials the card does not declare (sent anyway: many
	// agents check a token without saying so on their card).
	Scheme Scheme
	// None is true when nothing will be sent.
	None bool
	// Note explains the choice for discover, e.g. why nothing is sent.
	Note string
	// TLS is true when a client certificate is presented as well.
	TLS bool
}

// Describe says what a2atop will do, for discover and the dashboard.
func (p Plan) Describe() string {
	s := ""
	switch {
	case p.None:
		s = "none"
	case p.Scheme.Name == "":
		s = string(p.Scheme.Kind) + " (not declared on the card)"
	default:
		s = p.Scheme.String()
	}
	if p.TLS && p.Scheme.Kind != KindMutualTLS {
		s += " + client certificate"
	}
	if p.Note != "" {
		s += ": " + p.Note
	}
	return s
}

// Label is Describe cut for a header: the kind of credentials sent
// ("bearer", "oauth2 + client certificate"), "none" when the card asks for
// credentials a2atop was not given, "" when nothing is asked or sent.
func (p Plan) Label() string {
	switch {
	case p.None && p.Note != "":
		return "none given (see a2atop discover)"
	case p.None:
		return ""
	case p.TLS && p.Scheme.Kind != KindMutualTLS:
		return string(p.Scheme.Kind) + " + client certificate"
	}
	return string(p.Scheme.Kind)
}

// Choose picks a scheme: the first requirement of the card whose schemes
// the credentials all cover, else any declared scheme they cover, else
// credentials sent as given. A card that asks for schemes the user has no
// credentials for yields None with a note saying what to pass.
func Choose(schemes []Scheme, required [][]string, c Credentials) Plan {
	byName := map[string]Scheme{}
	for _, s := range schemes {
		byName[s.Name] = s
	}
	tls := c.has(KindMutualTLS)
	for _, req := range required {
		ok := len(req) > 0
		var pick Scheme
		for _, name := range req {
			s, known := byName[name]
			if !known || !c.has(s.Kind) {
				ok = false
				break
			}
			if pick.Name == "" || s.Kind != KindMutualTLS {
				pick = s
			}
		}
		if ok {
			return Plan{Scheme: pick, TLS: tls}
		}
	}
	for _, s := range schemes {
		if c.has(s.Kind) && s.Kind != KindMutualTLS {
			return Plan{Scheme: s, TLS: tls}
		}
	}
	for _, k := range []Kind{KindBearer, KindAPIKey, KindOAuth2} {
		if c.has(k) {
			return Plan{Scheme: Scheme{Kind: k}, TLS: tls}
		}
	}
	if tls {
		return Plan{Scheme: Scheme{Kind: KindMutualTLS}, TLS: true}
	}
	if len(schemes) == 0 {
		return Plan{None: true}
	}
	return Plan{None: true, Note: "the card asks for " + wanted(schemes)}
}

// wanted names what the user could pass for the card's schemes.
func wanted(schemes []Scheme) string {
	var parts []string
	for _, s := range schemes {
		switch s.Kind {
		case KindBearer:
			parts = append(parts, "a bearer token (--token-file or A2ATOP_TOKEN)")
		case KindAPIKey:
			parts = append(parts, fmt.Sprintf("an API key for %s %s (--api-key-file or A2ATOP_API_KEY)", s.In, s.Param))
		case KindOAuth2:
			parts = append(parts, "OAuth2 client credentials (--client-id, A2ATOP_CLIENT_SECRET)")
		case KindMutualTLS:
			parts = append(parts, "a client certificate (--cert, --key)")
		default:
			parts = append(parts, string(s.Kind)+" (not supported by a2atop)")
		}
	}
	return strings.Join(parts, " or ")
}

// Transport wraps base so that requests carry the plan's credentials. An
// OAuth2 token is fetched through base on first use, cached in memory and
// refreshed shortly before it expires. ctx bounds token fetches' lifetime
// (the client's lifetime, not one request's).
func Transport(ctx context.Context, base http.RoundTripper, p Plan, c Credentials) (http.RoundTripper, error) {
	if p.None {
		return base, nil
	}
	switch p.Scheme.Kind {
	case KindBearer:
		return &headerTransport{base: base, set: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+c.Bearer) }}, nil
	case KindAPIKey:
		return apiKeyTransport(base, p.Scheme, c)
	case KindOAuth2:
		tokenURL, scopes := p.oauthSettings(c)
		if tokenURL == "" {
			return nil, errors.New("OAuth2 needs a token URL: the card gives none, pass --token-url")
		}
		if err := checkTokenURL(tokenURL); err != nil {
			return nil, err
		}
		cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: tokenURL, Scopes: scopes}
		tctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: base})
		return &oauth2Transport{base: base, src: cc.TokenSource(tctx), tokenURL: tokenURL}, nil
	case KindMutualTLS:
		return base, nil
	}
	return nil, fmt.Errorf("a2atop cannot authenticate with %s", p.Scheme.Kind)
}

func apiKeyTransport(base http.RoundTripper, s Scheme, c Credentials) (http.RoundTripper, error) {
	in, name := s.In, s.Param
	if c.APIKeyIn != "" {
		in = strings.ToLower(c.APIKeyIn)
	}
	if c.APIKeyName != "" {
		name = c.APIKeyName
	}
	if in == "" {
		in = "header"
	}
	if name == "" {
		return nil, errors.New("the API key needs a name: the card declares no apiKey scheme, pass --api-key-name")
	}
	switch in {
	case "header":
		return &headerTransport{base: base, set: func(r *http.Request) { r.Header.Set(name, c.APIKey) }}, nil
	case "query":
		return &headerTransport{base: base, set: func(r *http.Request) {
			q := r.URL.Query()
			q.Set(name, c.APIKey)
			r.URL.RawQuery = q.Encode()
		}}, nil
	case "cookie":
		return &headerTransport{base: base, set: func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: c.APIKey}) }}, nil
	}
	return nil, fmt.Errorf("API key location %q: use header, query or cookie", in)
}

// headerTransport adds a credential to a clone of each request (a
// RoundTripper must not change the request it was given).
type headerTransport struct {
	base http.RoundTripper
	set  func(*http.Request)
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	t.set(r2)
	return t.base.RoundTrip(r2)
}

// oauth2Transport puts a cached client-credentials token on each request.
type oauth2Transport struct {
	base     http.RoundTripper
	src      oauth2.TokenSource
	tokenURL string
}

func (t *oauth2Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.src.Token()
	if err != nil {
		return nil, tokenError(t.tokenURL, err)
	}
	r2 := r.Clone(r.Context())
	tok.SetAuthHeader(r2)
	return t.base.RoundTrip(r2)
}

// checkTokenURL refuses to send a client secret in the clear: the token
// URL must be https, or http on a loopback address (a local identity
// provider, tests).
func checkTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("OAuth2 token URL %q is not a URL", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("OAuth2 token URL %s: a2atop sends the client secret only over https (or http to a loopback address)", raw)
}

// TokenError is a failure to get an OAuth2 token: the endpoint refused
// the client (Refused) or could not be reached.
type TokenError struct {
	TokenURL string
	// Refused is true when the endpoint answered with an error; Code is
	// its OAuth2 error code or HTTP status.
	Refused bool
	Code    string
	err     error
}

func (e *TokenError) Error() string {
	if e.Refused {
		return fmt.Sprintf("OAuth2 token from %s refused: %s (check the client id and secret)", e.TokenURL, e.Code)
	}
	return fmt.Sprintf("OAuth2 token from %s: %v", e.TokenURL, e.err)
}

func (e *TokenError) Unwrap() error { return e.err }

// tokenError says why the token endpoint refused, without its body (which
// a misconfigured endpoint may fill with anything, the secret included).
func tokenError(tokenURL string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = re.Response.Status
		}
		return &TokenError{TokenURL: tokenURL, Refused: true, Code: code}
	}
	return &TokenError{TokenURL: tokenURL, err: err}
}

// ClientTLS returns the TLS settings presenting c's client certificate,
// or nil when there is none.
func ClientTLS(c Credentials) (*tls.Config, error) {
	if c.CertFile == "" && c.KeyFile == "" {
		return nil, nil
	}
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("mutual TLS needs both --cert and --key")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s / %s: %w", c.CertFile, c.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
