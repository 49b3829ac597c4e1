package steps

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGodogTags(t *testing.T) {
	cases := map[string]string{
		"":                                 "",
		"@flow-2":                          "@flow-2",
		"@flow-3 || @flow-4 || @flow-5":    "@flow-3,@flow-4,@flow-5",
		"@flow-3 or @flow-4":               "@flow-3,@flow-4",
		"@flow-3,@flow-4":                  "@flow-3,@flow-4",
		"@flow-3 && ~@slow":                "@flow-3&&~@slow",
		"@flow-3 and not @slow || @flow-2": "@flow-3&&~@slow,@flow-2",
		"!@slow":                           "~@slow",
	}
	for in, want := range cases {
		got, err := godogTags(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"(@a || @b) && @c", "flow-2", "@a ||", "@a && && @b"} {
		_, err := godogTags(bad)
		assert.Error(t, err, bad)
	}
}
