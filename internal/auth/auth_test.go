package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// v03Schemes is the OpenAPI shape v0.3 cards carry.
const v03Schemes = `{
 "bearer": {"type": "http", "scheme": "Bearer"},
 "key": {"type": "apiKey", "in": "query", "name": "api_key"},
 "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://idp.example/token", "scopes": {"tasks": "", "admin": ""}}}},
 "mtls": {"type": "mutualTLS"},
 "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://idp.example/.well-known/openid-configuration"}
}`

// v10Schemes is the one-of shape v1.0 cards carry.
const v10Schemes = `{
 "bearer": {"httpAuthSecurityScheme": {"scheme": "bearer"}},
 "key": {"apiKeySecurityScheme": {"location": "header", "name": "X-API-Key"}},
 "cc": {"oauth2SecurityScheme": {"flows": {"clientCredentials": {"tokenUrl": "https://idp.example/token", "scopes": {"tasks": ""}}}}},
 "mtls": {"mtlsSecurityScheme": {}},
 "weird": {"somethingNew": {}}
}`

func TestParseSchemesBothDialects(t *testing.T) {
	for _, c := range []struct {
		name, raw string
		want      []string
	}{
		{"v0.3", v03Schemes, []string{`bearer "bearer"`, `apiKey "key" (query api_key)`, `oauth2 "cc" (client credentials at https://idp.example/token)`, `mutualTLS "mtls"`, `openIdConnect "oidc"`}},
		{"v1.0", v10Schemes, []string{`bearer "bearer"`, `apiKey "key" (header X-API-Key)`, `oauth2 "cc" (client credentials at https://idp.example/token)`, `mutualTLS "mtls"`, `unknown "weird"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			schemes, err := ParseSchemes(json.RawMessage(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, s := range schemes {
				got[s.String()] = true
			}
			for _, w := range c.want {
				if !got[w] {
					t.Errorf("missing %s in %v", w, got)
				}
			}
		})
	}
	if _, err := ParseSchemes(json.RawMessage(`[1]`)); err == nil {
		t.Fatal("an array is not securitySchemes")
	}
}

func TestChoose(t *testing.T) {
	schemes, _ := ParseSchemes(json.RawMessage(v10Schemes))
	req := ParseRequirements(json.RawMessage(`[{"schemes": {"cc": {"list": ["tasks"]}}}, {"key": []}]`))
	if len(req) != 2 || req[0][0] != "cc" || req[1][0] != "key" {
		t.Fatalf("requirements: %v", req)
	}
	cases := []struct {
		name string
		c    Credentials
		want string
	}{
		{"first requirement covered", Credentials{ClientID: "a", ClientSecret: "b", APIKey: "k"}, `oauth2 "cc"`},
		{"second requirement", Credentials{APIKey: "k"}, `apiKey "key"`},
		{"declared but not required", Credentials{Bearer: "t"}, `bearer "bearer"`},
		{"nothing given", Credentials{}, "none: the card asks for"},
	}
	for _, c := range cases {
		p := Choose(schemes, req, c.c)
		if !strings.Contains(p.Describe(), c.want) {
			t.Errorf("%s: %s", c.name, p.Describe())
		}
	}
	p := Choose(nil, nil, Credentials{Bearer: "t"})
	if p.None || p.Scheme.Kind != KindBearer || !strings.Contains(p.Describe(), "not declared") {
		t.Fatalf("undeclared bearer: %+v", p)
	}
	if p := Choose(nil, nil, Credentials{}); !p.None || p.Describe() != "none" {
		t.Fatalf("nothing: %s", p.Describe())
	}
}

// echoServer reports what credentials each request carried.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("sid")
		cookie := ""
		if c != nil {
			cookie = c.Value
		}
		fmt.Fprintf(w, "auth=%s key=%s query=%s cookie=%s", r.Header.Get("Authorization"), r.Header.Get("X-API-Key"), r.URL.Query().Get("api_key"), cookie)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, rt http.RoundTripper, url string) string {
	t.Helper()
	resp, err := (&http.Client{Transport: rt}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return b.String()
}

func TestTransportPlacesCredentials(t *testing.T) {
	srv := echoServer(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		scheme Scheme
		cred   Credentials
		want   string
	}{
		{"bearer", Scheme{Kind: KindBearer}, Credentials{Bearer: "T1"}, "auth=Bearer T1 "},
		{"header key", Scheme{Kind: KindAPIKey, In: "header", Param: "X-API-Key"}, Credentials{APIKey: "K1"}, "key=K1 "},
		{"query key", Scheme{Kind: KindAPIKey, In: "query", Param: "api_key"}, Credentials{APIKey: "K2"}, "query=K2 "},
		{"cookie key", Scheme{Kind: KindAPIKey, In: "cookie", Param: "sid"}, Credentials{APIKey: "K3"}, "cookie=K3"},
		{"override", Scheme{Kind: KindAPIKey}, Credentials{APIKey: "K4", APIKeyName: "X-API-Key"}, "key=K4 "},
	} {
		rt, err := Transport(ctx, http.DefaultTransport, Plan{Scheme: c.scheme}, c.cred)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := get(t, rt, srv.URL+"/x?a=1"); !strings.Contains(got, c.want) {
			t.Errorf("%s: %s", c.name, got)
		}
	}
	if _, err := Transport(ctx, http.DefaultTransport, Plan{Scheme: Scheme{Kind: KindAPIKey}}, Credentials{APIKey: "k"}); err == nil {
		t.Fatal("an API key without a name must be refused")
	}
}

// tokenEndpoint is a client-credentials token endpoint on 127.0.0.1.
func tokenEndpoint(t *testing.T, expiresIn int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		id, secret, ok := r.BasicAuth()
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" || !ok || id != "a2atop" || secret != "s3cret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad s3cret?"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok%d","token_type":"Bearer","expires_in":%d}`, n, expiresIn)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestOAuth2ClientCredentialsCachedAndRefreshed(t *testing.T) {
	srv := echoServer(t)
	ctx := context.Background()
	idp, calls := tokenEndpoint(t, 3600)
	plan := Plan{Scheme: Scheme{Kind: KindOAuth2, TokenURL: idp.URL}}
	cred := Credentials{ClientID: "a2atop", ClientSecret: "s3cret"}
	rt, err := Transport(ctx, http.DefaultTransport, plan, cred)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := get(t, rt, srv.URL); !strings.Contains(got, "auth=Bearer tok1 ") {
			t.Fatalf("request: %s", got)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("token fetched %d times for 3 requests, want 1 (cached)", calls.Load())
	}

	// A token within the refresh margin of its expiry is replaced before use.
	idp2, calls2 := tokenEndpoint(t, 5)
	rt, _ = Transport(ctx, http.DefaultTransport, Plan{Scheme: Scheme{Kind: KindOAuth2, TokenURL: idp2.URL}}, cred)
	get(t, rt, srv.URL)
	if got := get(t, rt, srv.URL); !strings.Contains(got, "auth=Bearer tok2 ") || calls2.Load() != 2 {
		t.Fatalf("near-expiry token not refreshed: %s after %d fetches", got, calls2.Load())
	}

	// A refused secret is named by the endpoint's error code, never echoed.
	rt, _ = Transport(ctx, http.DefaultTransport, plan, Credentials{ClientID: "a2atop", ClientSecret: "wrong-s3cret"})
	_, err = (&http.Client{Transport: rt}).Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("refused token: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	cliKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cliTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "a2atop"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	cliDER, _ := x509.CreateCertificate(rand.Reader, cliTmpl, ca, &cliKey.PublicKey, caKey)
	keyDER, _ := x509.MarshalECPrivateKey(cliKey)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cliDER}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()

	cfg, err := ClientTLS(Credentials{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	tr := &http.Transport{TLSClientConfig: cfg}
	if got := get(t, tr, srv.URL); got != "hello a2atop" {
		t.Fatalf("with a client certificate: %q", got)
	}
	bare := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cfg.RootCAs}}
	if _, err := (&http.Client{Transport: bare}).Get(srv.URL); err == nil {
		t.Fatal("the server must refuse a client without a certificate")
	}
	if _, err := ClientTLS(Credentials{CertFile: certFile}); err == nil {
		t.Fatal("a certificate without its key must be refused")
	}
}

func FuzzParseSchemes(f *testing.F) {
	f.Add([]byte(v03Schemes))
	f.Add([]byte(v10Schemes))
	f.Fuzz(func(t *testing.T, raw []byte) {
		schemes, err := ParseSchemes(raw)
		if err != nil {
			return
		}
		_ = Choose(schemes, ParseRequirements(raw), Credentials{Bearer: "x"}).Describe()
	})
}

func TestPlanLabel(t *testing.T) {
	for _, c := range []struct {
		plan Plan
		want string
	}{
		{Plan{None: true}, ""},
		{Plan{None: true, Note: "the card asks for oauth2"}, "none given (see a2atop discover)"},
		{Plan{Scheme: Scheme{Kind: KindBearer}}, "bearer"},
		{Plan{Scheme: Scheme{Kind: KindOAuth2, Name: "cc"}, TLS: true}, "oauth2 + client certificate"},
		{Plan{Scheme: Scheme{Kind: KindMutualTLS}, TLS: true}, "mutualTLS"},
	} {
		if got := c.plan.Label(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.plan, got, c.want)
		}
	}
}
