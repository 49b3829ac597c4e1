package steps

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	tagexpressions "github.com/cucumber/tag-expressions/go/v6"
)

var (
	// godog's own operators, still accepted: "@a,@b", "@a && ~@b", "!@a".
	godogOr  = regexp.MustCompile(`\s*(\|\||,)\s*`)
	godogAnd = regexp.MustCompile(`\s*&&\s*`)
	godogNot = regexp.MustCompile(`(^|[\s(])[~!]\s*`)
)

// maxFilterTags bounds the tags one expression may name: godog's filter is
// an OR of ANDs, written out from the expression's truth table.
const maxFilterTags = 10

// godogTags reads a Cucumber tag expression ("@a and not (@b or @c)",
// parsed by cucumber/tag-expressions; godog's "@a,@b" and "@a && ~@b" are
// read as "or", "and" and "not") and writes it in godog's filter syntax,
// an OR of ANDs: one AND per combination of the named tags that the
// expression accepts. Nothing is misread: a word that is not a tag is an
// error, and so is an expression no scenario could match.
func godogTags(expr string) (string, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return "", nil
	}
	words := godogNot.ReplaceAllString(godogAnd.ReplaceAllString(godogOr.ReplaceAllString(expr, " or "), " and "), "${1}not ")
	parsed, err := parseTagExpression(words)
	if err != nil {
		return "", fmt.Errorf("tag expression %q: %w", expr, err)
	}
	var tags []string
	for _, w := range strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(words)) {
		switch {
		case w == "and" || w == "or" || w == "not":
		case !strings.HasPrefix(w, "@") || len(w) == 1:
			return "", fmt.Errorf("tag expression %q: %q is not a tag (tags start with @)", expr, w)
		case !slices.Contains(tags, w):
			tags = append(tags, w)
		}
	}
	if len(tags) > maxFilterTags {
		return "", fmt.Errorf("tag expression %q names %d tags; at most %d", expr, len(tags), maxFilterTags)
	}
	var alternatives []string
	for mask := 0; mask < 1<<len(tags); mask++ {
		var on, terms []string
		for i, t := range tags {
			if mask&(1<<i) != 0 {
				on = append(on, t)
				terms = append(terms, t)
			} else {
				terms = append(terms, "~"+t)
			}
		}
		if parsed.Evaluate(on) {
			alternatives = append(alternatives, strings.Join(terms, "&&"))
		}
	}
	switch len(alternatives) {
	case 0:
		return "", fmt.Errorf("tag expression %q matches no scenario, whatever its tags", expr)
	case 1 << len(tags):
		return "", nil // every scenario
	}
	return strings.Join(alternatives, ","), nil
}

// parseTagExpression parses with cucumber/tag-expressions, which panics
// (an empty stack) on an operator without its operand ("@a or").
func parseTagExpression(words string) (e tagexpressions.Evaluatable, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("could not be parsed: an operator lacks its operand")
		}
	}()
	return tagexpressions.Parse(words)
}
