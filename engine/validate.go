package engine

import (
	"fmt"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
)

// validateMessage checks a user's message before anything is stored.
func validateMessage(m *a2a.Message) error {
	if len(m.Parts) == 0 {
		return a2a.NewError(a2a.ErrInvalidParams, "message has no parts")
	}
	if !utf8.ValidString(m.ID) || !utf8.ValidString(m.TaskID) || !utf8.ValidString(m.ContextID) {
		return a2a.NewError(a2a.ErrInvalidParams, "message ids are not valid UTF-8")
	}
	if err := validateParts(m.Parts); err != nil {
		return a2a.NewError(a2a.ErrInvalidParams, "message: %v", err)
	}
	return nil
}

// validateParts checks that texts are UTF-8, data is JSON, and the total
// size is within MaxMessageBytes.
func validateParts(parts []a2a.Part) error {
	size := 0
	for i, p := range parts {
		switch p.Kind {
		case a2a.PartText:
			if !utf8.ValidString(p.Text) {
				return fmt.Errorf("part %d: text is not valid UTF-8", i)
			}
			size += len(p.Text)
		case a2a.PartData:
			if !utf8.Valid(p.Data) {
				return fmt.Errorf("part %d: data is not valid UTF-8", i)
			}
			size += len(p.Data)
		case a2a.PartFile:
			if p.File == nil {
				return fmt.Errorf("part %d: file part without a file", i)
			}
			if !utf8.ValidString(p.File.Name) || !utf8.ValidString(p.File.URI) || !utf8.ValidString(p.File.MediaType) {
				return fmt.Errorf("part %d: file name, media type or URI is not valid UTF-8", i)
			}
			size += len(p.File.Bytes) + len(p.File.URI) + len(p.File.Name)
		default:
			return fmt.Errorf("part %d: unknown kind %q", i, p.Kind)
		}
		if size > MaxMessageBytes {
			return fmt.Errorf("parts exceed the limit of %d bytes (8 MiB)", MaxMessageBytes)
		}
	}
	return nil
}

func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not valid UTF-8")
	}
	return nil
}
