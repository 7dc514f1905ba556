package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/auth"
	"github.com/a2atop/a2atop/internal/config"
)

// Authentication to a remote agent. The user gives credentials (files
// named by flags, or environment variables: never a secret as a flag
// value, which every user of the machine can read in ps); the agent's card
// says which scheme it wants; authOptions wires the two into the client.
//
// Environment variables (a flag naming a file wins over its variable):
//
//	A2ATOP_TOKEN          bearer token (--token-file)
//	A2ATOP_API_KEY        API key (--api-key-file)
//	A2ATOP_CLIENT_SECRET  OAuth2 client secret (--client-secret-file; needs --client-id)

// authFlags are the credential flags of a remote target, as given.
type authFlags struct {
	binding          string
	tokenFile        string
	apiKeyFile       string
	apiKeyName       string
	apiKeyIn         string
	clientID         string
	clientSecretFile string
	tokenURL         string
	scopes           []string
	cert, key        string
}

func (a *authFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&a.binding, "binding", "", "remote protocol binding `jsonrpc|rest` (default: what the agent card offers; v1.0 first, then the agent's order)")
	fs.StringVar(&a.tokenFile, "token-file", "", "send the bearer token in `FILE` (default $A2ATOP_TOKEN)")
	fs.StringVar(&a.apiKeyFile, "api-key-file", "", "send the API key in `FILE` where the card says (default $A2ATOP_API_KEY)")
	fs.StringVar(&a.apiKeyName, "api-key-name", "", "`NAME` of the API key's header, query parameter or cookie, when the card declares none")
	fs.StringVar(&a.apiKeyIn, "api-key-in", "", "where the API key goes when the card declares none: `header|query|cookie` (default header)")
	fs.StringVar(&a.clientID, "client-id", "", "OAuth2 client credentials: the client `ID` (the secret from --client-secret-file or $A2ATOP_CLIENT_SECRET)")
	fs.StringVar(&a.clientSecretFile, "client-secret-file", "", "OAuth2 client secret in `FILE` (default $A2ATOP_CLIENT_SECRET)")
	fs.StringVar(&a.tokenURL, "token-url", "", "OAuth2 token endpoint `URL` (default the card's)")
	fs.StringArrayVar(&a.scopes, "scope", nil, "OAuth2 `SCOPE` to ask for (repeatable; default the card's)")
	fs.StringVar(&a.cert, "cert", "", "client certificate `FILE` (PEM) for mutual TLS, with --key")
	fs.StringVar(&a.key, "key", "", "private key `FILE` (PEM) of --cert")
}

// maxSecretFile bounds a secret file: a token is a few KiB at most.
const maxSecretFile = 64 << 10

// bindingName checks --binding.
func bindingName(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "jsonrpc", "json-rpc":
		return client.BindingJSONRPC, nil
	case "rest", "http+json":
		return client.BindingREST, nil
	}
	return "", fmt.Errorf("--binding %q: use jsonrpc or rest (a2atop does not speak gRPC)", clean(s, 40))
}

// credentials reads the flags' files and the environment into
// credentials. Errors name the flag or variable, never a value.
func (a *authFlags) credentials(getenv func(string) string) (auth.Credentials, error) {
	var c auth.Credentials
	var err error
	if c.Bearer, err = secretFrom("--token-file", a.tokenFile, "A2ATOP_TOKEN", getenv); err != nil {
		return c, err
	}
	if c.APIKey, err = secretFrom("--api-key-file", a.apiKeyFile, "A2ATOP_API_KEY", getenv); err != nil {
		return c, err
	}
	if (a.apiKeyName != "" || a.apiKeyIn != "") && c.APIKey == "" {
		return c, errors.New("--api-key-name and --api-key-in place an API key: give it with --api-key-file or $A2ATOP_API_KEY")
	}
	switch strings.ToLower(a.apiKeyIn) {
	case "", "header", "query", "cookie":
	default:
		return c, fmt.Errorf("--api-key-in %q: use header, query or cookie", clean(a.apiKeyIn, 40))
	}
	c.APIKeyName, c.APIKeyIn = a.apiKeyName, strings.ToLower(a.apiKeyIn)

	if a.clientID == "" {
		if a.clientSecretFile != "" || a.tokenURL != "" || len(a.scopes) > 0 {
			return c, errors.New("--client-secret-file, --token-url and --scope are for OAuth2 client credentials: give --client-id too")
		}
		// $A2ATOP_CLIENT_SECRET alone is ignored: it may be set for
		// another agent, and a secret without its client id is no use.
	} else {
		c.ClientID, c.TokenURL, c.Scopes = a.clientID, a.tokenURL, a.scopes
		if c.ClientSecret, err = secretFrom("--client-secret-file", a.clientSecretFile, "A2ATOP_CLIENT_SECRET", getenv); err != nil {
			return c, err
		}
		if c.ClientSecret == "" {
			return c, errors.New("--client-id needs the client secret: give --client-secret-file FILE or set $A2ATOP_CLIENT_SECRET")
		}
	}
	if (a.cert == "") != (a.key == "") {
		return c, errors.New("mutual TLS needs both --cert FILE and --key FILE")
	}
	c.CertFile, c.KeyFile = a.cert, a.key
	return c, nil
}

// secretFrom reads a secret from the file a flag names, else from an
// environment variable; "" when neither is given. Surrounding white space
// (a file's final newline) is dropped.
func secretFrom(flag, file, env string, getenv func(string) string) (string, error) {
	if file == "" {
		return strings.TrimSpace(getenv(env)), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, file, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s %s: larger than %d KiB: not a secret", flag, file, maxSecretFile>>10)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %s is empty", flag, file)
	}
	return s, nil
}

