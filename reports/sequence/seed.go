package sequence

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Participant is one lifeline: Alias is how the diagram refers to it, Name
// how it is shown ("GL" as "GitLab").
type Participant struct {
	Alias, Name string
}

// Step is one numbered message of a seed diagram. Steps inside alt
// branches carry a letter ("10a", "10b").
type Step struct {
	Label  string `json:"label"`  // "7", "10a"
	Number int    `json:"number"` // 7, 10
	From   string `json:"from"`   // participant aliases
	To     string `json:"to"`
	Text   string `json:"text"` // without the number, <br/> as a space
	Line   int    `json:"line"` // in the seed document
}

// Flow is one "## N. Title" section with its diagram.
type Flow struct {
	Number       int
	Title        string
	Participants []Participant
	Steps        []Step
}

var (
	flowHeading = regexp.MustCompile(`^##\s+(\d+)\.\s+(.+?)\s*$`)
	participant = regexp.MustCompile(`^\s*(?:participant|actor)\s+(\S+)(?:\s+as\s+(.+?))?\s*$`)
	message     = regexp.MustCompile(`^\s*([^\s\-+>)x]+)\s*(-{1,2}(?:>>|>|x|\)))\s*[+-]?([^\s:]+)\s*:\s*(.*?)\s*$`)
	numbered    = regexp.MustCompile(`^(\d+)([a-z]?)\.\s*(.*)$`)
	breakTag    = regexp.MustCompile(`(?i)<br\s*/?>`)
)

// ParseSeed reads every flow of the seed document. A step label that
// repeats, or a number that goes backwards outside an alt branch, is an
// error naming its line, since coverage is counted by label.
func ParseSeed(doc []byte) ([]Flow, error) {
	var flows []Flow
	var cur *Flow
	inDiagram := false
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if m := flowHeading.FindStringSubmatch(text); m != nil {
			n, _ := strconv.Atoi(m[1])
			flows = append(flows, Flow{Number: n, Title: m[2]})
			cur = &flows[len(flows)-1]
			inDiagram = false
			continue
		}
		trimmed := strings.TrimSpace(text)
		switch {
		case strings.HasPrefix(trimmed, "```mermaid"):
			inDiagram = true
			continue
		case strings.HasPrefix(trimmed, "```"):
			inDiagram = false
			continue
		}
		if !inDiagram || cur == nil {
			continue
		}
		if m := participant.FindStringSubmatch(text); m != nil {
			name := m[2]
			if name == "" {
				name = m[1]
			}
			cur.Participants = append(cur.Participants, Participant{Alias: m[1], Name: name})
			continue
		}
		m := message.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		nm := numbered.FindStringSubmatch(m[4])
		if nm == nil {
			continue
		}
		n, _ := strconv.Atoi(nm[1])
		label := nm[1] + nm[2]
		for _, prev := range cur.Steps {
			if prev.Label == label {
				return nil, fmt.Errorf("seed line %d: step %s of flow %d is numbered twice (first on line %d)", line, label, cur.Number, prev.Line)
			}
		}
		if k := len(cur.Steps); k > 0 && nm[2] == "" && n <= cur.Steps[k-1].Number {
			return nil, fmt.Errorf("seed line %d: step %s of flow %d comes after step %s", line, label, cur.Number, cur.Steps[k-1].Label)
		}
		cur.Steps = append(cur.Steps, Step{Label: label, Number: n, From: m[1], To: m[3], Line: line,
			Text: strings.Join(strings.Fields(breakTag.ReplaceAllString(nm[3], " ")), " ")})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return flows, nil
}

// Name shows a participant alias by its display name.
func (f Flow) Name(alias string) string {
	for _, p := range f.Participants {
		if p.Alias == alias {
			return p.Name
		}
	}
	return alias
}
