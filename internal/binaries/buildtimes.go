package binaries

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// buildTimesFile, in a recipe's bin directory, keeps one JSON line per
// step of its first build: the cost of a fresh machine is otherwise only
// known to whoever watched it.
const buildTimesFile = ".build-times"

// BuildTime is one recorded step of a recipe's first build.
type BuildTime struct {
	Step     string        `json:"step"` // "download and tidy", "go build kube-apiserver", ...
	Duration time.Duration `json:"duration_ns"`
	Finished time.Time     `json:"finished"`
	// Cores the build could use: go build's time scales with them.
	Cores int `json:"cores"`
}

// recordBuildTime appends a step's time to the recipe's record. A record
// that cannot be written costs only the figure, never the build.
func (c *Cache) recordBuildTime(r Recipe, step string, took time.Duration) {
	line, err := json.Marshal(BuildTime{Step: step, Duration: took, Finished: time.Now().UTC(), Cores: runtime.NumCPU()})
	if err == nil {
		err = os.MkdirAll(c.BinDir(r), 0o755)
	}
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(filepath.Join(c.BinDir(r), buildTimesFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	}
	if err == nil {
		_, err = f.Write(append(line, '\n'))
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		c.logf("recording the build time of %s (%s): %v", r.Key(), step, err)
	}
}

// RecipeBuildTimes is what the cache recorded of one recipe's first build.
type RecipeBuildTimes struct {
	Recipe string // name-version, as the bin directory is named
	Steps  []BuildTime
}

// Total is the recipe's first build, every step added up.
func (r RecipeBuildTimes) Total() time.Duration {
	var t time.Duration
	for _, s := range r.Steps {
		t += s.Duration
	}
	return t
}

// BuildTimes lists every cached recipe with the steps of its first build
// as recorded, sorted by name; a recipe built before records were kept has
// no steps.
func (c *Cache) BuildTimes() ([]RecipeBuildTimes, error) {
	dirs, err := os.ReadDir(filepath.Join(c.Root, "bin"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RecipeBuildTimes
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		rec := RecipeBuildTimes{Recipe: d.Name()}
		path := filepath.Join(c.Root, "bin", d.Name(), buildTimesFile)
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			var s BuildTime
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			rec.Steps = append(rec.Steps, s)
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Recipe < out[j].Recipe })
	return out, nil
}