// credentialsFromConfig resolves a config file agent's auth (secrets from
// the environment, a file or a command) into credentials.
func credentialsFromConfig(ctx context.Context, a config.Auth, getenv func(string) string) (auth.Credentials, error) {
	c := auth.Credentials{CertFile: a.Cert, KeyFile: a.Key}
	var err error
	if a.Bearer != nil {
		if c.Bearer, err = a.Bearer.Resolve(ctx, getenv); err != nil {
			return c, fmt.Errorf("bearer token: %w", err)
		}
	}
	if k := a.APIKey; k != nil {
		if c.APIKey, err = k.Value.Resolve(ctx, getenv); err != nil {
			return c, fmt.Errorf("API key: %w", err)
		}
		c.APIKeyName, c.APIKeyIn = k.Name, k.In
	}
	if o := a.OAuth2; o != nil {
		if c.ClientSecret, err = o.ClientSecret.Resolve(ctx, getenv); err != nil {
			return c, fmt.Errorf("OAuth2 client secret: %w", err)
		}
		c.ClientID, c.TokenURL, c.Scopes = o.ClientID, o.TokenURL, o.Scopes
	}
	return c, nil
}

// authOptions makes the client built from opts authenticate to the agent
// at agentURL with creds, the way the agent's card asks (auth.Choose): the
// card fetch carries what needs no card (see auth.Session), every later
// request the chosen scheme, and only to the agent's own hosts. It sets
// opts.WrapTransport (innermost, under any wrapper already there, so that
// no other wrapper sees a credential), opts.OnDiscover and the client
// certificate. After client.New or client.Discover the session's Plan says
// what was chosen.
//
// This is the one place credentials meet a client: the --url target and
// every config file agent (credentialsFromConfig) come through here.
func authOptions(ctx context.Context, agentURL string, creds auth.Credentials, opts *client.Options) (*auth.Session, error) {
	sess, err := auth.NewSession(ctx, agentURL, creds)
	if err != nil {
		return nil, err
	}
	opts.CertFile, opts.KeyFile = creds.CertFile, creds.KeyFile
	outer := opts.WrapTransport
	opts.WrapTransport = func(base http.RoundTripper) http.RoundTripper {
		rt := sess.Wrap(base)
		if outer != nil {
			rt = outer(rt)
		}
		return rt
	}
	next := opts.OnDiscover
	opts.OnDiscover = func(d *client.Discovery) error {
		var schemes, security []byte
		if d.Card != nil {
			schemes, security = d.Card.SecuritySchemes, d.Card.Security
		}
		if _, err := sess.Discovered(schemes, security, d.Endpoint, d.WatchFeed); err != nil {
			return &authSetupError{err: err}
		}
		if next != nil {
			return next(d)
		}
		return nil
	}
	return sess, nil
}

// authSetupError: the scheme the card asks for cannot be used with what
// was given (an OAuth2 scheme without a token URL, ...).
type authSetupError struct{ err error }

func (e *authSetupError) Error() string { return "authentication: " + e.err.Error() }
func (e *authSetupError) Unwrap() error { return e.err }

// isAuthFailure says whether err is the agent refusing (or asking for)
// credentials, or a2atop unable to get or use them: exit status 4.
func isAuthFailure(err error) bool {
	var refused *client.AuthError
	var token *auth.TokenError
	var setup *authSetupError
	var perr *a2a.Error
	switch {
	case errors.As(err, &refused), errors.As(err, &token), errors.As(err, &setup):
		return true
	case errors.As(err, &perr):
		return perr.Code == a2a.CodeUnauthenticated || perr.Code == a2a.CodeUnauthorized
	}
	// The server's TLS alert when it wants a client certificate or does
	// not accept ours (crypto/tls exports no type for it on TCP).
	msg := err.Error()
	for _, alert := range []string{"certificate required", "bad certificate", "unknown certificate authority", "certificate unknown"} {
		if strings.Contains(msg, "remote error: tls: "+alert) {
			return true
		}
	}
	return false
}

// authHint is added to an authentication failure's line.
const authHint = "; `a2atop discover URL` shows what the agent asks for (credentials: --token-file, --api-key-file, --client-id, --cert; see `a2atop help`)"

// redact replaces every secret in s with "***": the backstop that keeps a
// credential an agent echoed (or a URL carrying a query API key) out of
// error lines.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// secretsOf lists the secret values of creds, for redact.
func secretsOf(c auth.Credentials) []string {
	var out []string
	for _, s := range []string{c.Bearer, c.APIKey, c.ClientSecret} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// remoteAuth wires r's credentials into opts (authOptions) and keeps
// their values for redact; warn hears that they would cross in clear.
func (c *cli) remoteAuth(ctx context.Context, r remoteTarget, opts *client.Options, warn func(string)) (*auth.Session, error) {
	c.addSecrets(secretsOf(r.creds)...)
	if len(secretsOf(r.creds)) > 0 && cleartext(r.url) {
		warn(fmt.Sprintf("warning: %s is plain http: the credentials cross the network unencrypted", clean(r.url, 200)))
	}
	sess, err := authOptions(ctx, r.url, r.creds, opts)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return sess, nil
}

// cleartext says whether rawURL is plain http to a host other than
// loopback.
func cleartext(rawURL string) bool {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host != "localhost" && (ip == nil || !ip.IsLoopback())
}
