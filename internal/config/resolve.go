package config

import (
	"fmt"
	"strings"
)

// Target is one thing a dashboard or a command opens: the local engine, a
// named agent from the file, or a bare URL.
type Target struct {
	// Name is what the dashboard shows in its AGENT column.
	Name string
	// Agent is the config entry; for a bare URL it holds only Name and URL,
	// for "local" only the name.
	Agent Agent
	// Local is true for the local engine given by the command's --db.
	Local bool
}

// Agent returns the named agent.
func (c *Config) Agent(name string) (Agent, bool) {
	for _, a := range c.Agents {
		if a.Name == name {
			return a, true
		}
	}
	return Agent{}, false
}

// Resolve expands the command line's target words (URLs, "local", agent
// and set names) into targets, in order, without repeats. No words: the
// file's default set, else the local engine. "all" is every agent in the
// file (and local when the file names none that is local).
func (c *Config) Resolve(words []string) ([]Target, error) {
	if len(words) == 0 {
		words = c.Default
	}
	if len(words) == 0 {
		return []Target{{Name: LocalName, Local: true}}, nil
	}
	var out []Target
	seen := map[string]bool{}
	add := func(t Target) {
		key := t.Name + "\x00" + t.Agent.URL
		if !seen[key] {
			seen[key] = true
			out = append(out, t)
		}
	}
	var expand func(w string, depth int) error
	expand = func(w string, depth int) error {
		switch {
		case w == LocalName:
			add(Target{Name: LocalName, Local: true})
		case w == AllName:
			if len(c.Agents) == 0 {
				add(Target{Name: LocalName, Local: true})
			}
			for _, a := range c.Agents {
				add(Target{Name: a.Name, Agent: a})
			}
		case strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://"):
			add(Target{Name: hostName(w), Agent: Agent{Name: hostName(w), URL: w}})
		default:
			if a, ok := c.Agent(w); ok {
				add(Target{Name: a.Name, Agent: a})
				return nil
			}
			if members, ok := c.Sets[w]; ok && depth == 0 {
				for _, m := range members {
					if err := expand(m, depth+1); err != nil {
						return err
					}
				}
				return nil
			}
			return fmt.Errorf("%q is not a URL, %q, or an agent or set in %s (see 'a2atop config list')", w, LocalName, c.where())
		}
		return nil
	}
	for _, w := range words {
		if err := expand(w, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Config) where() string {
	if c.Path == "" {
		return "the config file (there is none)"
	}
	return c.Path
}

// hostName is a short name for a bare URL: its host and port.
func hostName(u string) string {
	rest := u[strings.Index(u, "//")+2:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
