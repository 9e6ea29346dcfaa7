package oa

import (
	"encoding/json"
	"testing"
	"time"
)

func TestIDDecoding(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    id
		wantErr bool
	}{
		{"negative number", `-2295828016161864200`, "-2295828016161864200", false},
		{"2^53+1", `9007199254740993`, "9007199254740993", false},
		{"max int64", `9223372036854775807`, "9223372036854775807", false},
		{"min int64", `-9223372036854775808`, "-9223372036854775808", false},
		{"string", `"-2295828016161864200"`, "-2295828016161864200", false},
		{"null", `null`, "", false},
		{"empty string", `""`, "", false},
		{"beyond int64", `9223372036854775808`, "", true},
		{"float", `7.887441163027565e18`, "", true},
		{"fraction", `12.5`, "", true},
		{"text", `"duowei"`, "", true},
		{"object", `{}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				ID id `json:"id"`
			}
			err := json.Unmarshal([]byte(`{"id":`+tt.in+`}`), &v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && v.ID != tt.want {
				t.Errorf("Unmarshal(%s) = %q, want %q", tt.in, v.ID, tt.want)
			}
		})
	}
}

func TestWireTime(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	want := time.Date(2023, 4, 12, 9, 30, 0, 0, sh)
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"epoch ms", `1681263000000`, want},
		{"epoch ms as string", `"1681263000000"`, want},
		{"minutes", `"2023-04-12 09:30"`, want},
		{"seconds", `"2023-04-12 09:30:00"`, want},
		{"java timestamp", `"2023-04-12 09:30:00.0"`, want},
		{"null", `null`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w wireTime
			if err := json.Unmarshal([]byte(tt.in), &w); err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.in, err)
			}
			got, err := w.in(sh)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("wireTime(%s).in(CST) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
	var w wireTime
	if err := json.Unmarshal([]byte(`"12/04/2023"`), &w); err != nil {
		t.Fatal(err)
	}
	if _, err := w.in(sh); err == nil {
		t.Errorf(`wireTime("12/04/2023").in() = nil error, want an error`)
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A&amp;B &lt;通宵&gt;", "A&B <通宵>"},
		{"line one<br/>line two", "line one\nline two"},
		{"周会 [rb:abc]", "周会 [rb:abc]"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
