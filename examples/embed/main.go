// Command embed shows a2atop's engine used as a library: your own agent
// logic (here an "uppercase" agent) runs inside the engine, which keeps the
// tasks, runs the lifecycle and serves them as an a2a.Service, the same
// interface the a2atop dashboard, CLI and server consume.
//
//	go run ./examples/embed "make me loud"
//	go run ./examples/embed -db /tmp/embed.db "and keep me"
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
)

// upper is the custom agent: it answers every message with the message in
// capitals, after reporting progress once.
type upper struct{}

func (upper) Execute(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
	text := req.Message.Text()
	if strings.TrimSpace(text) == "" {
		return pub.Reject(ctx, "nothing to shout: the message has no text")
	}
	if err := pub.Status(ctx, "shouting…"); err != nil {
		return err
	}
	art := a2a.Artifact{Name: "uppercase", Parts: []a2a.Part{a2a.TextPart(strings.ToUpper(text))}}
	if err := pub.Artifact(ctx, art); err != nil {
		return err
	}
	return pub.Complete(ctx, "done")
}

// Card makes the agent describe itself (engine.Describer).
func (upper) Card() a2a.AgentCard {
	return a2a.AgentCard{
		Name:        "uppercase",
		Description: "Repeats every message in capitals.",
		Version:     "1.0.0",
		Skills:      []a2a.AgentSkill{{ID: "upper", Name: "uppercase", Description: "capitalises text", Examples: []string{"hello"}}},
	}
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// run starts an engine with the upper agent, sends one task and prints it.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(w)
	db := fs.String("db", "", "keep tasks in this bbolt file (default: in memory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if text == "" {
		text = "hello from an embedded engine"
	}

	var store engine.Store = engine.NewMemoryStore()
	if *db != "" {
		s, err := localstore.Open(*db, localstore.Options{})
		if err != nil {
			return err
		}
		store = s
	}
	eng, err := engine.New(store, upper{}, engine.Options{})
	if err != nil {
		store.Close()
		return err
	}
	// Close the engine first (it stops executions), then its store.
	defer store.Close()
	defer eng.Close()

	var svc a2a.Service = eng // what a dashboard or server would be given
	card, err := svc.Card(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Send(ctx, &a2a.SendRequest{Message: a2a.Message{
		ID:    uuid.NewString(),
		Role:  a2a.RoleUser,
		Parts: []a2a.Part{a2a.TextPart(text)},
	}})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	t := res.Task
	if t == nil {
		return fmt.Errorf("the agent answered without a task")
	}
	fmt.Fprintf(w, "agent:  %s\ntask:   %s\nstate:  %s\n", card.Name, t.ID, t.Status.State)
	for _, a := range t.Artifacts {
		fmt.Fprintf(w, "%s: %s\n", a.Name, a2a.PartsText(a.Parts))
	}
	return nil
}
