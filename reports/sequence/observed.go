package sequence

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Event is one observed interaction, recorded by a component (Git server,
// CI runner, registry, Argo CD's logs and API, the cluster, the mail sink)
// or by a step acting as a person (Developer, Admin, Operator).
type Event struct {
	Time     time.Time `json:"time"`
	From     string    `json:"from"` // a role: "Developer", "GitLab", "ArgoCD", ...
	To       string    `json:"to"`
	Message  string    `json:"message"`
	Details  string    `json:"details,omitempty"`
	Observer string    `json:"observer,omitempty"` // where the event was seen ("git server access log")
}

// Sort orders events by time, keeping the recorded order of equal times.
func Sort(events []Event) {
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
}

// Cast maps a flow's participant aliases to the roles events use.
type Cast map[string]string

// Rule says which observed events show one seed step: an event between the
// step's roles whose message matches.
type Rule struct {
	Step    string // seed step label
	Message *regexp.Regexp
}

// Match reports whether e shows step s of a flow played by cast.
func (r Rule) Match(s Step, cast Cast, e Event) bool {
	return e.From == cast[s.From] && e.To == cast[s.To] && r.Message.MatchString(e.Message)
}

// StepObserver is the Observer of events a step wrote for itself, as the
// person it acts for.
const StepObserver = "step"

// isPerson: the seed's people act through Rehearse's steps; every other
// participant is a system with records of its own.
func isPerson(role string) bool { return role == Developer || role == Admin || role == Operator }

// Credible reports whether e may stand for step s at all: a step a system
// sends (GitLab, Jenkins, Harbor, Argo CD, Kubernetes, Prometheus, the
// load balancer) counts only from that system's own record, never from an
// event a step wrote; a person's step may come from the step that acted.
func Credible(s Step, cast Cast, e Event) bool {
	return isPerson(cast[s.From]) || e.Observer != StepObserver
}

// Verdict is what a run proves about one seed step.
type Verdict string

const (
	// Asserted: a Then step of a passing scenario checked the step's own
	// effect against the real system (a Claim names it).
	Asserted Verdict = "asserted"
	// Observed: the step is seen in a component's record, in the seed's
	// order, but no Then step checks it.
	Observed Verdict = "observed"
	// Missing: neither.
	Missing Verdict = "missing"
)

// StepResult is one seed step in a scenario's coverage.
type StepResult struct {
	Step    Step    `json:"step"`
	Verdict Verdict `json:"verdict"`
	// Event is the recorded event that shows the step, in the seed's order
	// (nil: none did).
	Event *Event `json:"event,omitempty"`
	// AssertedBy is the Then step that checked it, as "path:line".
	AssertedBy string `json:"asserted_by,omitempty"`
}

// Coverage is a scenario's score against its flow: how many of its steps
// are asserted, only observed, or missing (they add up to Total).
type Coverage struct {
	Flow     int          `json:"flow"`
	Title    string       `json:"title"`
	Asserted int          `json:"asserted"`
	Observed int          `json:"observed"`
	Missing  int          `json:"missing"`
	Total    int          `json:"total"`
	Steps    []StepResult `json:"steps"`
}

// Assert marks the steps the claims name as asserted. Only a passing
// scenario's claims may be given: a failed scenario's Then steps did not
// all hold. Claims of another flow are ignored.
func (c *Coverage) Assert(claims []Claim) {
	for _, cl := range claims {
		if cl.Flow != c.Flow {
			continue
		}
		for i := range c.Steps {
			if c.Steps[i].AssertedBy == "" && slices.Contains(cl.Labels, c.Steps[i].Step.Label) {
				c.Steps[i].AssertedBy = cl.Step
			}
		}
	}
	c.count()
}

// count sets each step's verdict and the totals.
func (c *Coverage) count() {
	c.Asserted, c.Observed, c.Missing = 0, 0, 0
	for i := range c.Steps {
		s := &c.Steps[i]
		switch {
		case s.AssertedBy != "":
			s.Verdict = Asserted
			c.Asserted++
		case s.Event != nil:
			s.Verdict = Observed
			c.Observed++
		default:
			s.Verdict = Missing
			c.Missing++
		}
	}
}

// Cover matches events against the flow's steps. A step is observed by an
// event that one of its rules matches and that is credible for it
// (Credible); matched events follow the seed's order (each later in time
// than the one before), and one event stands for one step at most. Of the
// assignments that respect this, Cover takes one that observes the most
// steps (a longest common subsequence of steps and events).
func Cover(flow Flow, cast Cast, rules []Rule, events []Event) Coverage {
	Sort(events)
	byStep := map[string][]Rule{}
	for _, r := range rules {
		byStep[r.Step] = append(byStep[r.Step], r)
	}
	steps := flow.Steps
	match := func(j, i int) bool {
		if !Credible(steps[j], cast, events[i]) {
			return false
		}
		for _, r := range byStep[steps[j].Label] {
			if r.Match(steps[j], cast, events[i]) {
				return true
			}
		}
		return false
	}
	// best[j][i]: the most steps of steps[j:] observed by events[i:].
	best := make([][]int, len(steps)+1)
	for j := range best {
		best[j] = make([]int, len(events)+1)
	}
	for j := len(steps) - 1; j >= 0; j-- {
		for i := len(events) - 1; i >= 0; i-- {
			best[j][i] = max(best[j+1][i], best[j][i+1])
			if match(j, i) {
				best[j][i] = max(best[j][i], 1+best[j+1][i+1])
			}
		}
	}
	c := Coverage{Flow: flow.Number, Title: flow.Title, Total: len(steps)}
	i := 0
	for j, s := range steps {
		res := StepResult{Step: s}
		// The earliest event that keeps the best score, if observing this
		// step is part of a best assignment.
		for k := i; k < len(events) && best[j][k] == best[j][i]; k++ {
			if match(j, k) && 1+best[j+1][k+1] == best[j][i] {
				e := events[k]
				res.Event = &e
				i = k + 1
				break
			}
		}
		c.Steps = append(c.Steps, res)
	}
	c.count()
	return c
}

// Diagram is an observed sequence diagram, ready to render.
type Diagram struct {
	Participants []Participant
	Messages     []Message
}

// Message is one arrow.
type Message struct {
	From, To string // participant aliases
	Text     string
	Reply    bool
}

// Build lays events out with the flow's participants (in the seed's order,
// under the seed's names), then any other role seen.
func Build(flow Flow, cast Cast, events []Event) Diagram {
	var d Diagram
	alias := map[string]string{} // role -> alias
	for _, p := range flow.Participants {
		role := cast[p.Alias]
		if role == "" {
			role = p.Name
		}
		if _, dup := alias[role]; dup {
			continue
		}
		alias[role] = p.Alias
		if !strings.HasPrefix(p.Name, role) {
			// Who really plays the seed's participant ("ArgoCD" in a
			// canary is Argo Rollouts). A seed name that already starts
			// with the role ("Operator (kubectl)", "Harbor Registry")
			// says it.
			p.Name += " (" + role + ")"
		}
		d.Participants = append(d.Participants, p)
	}
	var t0 time.Time
	if len(events) > 0 {
		t0 = events[0].Time
	}
	for _, e := range events {
		for _, role := range []string{e.From, e.To} {
			if _, ok := alias[role]; !ok {
				a := mermaidID(role)
				alias[role] = a
				d.Participants = append(d.Participants, Participant{Alias: a, Name: role})
			}
		}
		text, reply := strings.CutPrefix(e.Message, "← ")
		d.Messages = append(d.Messages, Message{From: alias[e.From], To: alias[e.To], Reply: reply,
			Text: fmt.Sprintf("+%s %s", e.Time.Sub(t0).Round(10*time.Millisecond), text)})
	}
	return d
}

// Mermaid is the diagram as a Mermaid sequenceDiagram.
func (d Diagram) Mermaid() string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	for _, p := range d.Participants {
		fmt.Fprintf(&b, "    participant %s as %s\n", p.Alias, mermaidText(p.Name))
	}
	for _, m := range d.Messages {
		arrow := "->>"
		if m.Reply {
			arrow = "-->>"
		}
		fmt.Fprintf(&b, "    %s%s%s: %s\n", m.From, arrow, m.To, mermaidText(m.Text))
	}
	return b.String()
}

