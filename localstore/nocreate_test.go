package localstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A reader's Open (NoCreate) of a path with no file fails and creates
// neither the file nor its directories.
func TestOpenNoCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "typo", "new.db")
	if _, err := Open(path, Options{NoCreate: true}); !errors.Is(err, ErrNoStore) {
		t.Fatalf("Open(NoCreate) = %v, want ErrNoStore", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(NoCreate) created the directory: %v", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{NoCreate: true})
	if err != nil {
		t.Fatalf("Open(NoCreate) of an existing store: %v", err)
	}
	s.Close()
}
