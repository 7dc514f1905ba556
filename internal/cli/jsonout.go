package cli

import (
	"fmt"
	"io"

	"github.com/a2atop/a2atop/internal/termsafe"
)

// writeJSONLine writes one JSON value and a newline to w, with every
// control, bidi and format character spelled \uXXXX (termsafe.EscapeJSON).
// --json output is for programs, but it is piped to terminals too, and an
// agent's text must not be able to act on one there. Every --json command
// prints through here.
func writeJSONLine(w io.Writer, b []byte, err error) error {
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = w.Write(append(termsafe.EscapeJSON(b), '\n'))
	return err
}
