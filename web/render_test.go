package web

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"roombridge/models"
)

func TestParsePages(t *testing.T) {
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parsePages(templateFS); err != nil {
		t.Fatalf("parsePages(embedded templates) = %v, want nil", err)
	}
	partials, err := fs.ReadFile(templateFS, "templates/partials.html")
	if err != nil {
		t.Fatal(err)
	}
	good := fstest.MapFS{"templates/layout.html": {Data: layout}, "templates/partials.html": {Data: partials}}
	for _, name := range pageNames {
		good["templates/"+name] = &fstest.MapFile{Data: []byte(`{{define "content"}}ok{{end}}`)}
	}
	tests := []struct {
		name   string
		page   string // the file changed from good
		data   string
		wantOK bool
	}{
		{"all pages present", "", "", true},
		{"syntax error", "form.html", `{{define "content"}}{{if .X}}{{end}}`, false},
		{"unknown function", "booking.html", `{{define "content"}}{{nosuch .X}}{{end}}`, false},
		{"no content block", "error.html", `<p>forgot the define</p>`, false},
		{"missing file", "login.html", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range good {
				fsys[k] = v
			}
			switch {
			case tt.page != "" && tt.data == "":
				delete(fsys, "templates/"+tt.page)
			case tt.page != "":
				fsys["templates/"+tt.page] = &fstest.MapFile{Data: []byte(tt.data)}
			}
			_, err := parsePages(fsys)
			if (err == nil) != tt.wantOK {
				t.Errorf("parsePages(%s) = %v, want ok %v", tt.name, err, tt.wantOK)
			}
		})
	}
}

// TestMessages checks the catalog has both languages for every key, and that every key
// the templates and the code name exists.
func TestMessages(t *testing.T) {
	for key, m := range messages {
		if strings.TrimSpace(m.ZH) == "" || strings.TrimSpace(m.EN) == "" {
			t.Errorf("messages[%q] = %+v, want both zh and en", key, m)
		}
		if strings.Count(m.ZH, "%") != strings.Count(m.EN, "%") {
			t.Errorf("messages[%q]: zh and en take different arguments: %q / %q", key, m.ZH, m.EN)
		}
	}
	used := map[string]string{} // key -> where
	inTemplate := regexp.MustCompile(`\.Tf? "([a-z_.0-9]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range inTemplate.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	inCode := regexp.MustCompile(`\.Tf?\("([a-z_.0-9]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inCode.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix completed at run time
				used[m[1]] = f
			}
		}
	}
	// Keys built at run time.
	for _, code := range []string{"bad_request", "invalid", "unauthorized", "forbidden", "not_found", "conflict", "frozen", "unavailable", "method_not_allowed", "too_large", "internal"} {
		used["err."+code] = "classify"
	}
	for _, s := range []models.Status{models.StatusPending, models.StatusConfirmed, models.StatusTentative, models.StatusRejected, models.StatusCancelled} {
		used["status."+string(s)] = "views"
	}
	for _, o := range []models.Origin{models.OriginBridge, models.OriginNative} {
		used["origin."+string(o)] = "views"
	}
	if len(used) < 50 {
		t.Fatalf("found only %d message keys in use; the patterns no longer match the code", len(used))
	}
	for key, where := range used {
		if _, ok := messages[key]; !ok {
			t.Errorf("%s uses message %q, which is not in the catalog", where, key)
		}
	}
}

// TestImports keeps web on its side of the layering: models and third-party packages,
// never bridge or cmd.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := []string{"roombridge/web", "roombridge/models"}
	for _, dep := range strings.Fields(string(out)) {
		if (dep == "roombridge" || strings.HasPrefix(dep, "roombridge/")) && !slices.Contains(allowed, dep) {
			t.Errorf("web depends on %s; it may import only %v of the project", dep, allowed)
		}
	}
}
