package steps

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown renders the step catalogue as docs/steps.md.
func WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Step catalogue\n\n")
	b.WriteString("Generated from the step registry (`steps.Catalogue`) by `rehearse steps --markdown`;\n")
	b.WriteString("a test fails when this file is stale. Run `make docs` to regenerate it.\n\n")
	for _, d := range Catalogue() {
		fmt.Fprintf(&b, "## `%s`\n\n%s\n\n```gherkin\n%s\n```\n\n", d.Pattern, d.Doc, d.Example)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText renders the catalogue for the terminal.
func WriteText(w io.Writer) error {
	for _, d := range Catalogue() {
		if _, err := fmt.Fprintf(w, "%s\n    %s\n    e.g. %s\n\n", d.Pattern, d.Doc, d.Example); err != nil {
			return err
		}
	}
	return nil
}
