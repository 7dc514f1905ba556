// Package config reads a2atop's config file: named agents (remote URLs or
// local stores), named sets of them, and the set the dashboard opens by
// default.
//
// The file is YAML, read with github.com/goccy/go-yaml because its errors
// carry the line and column of the offending token and its AST lets a
// semantic error (a bad URL, an unknown set member) name its line too, so
// every problem is reported as "file:line: field: what is wrong".
//
// Secrets are never read from the file itself: a secret is a reference to
// an environment variable, a file or a command, resolved only when a
// connection needs it (see Secret).
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// MaxFileBytes bounds the config file read: it is a handful of agents, and
// a mistaken path to a huge file should fail fast rather than fill memory.
const MaxFileBytes = 1 << 20

// Reserved agent names: "local" is the local engine on its store and "all"
// is every agent (":agent all", "list -A").
const (
	LocalName = "local"
	AllName   = "all"
)

// Config is a parsed, validated config file.
type Config struct {
	// Path is the file it was read from ("" when there was none).
	Path string
	// Agents in the order the file lists them.
	Agents []Agent
	// Sets maps a set name to agent names, in the order given.
	Sets map[string][]string
	// Default is what the dashboard opens with no argument: agent or set
	// names, expanded by Resolve. Empty: the local engine.
	Default []string
}

// Agent is one named target.
type Agent struct {
	Name string
	// URL of a remote A2A agent (its base URL or its card's URL). Exactly
	// one of URL and DB is set.
	URL string
	// DB is a local store (a bbolt file path or a database DSN) whose
	// engine a2atop runs or shares.
	DB string
	// Binding forces "jsonrpc" or "rest"; empty lets the card decide.
	Binding string
	// Protocol forces "1.0" or "0.3"; empty lets the card decide.
	Protocol string
	// Headers are sent with every request; a value may be a Secret.
	Headers []Header
	Auth    Auth
	// ReadOnly refuses answer, cancel and new task on this agent.
	ReadOnly bool
	// Color names the agent's colour in the dashboard: a name, "#rrggbb"
	// or an ANSI number; empty picks one.
	Color string
	// Line is where the agent is defined, for messages.
	Line int
}

// Header is one request header.
type Header struct {
	Name  string
	Value Secret
}

// Auth says how to authenticate to an agent; at most one scheme is set,
// and none means the card's securitySchemes decide with what the command
// line or environment gives.
type Auth struct {
	Bearer *Secret
	APIKey *APIKey
	OAuth2 *OAuth2
	// Cert and Key are a client certificate for mutual TLS (PEM files).
	Cert, Key string
}

// APIKey is an API key sent as a header, query parameter or cookie.
type APIKey struct {
	// Name of the header, parameter or cookie; empty takes the card's.
	Name string
	// In is "header", "query" or "cookie"; empty takes the card's.
	In    string
	Value Secret
}

// OAuth2 is the client-credentials flow.
type OAuth2 struct {
	ClientID     string
	ClientSecret Secret
	// TokenURL overrides the card's token URL.
	TokenURL string
	Scopes   []string
}

