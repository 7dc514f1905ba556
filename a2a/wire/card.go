package wire

import (
	"encoding/json"
	"fmt"

	"github.com/a2atop/a2atop/a2a"
)

// wCard is the union of the v1.0 and v0.3 agent card shapes.
type wCard struct {
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	Version            string          `json:"version"`
	Provider           *wProvider      `json:"provider,omitempty"`
	DocumentationURL   string          `json:"documentationUrl,omitempty"`
	IconURL            string          `json:"iconUrl,omitempty"`
	Capabilities       wCapabilities   `json:"capabilities"`
	Skills             []wSkill        `json:"skills"`
	DefaultInputModes  []string        `json:"defaultInputModes"`
	DefaultOutputModes []string        `json:"defaultOutputModes"`
	SecuritySchemes    json.RawMessage `json:"securitySchemes,omitempty"`
	// v1.0
	SupportedInterfaces  []wInterface    `json:"supportedInterfaces,omitempty"`
	SecurityRequirements json.RawMessage `json:"securityRequirements,omitempty"`
	// v0.3
	URL                               string          `json:"url,omitempty"`
	ProtocolVersion                   string          `json:"protocolVersion,omitempty"`
	PreferredTransport                string          `json:"preferredTransport,omitempty"`
	AdditionalInterfaces              []wInterface    `json:"additionalInterfaces,omitempty"`
	Security                          json.RawMessage `json:"security,omitempty"`
	SupportsAuthenticatedExtendedCard bool            `json:"supportsAuthenticatedExtendedCard,omitempty"`
}

type wProvider struct {
	Organization string `json:"organization"`
	URL          string `json:"url"`
}

type wCapabilities struct {
	Streaming              bool         `json:"streaming,omitempty"`
	PushNotifications      bool         `json:"pushNotifications,omitempty"`
	StateTransitionHistory bool         `json:"stateTransitionHistory,omitempty"`
	ExtendedAgentCard      bool         `json:"extendedAgentCard,omitempty"`
	Extensions             []wExtension `json:"extensions,omitempty"`
}

type wExtension struct {
	URI         string          `json:"uri,omitempty"`
	Description string          `json:"description,omitempty"`
	Required    bool            `json:"required,omitempty"`
	Params      json.RawMessage `json:"params,omitempty"`
}

type wSkill struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Examples    []string `json:"examples,omitempty"`
	InputModes  []string `json:"inputModes,omitempty"`
	OutputModes []string `json:"outputModes,omitempty"`
}

// wInterface is a v1.0 supportedInterfaces entry (protocolBinding) or a v0.3
// additionalInterfaces entry (transport).
type wInterface struct {
	URL             string `json:"url"`
	ProtocolBinding string `json:"protocolBinding,omitempty"`
	Transport       string `json:"transport,omitempty"`
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	Tenant          string `json:"tenant,omitempty"`
}

