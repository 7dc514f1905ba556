package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunInMemory(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"make", "me", "loud"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"agent:  uppercase", "state:  completed", "uppercase: MAKE ME LOUD"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunOnBbolt(t *testing.T) {
	db := filepath.Join(t.TempDir(), "embed.db")
	for i := 0; i < 2; i++ { // the second run reopens the file
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-db", db, "keep me"}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "uppercase: KEEP ME") {
			t.Fatalf("run %d:\n%s", i, out.String())
		}
	}
}
