package engine

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LogTimestampFormat is the time format Rehearse asks Argo CD's components
// to log with.
const LogTimestampFormat = "2006-01-02T15:04:05.000000Z07:00"

// LogLine is one parsed line of a component's log (logrus text format:
// time="..." level=info msg="..." key=value ...).
type LogLine struct {
	Time    time.Time
	Level   string
	Message string
	Fields  map[string]string
}

// Application is the application a controller line is about: Argo CD logs
// the name alone, or (older lines) namespace/name.
func (l LogLine) Application() string {
	app := l.Fields["application"]
	if _, name, ok := strings.Cut(app, "/"); ok {
		return name
	}
	return app
}

// resourceResult is gitops-engine's log line for a sync task's first
// result, with the object in the line's fields (kind, name).
var resourceResult = regexp.MustCompile(`^Adding resource result, status: '([^']*)', phase: '[^']*', message: '([^']*)'`)

// ResourceResult reads gitops-engine's line for a sync task's first result
// ("Adding resource result, status: 'Pruned', phase: 'Succeeded', message:
// 'pruned'"): its status and message.
func (l LogLine) ResourceResult() (status, message string, ok bool) {
	m := resourceResult.FindStringSubmatch(l.Message)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// LogLines returns the component's log lines at or after since.
func (e *Engine) LogLines(component string, since time.Time) []LogLine {
	p := e.procs.Find(component)
	if p == nil {
		return nil
	}
	f, err := os.Open(p.LogPath())
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []LogLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		l, ok := ParseLogLine(sc.Text())
		if ok && !l.Time.Before(since) {
			out = append(out, l)
		}
	}
	return out
}

// ParseLogLine reads one logrus line, JSON (Argo CD's default) or text;
// ok is false for anything else.
func ParseLogLine(s string) (LogLine, bool) {
	if strings.HasPrefix(s, "{") {
		var raw map[string]any
		if json.Unmarshal([]byte(s), &raw) != nil {
			return LogLine{}, false
		}
		fields := map[string]string{}
		for k, v := range raw {
			if str, ok := v.(string); ok {
				fields[k] = str
			} else {
				b, _ := json.Marshal(v)
				fields[k] = string(b)
			}
		}
		return fromFields(fields)
	}
	fields := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			break
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return LogLine{}, false
			}
			v, err := strconv.Unquote(s[:end+1])
			if err != nil {
				return LogLine{}, false
			}
			val, s = v, s[end+1:]
		} else {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				sp = len(s)
			}
			val, s = s[:sp], s[sp:]
		}
		fields[key] = val
	}
	return fromFields(fields)
}

func fromFields(fields map[string]string) (LogLine, bool) {
	t, err := time.Parse(time.RFC3339Nano, fields["time"])
	if err != nil {
		return LogLine{}, false
	}
	l := LogLine{Time: t, Level: fields["level"], Message: fields["msg"], Fields: fields}
	delete(fields, "time")
	delete(fields, "level")
	delete(fields, "msg")
	return l, true
}
