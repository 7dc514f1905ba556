package ui

import "time"

// Common is what every component of the dashboard shares, after
// soft-serve's pkg/ui/common: the styles, the one keymap and the clock.
// The root owns it and hands the same pointer to each component, so a new
// background colour or a clock tick reaches all of them at once. Sizes are
// not in it: each component gets its own with SetSize.
type Common struct {
	Styles Styles
	Keys   KeyMap
	// Now is the clock as of the last tick: ages are drawn against it.
	Now time.Time
	// Frame advances the working spinner, once per tick.
	Frame int
	// Agents names the fleet's agents, by index, for the AGENT column and
	// the agents strip; one agent hides the column.
	Agents []agentLabel
}
