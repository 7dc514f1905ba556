package a2apeer

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
)

// Auth makes a peer require credentials on every request but its public
// card, and declare them on the card as securitySchemes, each an
// alternative in securityRequirements. Set any of the three; a request
// passes with any one.
type Auth struct {
	// Bearer is accepted as "Authorization: Bearer <Bearer>" (the scheme
	// name case-insensitively); the card names it "bearer".
	Bearer string
	// APIKey is accepted where APIKeyIn ("header", "query" or "cookie";
	// default header) and APIKeyName (default "X-API-Key") say; the card
	// names it "key".
	APIKey, APIKeyIn, APIKeyName string
	// OAuth2 accepts the access tokens this token server issued, as bearer
	// tokens; the card names it "cc", a client-credentials flow at the
	// server's token URL with the scope "tasks".
	OAuth2 *TokenServer
	// Undeclared keeps the schemes off the card: an agent that checks
	// credentials without saying so.
	Undeclared bool
	// ProtectCard requires the credentials for the card as well.
	ProtectCard bool
}

func (a *Auth) keyIn() string   { return orString(a.APIKeyIn, "header") }
func (a *Auth) keyName() string { return orString(a.APIKeyName, "X-API-Key") }

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// declare adds the schemes to the card.
func (a *Auth) declare(card *a2a.AgentCard) {
	if a.Undeclared {
		return
	}
	card.SecuritySchemes = a2a.NamedSecuritySchemes{}
	add := func(name string, s a2a.SecurityScheme, scopes ...string) {
		card.SecuritySchemes[a2a.SecuritySchemeName(name)] = s
		card.SecurityRequirements = append(card.SecurityRequirements, a2a.SecurityRequirements{a2a.SecuritySchemeName(name): scopes})
	}
	if a.Bearer != "" {
		add("bearer", a2a.HTTPAuthSecurityScheme{Scheme: "Bearer"})
	}
	if a.APIKey != "" {
		add("key", a2a.APIKeySecurityScheme{Location: a2a.APIKeySecuritySchemeLocation(a.keyIn()), Name: a.keyName()})
	}
	if a.OAuth2 != nil {
		add("cc", a2a.OAuth2SecurityScheme{Flows: a2a.ClientCredentialsOAuthFlow{
			TokenURL: a.OAuth2.URL(), Scopes: map[string]string{"tasks": "run and read tasks"},
		}}, "tasks")
	}
}

// allowed checks a request's credentials.
func (a *Auth) allowed(r *http.Request) bool {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	tok = strings.TrimSpace(tok)
	bearer := strings.EqualFold(scheme, "Bearer") && tok != ""
	if a.Bearer != "" && bearer && equal(tok, a.Bearer) {
		return true
	}
	if a.OAuth2 != nil && bearer && a.OAuth2.Valid(tok) {
		return true
	}
	if a.APIKey != "" {
		var got string
		switch a.keyIn() {
		case "query":
			got = r.URL.Query().Get(a.keyName())
		case "cookie":
			if c, err := r.Cookie(a.keyName()); err == nil {
				got = c.Value
			}
		default:
			got = r.Header.Get(a.keyName())
		}
		if got != "" && equal(got, a.APIKey) {
			return true
		}
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// guard refuses requests without valid credentials with 401, except the
// public card.
func (a *Auth) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.URL.Path == a2asrv.WellKnownAgentCardPath && !a.ProtectCard) || a.allowed(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="go-peer"`)
		http.Error(w, "go-peer: unauthenticated", http.StatusUnauthorized)
	})
}

// TokenServer is an OAuth2 token endpoint for tests, on 127.0.0.1: it
// issues random access tokens to one client (client credentials grant,
// client authenticated with HTTP Basic or form fields) and counts how
// many it issued.
type TokenServer struct {
	id, secret string
	expiresIn  time.Duration
	srv        *httptest.Server
	issued     atomic.Int64
	mu         sync.Mutex
	tokens     map[string]time.Time // token → expiry
	scopes     []string             // the scope parameter of each request
}

// StartTokenServer serves a token endpoint for the client id and secret;
// tokens last expiresIn (default an hour). It stops when the test ends.
func StartTokenServer(tb testing.TB, clientID, secret string, expiresIn time.Duration) *TokenServer {
	tb.Helper()
	if expiresIn <= 0 {
		expiresIn = time.Hour
	}
	ts := &TokenServer{id: clientID, secret: secret, expiresIn: expiresIn, tokens: map[string]time.Time{}}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	tb.Cleanup(ts.srv.Close)
	return ts
}

// URL is the token endpoint.
func (ts *TokenServer) URL() string { return ts.srv.URL + "/token" }

// Issued is how many tokens the server has issued.
func (ts *TokenServer) Issued() int { return int(ts.issued.Load()) }

// Scopes are the scope parameters the token requests carried, in order.
func (ts *TokenServer) Scopes() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.scopes...)
}

// Valid says whether tok is a token this server issued that has not
// expired.
func (ts *TokenServer) Valid(tok string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	exp, ok := ts.tokens[tok]
	return ok && time.Now().Before(exp)
}

func (ts *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenFail(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		tokenFail(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	if !equal(id, ts.id) || !equal(secret, ts.secret) {
		tokenFail(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := "at-" + hex.EncodeToString(b[:])
	ts.mu.Lock()
	ts.tokens[tok] = time.Now().Add(ts.expiresIn)
	ts.scopes = append(ts.scopes, r.PostForm.Get("scope"))
	ts.mu.Unlock()
	ts.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(ts.expiresIn / time.Second),
	})
}

func tokenFail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}
