package a2a

import "encoding/json"

// Protocol bindings named in agent cards.
const (
	BindingJSONRPC  = "JSONRPC"
	BindingGRPC     = "GRPC"
	BindingHTTPJSON = "HTTP+JSON"
)

// Protocol versions a2atop speaks.
const (
	Version03 = "0.3"
	Version10 = "1.0"
)

// AgentCard describes an agent: who it is, what it can do, where to reach it.
// It holds the union of the v0.3 and v1.0 shapes; the codecs fill what their
// dialect carries and a dual card fills both.
type AgentCard struct {
	Name        string
	Description string
	Version     string
	Provider    *AgentProvider
	// DocumentationURL and IconURL are informational links.
	DocumentationURL string
	IconURL          string
	Capabilities     AgentCapabilities
	Skills           []AgentSkill
	// Interfaces is v1.0's supportedInterfaces, in the agent's preference order.
	Interfaces []AgentInterface
	// URL, ProtocolVersion, PreferredTransport and AdditionalInterfaces are
	// the v0.3 fields.
	URL                  string
	ProtocolVersion      string
	PreferredTransport   string
	AdditionalInterfaces []AgentInterface

	DefaultInputModes  []string
	DefaultOutputModes []string
	// SecuritySchemes and Security are kept as raw JSON: a2atop shows them
	// but never interprets them.
	SecuritySchemes json.RawMessage
	Security        json.RawMessage
	// SupportsExtendedCard is v1.0 capabilities.extendedAgentCard or v0.3
	// supportsAuthenticatedExtendedCard.
	SupportsExtendedCard bool
}

// AgentProvider is the organisation behind an agent.
type AgentProvider struct {
	Organization string
	URL          string
}

// AgentCapabilities are the optional protocol features an agent supports.
type AgentCapabilities struct {
	Streaming         bool
	PushNotifications bool
	// StateTransitionHistory is v0.3 only.
	StateTransitionHistory bool
	Extensions             []AgentExtension
}

// AgentExtension is a protocol extension an agent declares.
type AgentExtension struct {
	URI         string
	Description string
	Required    bool
	Params      json.RawMessage
}

// AgentSkill is one thing an agent says it can do.
type AgentSkill struct {
	ID          string
	Name        string
	Description string
	Tags        []string
	Examples    []string
	InputModes  []string
	OutputModes []string
}

// AgentInterface is one endpoint of an agent.
type AgentInterface struct {
	URL             string
	ProtocolBinding string // JSONRPC, GRPC, HTTP+JSON
	ProtocolVersion string // "1.0", "0.3"; empty in v0.3 additionalInterfaces
	Tenant          string
}

// AllInterfaces returns every interface the card names, each once: v1.0's
// supportedInterfaces first, in order, then the v0.3 main URL and additional
// interfaces (tagged protocol version 0.3 where the card says nothing else).
// A dual card names its v0.3 endpoint in both shapes; it is listed once.
func (c *AgentCard) AllInterfaces() []AgentInterface {
	var out []AgentInterface
	add := func(in AgentInterface) {
		for _, have := range out {
			if have == in {
				return
			}
		}
		out = append(out, in)
	}
	for _, in := range c.Interfaces {
		add(in)
	}
	v03 := c.ProtocolVersion
	if v03 == "" {
		v03 = Version03
	}
	if c.URL != "" {
		binding := c.PreferredTransport
		if binding == "" {
			binding = BindingJSONRPC
		}
		add(AgentInterface{URL: c.URL, ProtocolBinding: binding, ProtocolVersion: v03})
	}
	for _, in := range c.AdditionalInterfaces {
		if in.ProtocolVersion == "" {
			in.ProtocolVersion = v03
		}
		add(in)
	}
	return out
}

// WatchExtensionURI names a2atop's Watch feed among an agent card's
// capability extensions: a GET SSE feed of every task's events (v1.0
// StreamResponse JSON) whose event ids are resumable cursors. Its params
// are {"path": "/events"}, the feed's path on the agent's base URL.
const WatchExtensionURI = "https://a2atop.dev/ext/watch/v1"
