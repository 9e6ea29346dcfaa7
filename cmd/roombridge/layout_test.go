package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the layout's one-way imports: cmd → web, bridge, models,
// migrations; web → models; bridge → models (and its own adapters); models → nothing of
// the project; migrations → nothing of the project.
func TestImportDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	forbidden := map[string][]string{
		"roombridge/models":                       {"roombridge/bridge", "roombridge/web", "roombridge/cmd", "roombridge/migrations"},
		"roombridge/migrations":                   {"roombridge/bridge", "roombridge/web", "roombridge/cmd", "roombridge/models"},
		"roombridge/web":                          {"roombridge/bridge", "roombridge/cmd", "roombridge/migrations"},
		"roombridge/bridge":                       {"roombridge/web", "roombridge/cmd", "roombridge/migrations"},
		"roombridge/bridge/oa":                    {"roombridge/web", "roombridge/cmd", "roombridge/migrations", "roombridge/bridge/dingtalk"},
		"roombridge/bridge/dingtalk":              {"roombridge/web", "roombridge/cmd", "roombridge/migrations", "roombridge/bridge/oa"},
		"roombridge/bridge/oa/seeyonfake":         {"roombridge/web", "roombridge/cmd", "roombridge/migrations", "roombridge/bridge/dingtalk"},
		"roombridge/bridge/dingtalk/dingtalkfake": {"roombridge/web", "roombridge/cmd", "roombridge/migrations", "roombridge/bridge/oa"},
	}
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, b := range bad {
					if dep == b || strings.HasPrefix(dep, b+"/") {
						t.Errorf("%s imports %s; the layout forbids it", pkg, dep)
					}
				}
			}
		})
	}
}
