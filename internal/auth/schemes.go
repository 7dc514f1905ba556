// Package auth authenticates a2atop to agents the way their cards ask:
// it reads an agent card's securitySchemes (both the v0.3 and the v1.0
// shape), chooses one the user has credentials for, and wraps an HTTP
// transport so every request carries them: an HTTP bearer token, an API
// key (header, query parameter or cookie), an OAuth2 client-credentials
// token fetched, cached in memory and refreshed before it expires, or a
// client certificate for mutual TLS.
//
// Credentials arrive already resolved (from a file, an environment
// variable or the config's secret command); this package never logs them
// and its errors never contain them.
package auth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kind is a security scheme's type, as a2atop names it.
type Kind string

// The kinds of scheme. KindBasic and KindOpenIDConnect are recognised so
// discover can name them, but a2atop does not authenticate with them.
const (
	KindBearer        Kind = "bearer"
	KindBasic         Kind = "basic"
	KindAPIKey        Kind = "apiKey"
	KindOAuth2        Kind = "oauth2"
	KindMutualTLS     Kind = "mutualTLS"
	KindOpenIDConnect Kind = "openIdConnect"
	KindUnknown       Kind = "unknown"
)

// Scheme is one entry of a card's securitySchemes.
type Scheme struct {
	// Name is the scheme's key in the card.
	Name string
	Kind Kind
	// In and Param place an API key: In is "header", "query" or "cookie".
	In, Param string
	// TokenURL and Scopes are the OAuth2 client-credentials flow's; Flows
	// names every flow the card offers.
	TokenURL string
	Scopes   []string
	Flows    []string
}

// String describes the scheme for discover, e.g. `apiKey "key" (header X-API-Key)`.
func (s Scheme) String() string {
	switch s.Kind {
	case KindAPIKey:
		return fmt.Sprintf("%s %q (%s %s)", s.Kind, s.Name, s.In, s.Param)
	case KindOAuth2:
		if s.TokenURL != "" {
			return fmt.Sprintf("%s %q (client credentials at %s)", s.Kind, s.Name, s.TokenURL)
		}
		return fmt.Sprintf("%s %q (flows: %s; a2atop does client credentials only)", s.Kind, s.Name, strings.Join(s.Flows, ", "))
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

// maxSchemes bounds what a card may declare: the list is shown to the user.
const maxSchemes = 32

// ParseSchemes reads a card's securitySchemes in either dialect: v0.3's
// OpenAPI shape ({"type":"http","scheme":"bearer"}, {"type":"apiKey","in",
// "name"}, {"type":"oauth2","flows":…}, {"type":"mutualTLS"}) or v1.0's
// one-of members (httpAuthSecurityScheme, apiKeySecurityScheme with
// location, oauth2SecurityScheme, mtlsSecurityScheme). A scheme it cannot
// read is kept as KindUnknown rather than failing the card. The result is
// sorted by name, so it reads the same every time.
func ParseSchemes(raw json.RawMessage) ([]Scheme, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var byName map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byName); err != nil {
		return nil, fmt.Errorf("securitySchemes is not an object: %w", err)
	}
	if len(byName) > maxSchemes {
		return nil, fmt.Errorf("securitySchemes declares %d schemes (at most %d are read)", len(byName), maxSchemes)
	}
	out := make([]Scheme, 0, len(byName))
	for name, body := range byName {
		out = append(out, parseScheme(name, body))
	}
	slices.SortFunc(out, func(a, b Scheme) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// schemeJSON is the union of both dialects' members.
type schemeJSON struct {
	// v0.3 (OpenAPI)
	Type             string          `json:"type"`
	Scheme           string          `json:"scheme"`
	In               string          `json:"in"`
	Name             string          `json:"name"`
	Flows            json.RawMessage `json:"flows"`
	OpenIDConnectURL string          `json:"openIdConnectUrl"`
	// v1.0
	HTTPAuth *struct {
		Scheme string `json:"scheme"`
	} `json:"httpAuthSecurityScheme"`
	APIKey *struct {
		Location string `json:"location"`
		Name     string `json:"name"`
	} `json:"apiKeySecurityScheme"`
	OAuth2 *struct {
		Flows json.RawMessage `json:"flows"`
	} `json:"oauth2SecurityScheme"`
	MTLS   *struct{} `json:"mtlsSecurityScheme"`
	OpenID *struct{} `json:"openIdConnectSecurityScheme"`
}

type flowsJSON map[string]struct {
	TokenURL string            `json:"tokenUrl"`
	Scopes   map[string]string `json:"scopes"`
}

func parseScheme(name string, body json.RawMessage) Scheme {
	s := Scheme{Name: name, Kind: KindUnknown}
	var j schemeJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return s
	}
	switch {
	case j.HTTPAuth != nil:
		s.Kind = httpKind(j.HTTPAuth.Scheme)
	case j.APIKey != nil:
		s.Kind, s.In, s.Param = KindAPIKey, strings.ToLower(j.APIKey.Location), j.APIKey.Name
	case j.OAuth2 != nil:
		s.Kind = KindOAuth2
		s.readFlows(j.OAuth2.Flows)
	case j.MTLS != nil:
		s.Kind = KindMutualTLS
	case j.OpenID != nil:
		s.Kind = KindOpenIDConnect
	default:
		switch strings.ToLower(j.Type) {
		case "http":
			s.Kind = httpKind(j.Scheme)
		case "apikey":
			s.Kind, s.In, s.Param = KindAPIKey, strings.ToLower(j.In), j.Name
		case "oauth2":
			s.Kind = KindOAuth2
			s.readFlows(j.Flows)
		case "mutualtls":
			s.Kind = KindMutualTLS
		case "openidconnect":
			s.Kind = KindOpenIDConnect
		}
	}
	return s
}

// httpKind reads an HTTP auth scheme name; RFC 9110 makes it
// case-insensitive.
func httpKind(scheme string) Kind {
	switch strings.ToLower(scheme) {
	case "bearer":
		return KindBearer
	case "basic":
		return KindBasic
	}
	return KindUnknown
}

func (s *Scheme) readFlows(raw json.RawMessage) {
	var flows flowsJSON
	if json.Unmarshal(raw, &flows) != nil {
		return
	}
	for name := range flows {
		s.Flows = append(s.Flows, name)
	}
	slices.Sort(s.Flows)
	if cc, ok := flows["clientCredentials"]; ok {
		s.TokenURL = cc.TokenURL
		for scope := range cc.Scopes {
			s.Scopes = append(s.Scopes, scope)
		}
		slices.Sort(s.Scopes)
	}
}

// ParseRequirements reads a card's security requirements (v0.3 `security`:
// a list of {name: scopes}; v1.0 `securityRequirements`: a list of
// {"schemes": {name: {list: scopes}}} or the v0.3 shape) into the scheme
// names each alternative needs, in the card's order.
func ParseRequirements(raw json.RawMessage) [][]string {
	var list []map[string]json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out [][]string
	for _, req := range list {
		if inner, ok := req["schemes"]; ok && len(req) == 1 {
			var m map[string]json.RawMessage
			if json.Unmarshal(inner, &m) == nil {
				req = m
			}
		}
		names := make([]string, 0, len(req))
		for name := range req {
			names = append(names, name)
		}
		slices.Sort(names)
		out = append(out, names)
	}
	return out
}
