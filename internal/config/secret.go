package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// maxSecretBytes bounds a secret read from a file or a command.
const maxSecretBytes = 64 << 10

// secretCommandTimeout bounds a secret command (a password manager that
// waits for a touch should not hang the dashboard forever).
const secretCommandTimeout = 30 * time.Second

// Secret is a value that comes from the environment, a file or a command,
// or (only where it is not a credential) a plain Value.
type Secret struct {
	Env, File, Command string
	Value              string
}

// IsZero says nothing was given.
func (s Secret) IsZero() bool { return s == Secret{} }

// Source names where the value comes from, never the value itself: for
// `config list` and error messages.
func (s Secret) Source() string {
	switch {
	case s.Env != "":
		return "env " + s.Env
	case s.File != "":
		return "file " + s.File
	case s.Command != "":
		return "command"
	case s.Value != "":
		return "value"
	}
	return "none"
}

// Resolve reads the value. getenv is the run's environment. Errors name
// the source, never the value or a command's output.
func (s Secret) Resolve(ctx context.Context, getenv func(string) string) (string, error) {
	switch {
	case s.Env != "":
		v := getenv(s.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or not set", s.Env)
		}
		return v, nil
	case s.File != "":
		return readSecretFile(expandHome(s.File, getenv))
	case s.Command != "":
		return runSecretCommand(ctx, s.Command)
	}
	return s.Value, nil
}

func expandHome(p string, getenv func(string) string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home := getenv("HOME"); home != "" {
			return home + "/" + rest
		}
	}
	return p
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	if len(b) > maxSecretBytes {
		return "", fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretBytes)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return v, nil
}

func runSecretCommand(ctx context.Context, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, secretCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: maxSecretBytes}
	// The command's stderr goes nowhere: it may echo what it read.
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("secret command exited with status %d", ee.ExitCode())
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("secret command did not finish within %s", secretCommandTimeout)
		}
		return "", fmt.Errorf("secret command: %w", err)
	}
	v := strings.TrimRight(out.String(), "\r\n")
	if v == "" {
		return "", errors.New("secret command printed nothing")
	}
	return v, nil
}

// limitedWriter keeps at most n bytes and discards the rest, so a command
// that floods stdout cannot grow memory without bound.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	keep := min(len(p), l.n)
	if keep > 0 {
		if _, err := l.w.Write(p[:keep]); err != nil {
			return 0, err
		}
		l.n -= keep
	}
	return len(p), nil
}