// EncodeCard writes the card in the codec's shape. V10 writes
// supportedInterfaces and, when the card has v0.3 fields (URL set), the v0.3
// top-level fields too: the dual card a2a-go publishes. V03 writes only the
// v0.3 shape, deriving url/protocolVersion/preferredTransport from the first
// interface when the card has none.
func (c codec) EncodeCard(card *a2a.AgentCard) ([]byte, error) {
	if card == nil {
		return nil, fmt.Errorf("wire: encode card: nil")
	}
	w := wCard{
		Name:               card.Name,
		Description:        card.Description,
		Version:            card.Version,
		DocumentationURL:   card.DocumentationURL,
		IconURL:            card.IconURL,
		Capabilities:       wCapabilities{Streaming: card.Capabilities.Streaming, PushNotifications: card.Capabilities.PushNotifications},
		Skills:             make([]wSkill, len(card.Skills)),
		DefaultInputModes:  nonNilStrs(card.DefaultInputModes),
		DefaultOutputModes: nonNilStrs(card.DefaultOutputModes),
		SecuritySchemes:    compact(card.SecuritySchemes),
	}
	if card.Provider != nil {
		w.Provider = &wProvider{Organization: card.Provider.Organization, URL: card.Provider.URL}
	}
	for _, e := range card.Capabilities.Extensions {
		w.Capabilities.Extensions = append(w.Capabilities.Extensions, wExtension{URI: e.URI, Description: e.Description, Required: e.Required, Params: compact(e.Params)})
	}
	for i, s := range card.Skills {
		w.Skills[i] = wSkill{ID: s.ID, Name: s.Name, Description: s.Description, Tags: nonNilStrs(s.Tags),
			Examples: s.Examples, InputModes: s.InputModes, OutputModes: s.OutputModes}
	}
	v03 := func() {
		w.URL = card.URL
		w.ProtocolVersion = card.ProtocolVersion
		w.PreferredTransport = card.PreferredTransport
		for _, in := range card.AdditionalInterfaces {
			w.AdditionalInterfaces = append(w.AdditionalInterfaces, wInterface{URL: in.URL, Transport: in.ProtocolBinding})
		}
		w.Capabilities.StateTransitionHistory = card.Capabilities.StateTransitionHistory
	}
	if c.v10 {
		w.SupportedInterfaces = make([]wInterface, len(card.Interfaces))
		for i, in := range card.Interfaces {
			w.SupportedInterfaces[i] = wInterface{URL: in.URL, ProtocolBinding: in.ProtocolBinding, ProtocolVersion: in.ProtocolVersion, Tenant: in.Tenant}
		}
		w.Capabilities.ExtendedAgentCard = card.SupportsExtendedCard
		w.SecurityRequirements = compact(card.Security)
		if card.URL != "" {
			v03()
		}
	} else {
		v03()
		if w.URL == "" && len(card.Interfaces) > 0 {
			first := card.Interfaces[0]
			w.URL, w.PreferredTransport = first.URL, first.ProtocolBinding
		}
		if w.ProtocolVersion == "" {
			w.ProtocolVersion = a2a.Version03
		}
		w.SupportsAuthenticatedExtendedCard = card.SupportsExtendedCard
		w.Security = compact(card.Security)
	}
	return json.Marshal(&w)
}

// DecodeCard reads either shape, or both at once.
func (c codec) DecodeCard(b []byte) (*a2a.AgentCard, error) {
	var w wCard
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wire: decode agent card: %w", err)
	}
	card := &a2a.AgentCard{
		Name:             w.Name,
		Description:      w.Description,
		Version:          w.Version,
		DocumentationURL: w.DocumentationURL,
		IconURL:          w.IconURL,
		Capabilities: a2a.AgentCapabilities{
			Streaming:              w.Capabilities.Streaming,
			PushNotifications:      w.Capabilities.PushNotifications,
			StateTransitionHistory: w.Capabilities.StateTransitionHistory,
		},
		URL:                  w.URL,
		ProtocolVersion:      w.ProtocolVersion,
		PreferredTransport:   w.PreferredTransport,
		DefaultInputModes:    strs(w.DefaultInputModes),
		DefaultOutputModes:   strs(w.DefaultOutputModes),
		SecuritySchemes:      compact(w.SecuritySchemes),
		Security:             compact(w.SecurityRequirements),
		SupportsExtendedCard: w.Capabilities.ExtendedAgentCard || w.SupportsAuthenticatedExtendedCard,
	}
	if card.Security == nil {
		card.Security = compact(w.Security)
	}
	if w.Provider != nil {
		card.Provider = &a2a.AgentProvider{Organization: w.Provider.Organization, URL: w.Provider.URL}
	}
	for _, e := range w.Capabilities.Extensions {
		card.Capabilities.Extensions = append(card.Capabilities.Extensions,
			a2a.AgentExtension{URI: e.URI, Description: e.Description, Required: e.Required, Params: compact(e.Params)})
	}
	for _, s := range w.Skills {
		card.Skills = append(card.Skills, a2a.AgentSkill{ID: s.ID, Name: s.Name, Description: s.Description,
			Tags: strs(s.Tags), Examples: strs(s.Examples), InputModes: strs(s.InputModes), OutputModes: strs(s.OutputModes)})
	}
	for _, in := range w.SupportedInterfaces {
		binding := in.ProtocolBinding
		if binding == "" {
			binding = in.Transport
		}
		card.Interfaces = append(card.Interfaces, a2a.AgentInterface{URL: in.URL, ProtocolBinding: binding, ProtocolVersion: in.ProtocolVersion, Tenant: in.Tenant})
	}
	for _, in := range w.AdditionalInterfaces {
		binding := in.Transport
		if binding == "" {
			binding = in.ProtocolBinding
		}
		card.AdditionalInterfaces = append(card.AdditionalInterfaces, a2a.AgentInterface{URL: in.URL, ProtocolBinding: binding, ProtocolVersion: in.ProtocolVersion, Tenant: in.Tenant})
	}
	return card, nil
}

func nonNilStrs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