// namePattern keeps names usable on a command line and in ":agent NAME".
var namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,39}$`)

// Error is one problem in the file, located by line and field.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Errors is every problem Check found, in file order.
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	if len(es) == 1 {
		return es[0].Error()
	}
	return fmt.Sprintf("%s (and %d more: run 'a2atop config check')", es[0].Error(), len(es)-1)
}

// Path is where the config file lives: $A2ATOP_CONFIG, else
// $XDG_CONFIG_HOME/a2atop/config.yaml, else ~/.config/a2atop/config.yaml.
// getenv is the environment of the run (injected, never os.Getenv).
func Path(getenv func(string) string) (string, error) {
	if p := getenv("A2ATOP_CONFIG"); p != "" {
		return p, nil
	}
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "a2atop", "config.yaml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("cannot find the config file: neither XDG_CONFIG_HOME nor HOME is set (set A2ATOP_CONFIG to its path)")
	}
	return filepath.Join(home, ".config", "a2atop", "config.yaml"), nil
}

// Load reads and validates the file at path. A missing file is not an
// error: it returns an empty Config and ok=false. Any problem is returned as
// Errors, the first of which reads as one line.
func Load(path string) (cfg *Config, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{Sets: map[string][]string{}}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("config %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("config %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, false, Errors{{File: path, Msg: "is a folder, not a file"}}
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("config %s: %w", path, err)
	}
	if len(src) > MaxFileBytes {
		return nil, false, Errors{{File: path, Msg: fmt.Sprintf("larger than %d bytes: is this the right file?", MaxFileBytes)}}
	}
	cfg, err = Parse(path, src)
	return cfg, err == nil, err
}

// Parse validates the YAML in src; name is the file name errors carry.
func Parse(name string, src []byte) (*Config, error) {
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, Errors{yamlError(name, err)}
	}
	var raw rawFile
	if err := yaml.NewDecoder(strings.NewReader(string(src)), yaml.DisallowUnknownField(), yaml.Strict()).Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, Errors{yamlError(name, err)}
	}
	v := validator{name: name, file: file}
	cfg := v.build(&raw, agentOrder(file))
	if len(v.errs) > 0 {
		slices.SortStableFunc(v.errs, func(a, b *Error) int { return a.Line - b.Line })
		return nil, v.errs
	}
	cfg.Path = name
	return cfg, nil
}

// yamlError turns a decoder error into an Error with the token's line.
func yamlError(name string, err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &Error{File: name, Line: line, Msg: oneLine(ye.GetMessage())}
	}
	return &Error{File: name, Msg: oneLine(err.Error())}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// agentOrder reads the agents' names in file order: the decoded map has
// none, and the dashboard lists agents (and numbers them 1…9) in the order
// the user wrote them.
func agentOrder(file *ast.File) []string {
	var names []string
	for _, doc := range file.Docs {
		agents, _ := child(doc.Body, "agents")
		switch am := agents.(type) {
		case *ast.MappingNode:
			for _, a := range am.Values {
				names = append(names, unquote(a.Key.String()))
			}
		case *ast.MappingValueNode:
			names = append(names, unquote(am.Key.String()))
		}
	}
	return names
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, "'")
}

// validator collects every problem so `config check` can list them all.
type validator struct {
	name string
	file *ast.File
	errs Errors
}

// fail records a problem at the YAML path (dotted, e.g. agents.prod.url).
func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.name, Line: v.line(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

// line finds the line of path in the file (the key's line for a mapping
// entry), walking up to the nearest parent that exists: a missing field
// is reported on its parent's line.
func (v *validator) line(path string) int {
	if len(v.file.Docs) == 0 {
		return 0
	}
	node := v.file.Docs[0].Body
	line := 0
	for _, part := range splitPath(path) {
		next, at := child(node, part)
		if next == nil {
			break
		}
		node, line = next, at
	}
	return line
}

// splitPath splits "sets.s[1]" into "sets", "s", "[1]".
func splitPath(path string) []string {
	var out []string
	for _, p := range strings.Split(path, ".") {
		if i := strings.IndexByte(p, '['); i > 0 {
			out = append(out, p[:i], p[i:])
			continue
		}
		out = append(out, p)
	}
	return out
}

// child steps from node to its key or "[i]" element, with the line of
// that key or element.
func child(node ast.Node, part string) (ast.Node, int) {
	switch n := node.(type) {
	case *ast.MappingNode:
		for _, kv := range n.Values {
			if unquote(kv.Key.String()) == part {
				return kv.Value, tokenLine(kv.Key)
			}
		}
	case *ast.MappingValueNode:
		if unquote(n.Key.String()) == part {
			return n.Value, tokenLine(n.Key)
		}
	case *ast.SequenceNode:
		i, err := strconv.Atoi(strings.Trim(part, "[]"))
		if err == nil && i >= 0 && i < len(n.Values) {
			return n.Values[i], tokenLine(n.Values[i])
		}
	}
	return nil, 0
}

func tokenLine(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func (v *validator) build(raw *rawFile, order []string) *Config {
	cfg := &Config{Sets: map[string][]string{}}
	known := map[string]bool{LocalName: true}
	for _, name := range order {
		ra, ok := raw.Agents[name]
		if !ok {
			continue
		}
		a := v.agent(name, ra)
		cfg.Agents = append(cfg.Agents, a)
		known[name] = true
	}
	for name, members := range raw.Sets {
		field := "sets." + name
		if !namePattern.MatchString(name) || name == AllName || name == LocalName {
			v.fail(field, "set names are letters, digits, - and _ (not %q, %q)", LocalName, AllName)
		}
		if known[name] {
			v.fail(field, "%q is already an agent's name", name)
		}
		if len(members) == 0 {
			v.fail(field, "a set lists at least one agent")
		}
		for i, m := range members {
			if !known[m] {
				v.fail(fmt.Sprintf("%s[%d]", field, i), "no agent named %q (agents: %s)", m, strings.Join(sortedKeys(known), ", "))
			}
		}
		cfg.Sets[name] = members
	}
	for i, d := range raw.Default {
		if !known[d] && raw.Sets[d] == nil {
			v.fail(fmt.Sprintf("default[%d]", i), "no agent or set named %q", d)
		}
	}
	cfg.Default = raw.Default
	return cfg
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (v *validator) agent(name string, ra rawAgent) Agent {
	field := "agents." + name
	a := Agent{Name: name, URL: ra.URL, DB: ra.DB, Binding: strings.ToLower(ra.Binding), Protocol: ra.Protocol,
		ReadOnly: ra.ReadOnly, Color: ra.Color, Line: v.line(field)}
	switch {
	case !namePattern.MatchString(name):
		v.fail(field, "agent names are a letter, then letters, digits, - and _ (at most 40)")
	case name == LocalName || name == AllName:
		v.fail(field, "%q is reserved: name this agent otherwise", name)
	}
	switch {
	case ra.URL == "" && ra.DB == "":
		v.fail(field, "set url (a remote agent) or db (a local store)")
	case ra.URL != "" && ra.DB != "":
		v.fail(field+".db", "an agent has url or db, not both")
	case ra.URL != "":
		if u, err := url.Parse(ra.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(field+".url", "%q is not an http(s) URL", ra.URL)
		}
	}
	if ra.DB != "" && (ra.Binding != "" || ra.Protocol != "" || len(ra.Headers) > 0 || ra.Auth != nil) {
		v.fail(field, "binding, protocol, headers and auth apply to remote agents (url), not to a local store (db)")
	}
	if a.Binding != "" && a.Binding != "jsonrpc" && a.Binding != "rest" {
		v.fail(field+".binding", "%q is not a binding: use jsonrpc or rest", ra.Binding)
	}
	if a.Protocol != "" && a.Protocol != "1.0" && a.Protocol != "0.3" {
		v.fail(field+".protocol", "%q is not a protocol version: use \"1.0\" or \"0.3\"", ra.Protocol)
	}
	if a.Color != "" && !validColor(a.Color) {
		v.fail(field+".color", "%q is not a colour: use a name (red, green, yellow, blue, magenta, cyan, orange, pink, gray), #rrggbb or 0-255", a.Color)
	}
	hnames := make([]string, 0, len(ra.Headers))
	for h := range ra.Headers {
		hnames = append(hnames, h)
	}
	slices.Sort(hnames)
	for _, h := range hnames {
		hv := ra.Headers[h]
		hf := field + ".headers." + h
		if !validHeaderName(h) {
			v.fail(hf, "%q is not a header name", h)
			continue
		}
		if hv.literal && sensitiveHeader(h) {
			v.fail(hf, "a secret is never written in the config: use {env: NAME}, {file: PATH} or {command: CMD}")
			continue
		}
		v.secret(hf, hv.Secret)
		a.Headers = append(a.Headers, Header{Name: h, Value: hv.Secret})
	}
	if ra.Auth != nil {
		a.Auth = v.auth(field+".auth", ra.Auth)
	}
	return a
}

func (v *validator) auth(field string, ra *rawAuth) Auth {
	var a Auth
	n := 0
	if ra.Bearer != nil {
		n++
		v.secretRef(field+".bearer", *ra.Bearer)
		s := ra.Bearer.Secret
		a.Bearer = &s
	}
	if ra.APIKey != nil {
		n++
		in := strings.ToLower(ra.APIKey.In)
		if in != "" && in != "header" && in != "query" && in != "cookie" {
			v.fail(field+".apiKey.in", "%q: use header, query or cookie", ra.APIKey.In)
		}
		v.secretRef(field+".apiKey.value", ra.APIKey.Value)
		a.APIKey = &APIKey{Name: ra.APIKey.Name, In: in, Value: ra.APIKey.Value.Secret}
	}
	if ra.OAuth2 != nil {
		n++
		if ra.OAuth2.ClientID == "" {
			v.fail(field+".oauth2", "clientId is required")
		}
		if ra.OAuth2.TokenURL != "" {
			if u, err := url.Parse(ra.OAuth2.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				v.fail(field+".oauth2.tokenUrl", "%q is not an http(s) URL", ra.OAuth2.TokenURL)
			}
		}
		v.secretRef(field+".oauth2.clientSecret", ra.OAuth2.ClientSecret)
		a.OAuth2 = &OAuth2{ClientID: ra.OAuth2.ClientID, ClientSecret: ra.OAuth2.ClientSecret.Secret, TokenURL: ra.OAuth2.TokenURL, Scopes: ra.OAuth2.Scopes}
	}
	if (ra.Cert == "") != (ra.Key == "") {
		v.fail(field, "mutual TLS needs both cert and key")
	}
	a.Cert, a.Key = ra.Cert, ra.Key
	if n > 1 {
		v.fail(field, "choose one of bearer, apiKey and oauth2")
	}
	return a
}

// secretRef validates a value that must be a reference, never a literal.
func (v *validator) secretRef(field string, s rawSecret) {
	if s.literal {
		v.fail(field, "a secret is never written in the config: use {env: NAME}, {file: PATH} or {command: CMD}")
		return
	}
	if s.Secret.IsZero() {
		v.fail(field, "missing: give {env: NAME}, {file: PATH} or {command: CMD}")
		return
	}
	v.secret(field, s.Secret)
}

func (v *validator) secret(field string, s Secret) {
	set := 0
	for _, x := range []string{s.Env, s.File, s.Command} {
		if x != "" {
			set++
		}
	}
	if set > 1 {
		v.fail(field, "give one of env, file and command")
	}
}

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// colorNames are the names Color accepts; the dashboard maps them.
var colorNames = []string{"red", "green", "yellow", "blue", "magenta", "cyan", "orange", "pink", "gray", "grey", "white", "purple"}

func validColor(c string) bool {
	if hexColor.MatchString(c) || slices.Contains(colorNames, strings.ToLower(c)) {
		return true
	}
	n, err := strconv.Atoi(c)
	return err == nil && n >= 0 && n <= 255
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

// sensitiveHeader says a header carries a credential, so its value may not
// be written in the file.
func sensitiveHeader(h string) bool {
	l := strings.ToLower(h)
	switch l {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "password", "auth"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}
