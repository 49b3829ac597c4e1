package steps

import (
	"testing"

	tagexpressions "github.com/cucumber/tag-expressions/go/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// godog's filter, evaluated as godog does (matchesTagFilter), selects
// exactly the scenarios the Cucumber expression accepts, for every
// combination of the tags involved and one the expression does not name.
func TestGodogTagsSelectWhatTheExpressionAccepts(t *testing.T) {
	cases := map[string]string{ // expression -> the same in Cucumber's words
		"@flow-2":                                   "@flow-2",
		"@flow-3 || @flow-4 || @flow-5":             "@flow-3 or @flow-4 or @flow-5",
		"@flow-3 or @flow-4":                        "@flow-3 or @flow-4",
		"@flow-3,@flow-4":                           "@flow-3 or @flow-4",
		"@flow-3 && ~@slow":                         "@flow-3 and not @slow",
		"@flow-3 and not @slow || @flow-2":          "(@flow-3 and not @slow) or @flow-2",
		"!@slow":                                    "not @slow",
		"(@flow-6 or @flow-7) and not @gateway-api": "(@flow-6 or @flow-7) and not @gateway-api",
		"not (@a and @b)":                           "not (@a and @b)",
		"@a and (@b or not @c)":                     "@a and (@b or not @c)",
	}
	universe := []string{"@flow-2", "@flow-3", "@flow-4", "@flow-5", "@flow-6", "@flow-7", "@slow", "@gateway-api", "@a", "@b", "@c", "@other"}
	for in, cucumber := range cases {
		filter, err := godogTags(in)
		require.NoError(t, err, in)
		want, err := tagexpressions.Parse(cucumber)
		require.NoError(t, err, cucumber)
		// Every subset of the tags would be 4096; pairs and triples of
		// the universe cover every case's tags together.
		for i := range universe {
			for j := i; j < len(universe); j++ {
				for k := j; k < len(universe); k++ {
					tags := []string{universe[i], universe[j], universe[k]}
					assert.Equal(t, want.Evaluate(tags), matchesTagFilter(filter, tags), "%s on %v (filter %q)", in, tags, filter)
				}
			}
			assert.Equal(t, want.Evaluate(nil), matchesTagFilter(filter, nil), "%s on no tags", in)
		}
	}
}

func TestGodogTagsRefusesWhatItCannotRead(t *testing.T) {
	for bad, want := range map[string]string{
		"flow-2":        `"flow-2" is not a tag`,
		"@a ||":         "could not be parsed",
		"@a && && @b":   "could not be parsed",
		"(@a or @b":     "could not be parsed",
		"@a and not @a": "matches no scenario",
		"@1 or @2 or @3 or @4 or @5 or @6 or @7 or @8 or @9 or @10 or @11": "at most 10",
	} {
		_, err := godogTags(bad)
		assert.ErrorContains(t, err, want, bad)
	}
	filter, err := godogTags("@a or not @a")
	require.NoError(t, err)
	assert.Empty(t, filter, "a tautology selects every scenario")
}
