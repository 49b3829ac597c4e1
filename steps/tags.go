package steps

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	orOp  = regexp.MustCompile(`\s*(\|\||,|\bor\b)\s*`)
	andOp = regexp.MustCompile(`\s*(&&|\band\b)\s*`)
	notOp = regexp.MustCompile(`^(not\s+|!|~)\s*`)
	tagRe = regexp.MustCompile(`^@[^\s,&|!~()]+$`)
)

// godogTags translates a tag expression in Cucumber's words ("@a || @b",
// "@a and not @b") or godog's own ("@a,@b", "@a && ~@b") into godog's
// filter syntax. Parentheses are refused rather than misread: godog's
// filter is an OR of ANDs, which "A && B, C" expresses.
func godogTags(expr string) (string, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return "", nil
	}
	if strings.ContainsAny(expr, "()") {
		return "", fmt.Errorf("tag expression %q: parentheses are not supported; write an OR of ANDs, e.g. \"@a && @b || @c\"", expr)
	}
	var alternatives []string
	for _, alt := range orOp.Split(expr, -1) {
		var terms []string
		for _, term := range andOp.Split(alt, -1) {
			term = strings.TrimSpace(term)
			neg := false
			if m := notOp.FindString(term); m != "" {
				neg, term = true, strings.TrimSpace(term[len(m):])
			}
			if !tagRe.MatchString(term) {
				return "", fmt.Errorf("tag expression %q: %q is not a tag (tags start with @)", expr, term)
			}
			if neg {
				term = "~" + term
			}
			terms = append(terms, term)
		}
		alternatives = append(alternatives, strings.Join(terms, "&&"))
	}
	return strings.Join(alternatives, ","), nil
}