// SVG draws the diagram without any script, so reports render offline.
func (d Diagram) SVG() string {
	const colW, top, rowH, boxW, boxH = 170, 10, 26, 150, 30
	x := map[string]int{}
	for i, p := range d.Participants {
		x[p.Alias] = 90 + i*colW
	}
	width := 40 + len(d.Participants)*colW + 120
	height := top + boxH + 20 + len(d.Messages)*rowH + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#333"/></marker></defs>`)
	for _, p := range d.Participants {
		cx := x[p.Alias]
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="#eef3fb" stroke="#5577aa"/>`, cx-boxW/2, top, boxW, boxH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`, cx, top+19, html.EscapeString(p.Name))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#99a" stroke-dasharray="4 3"/>`, cx, top+boxH, cx, height-10)
	}
	for i, m := range d.Messages {
		y := top + boxH + 20 + i*rowH + 12
		x1, x2 := x[m.From], x[m.To]
		dash := ""
		if m.Reply {
			dash = ` stroke-dasharray="5 3"`
		}
		label := html.EscapeString(oneLine(m.Text, 70))
		if x1 == x2 {
			fmt.Fprintf(&b, `<path d="M%d,%d h30 v10 h-28" fill="none" stroke="#333"%s marker-end="url(#arrow)"/>`, x1, y-6, dash)
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, x1+36, y, label)
			continue
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"%s marker-end="url(#arrow)"/>`, x1, y, x2, y, dash)
		mid := (x1 + x2) / 2
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, mid, y-4, label)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// oneLine puts s on one line of at most max bytes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

var nonID = regexp.MustCompile(`[^A-Za-z0-9]`)

func mermaidID(role string) string { return "P" + nonID.ReplaceAllString(role, "") }

// mermaidText keeps a label on one line and away from Mermaid's syntax
// (";" ends a statement, "#" starts an entity code).
func mermaidText(s string) string {
	return oneLine(strings.NewReplacer(";", ",", "#", "♯").Replace(s), 90)
}
