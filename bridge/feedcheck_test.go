package bridge

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ValidateFeed (tests only) writes body to a file and runs the three validators of tools/ical on it,
// then returns the occurrences ical.js expands ("UID START END", sorted). Without the
// tools it skips, unless ROOMBRIDGE_FEED_VALIDATORS=1.
func ValidateFeed(t *testing.T, name string, body []byte) []string {
	t.Helper()
	tools := filepath.Join(RepoRoot(t), "tools", "ical")
	_, noNode := exec.LookPath("node")
	_, noModules := os.Stat(filepath.Join(tools, "node_modules", "ical.js", "package.json"))
	_, noLibical := os.Stat(filepath.Join(tools, "icalcheck"))
	if err := errors.Join(noNode, noModules, noLibical); err != nil {
		if os.Getenv("ROOMBRIDGE_FEED_VALIDATORS") == "1" {
			t.Fatalf("feed validators are required (ROOMBRIDGE_FEED_VALIDATORS=1) but not built: %v", err)
		}
		t.Skipf("feed validators not built (%v); see tools/ical/README.md", err)
	}
	file := filepath.Join(t.TempDir(), name+".ics")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], append(args[1:], file)...)
		cmd.Dir = tools
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s = %v:\n%s\nfeed:\n%s", filepath.Base(args[len(args)-1]), name, err, out, body)
		}
		return string(out)
	}
	run("node", filepath.Join(tools, "check-icaljs.mjs"))
	run("node", filepath.Join(tools, "check-nodeical.cjs"))
	run(filepath.Join(tools, "icalcheck"))
	var got []string
	for _, l := range strings.Split(run("node", filepath.Join(tools, "expand-icaljs.mjs")), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	return got
}

// RepoRoot walks up from the test's directory to the one holding go.mod (the external
// test package uses it too).
func RepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
