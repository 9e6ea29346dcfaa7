package models_test

import (
	"testing"

	"roombridge/models"
)

// The catalog loader never panics, and a catalog it accepts is valid, with unique rooms.
func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte("offices:\n  - id: bj\n    name: 北京\n    rooms:\n      - id: r1\n        name: 一号\n        oa_room_id: \"-2295828016161864200\"\n        dingtalk_room_id: dt-1\nusers:\n  - id: zhangsan\n    name: 张三\n"))
	f.Add([]byte("offices: []\n"))
	f.Add([]byte("offices:\n  - id: a\n    rooms:\n      - id: x\n      - id: x\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := models.ParseCatalog(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("ParseCatalog accepted a catalog that Validate refuses: %v", err)
		}
		seen := map[string]bool{}
		for _, r := range c.Rooms() {
			if seen[r.ID] {
				t.Errorf("ParseCatalog accepted room %q twice", r.ID)
			}
			seen[r.ID] = true
		}
	})
}
