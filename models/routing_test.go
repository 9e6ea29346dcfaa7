package models

import (
	"errors"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestRoutingOwner(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	cutover := time.Date(2023, 4, 17, 0, 0, 0, 0, sh)
	freeze := time.Date(2023, 4, 16, 23, 0, 0, 0, sh)
	r := NewRouting(sh, cutover, freeze)
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name  string
		start time.Time
		want  Backend
	}{
		{"one nanosecond before the cutover", cutover.Add(-time.Nanosecond), BackendOA},
		{"one second before the cutover", time.Date(2023, 4, 16, 23, 59, 59, 0, sh), BackendOA},
		{"exactly the cutover", cutover, BackendDingTalk},
		{"the cutover written in UTC", time.Date(2023, 4, 16, 16, 0, 0, 0, time.UTC), BackendDingTalk},
		{"just before the cutover in UTC", time.Date(2023, 4, 16, 15, 59, 0, 0, time.UTC), BackendOA},
		{"the cutover instant seen from New York", cutover.In(ny), BackendDingTalk},
		{"4-16 noon New York is already 4-17 in Shanghai", time.Date(2023, 4, 16, 12, 0, 0, 0, ny), BackendDingTalk},
		{"training on 4-4", time.Date(2023, 4, 4, 10, 0, 0, 0, sh), BackendOA},
		{"far past", time.Date(1999, 1, 1, 0, 0, 0, 0, sh), BackendOA},
		{"far future", time.Date(2099, 1, 1, 0, 0, 0, 0, sh), BackendDingTalk},
		{"starts 23:30 before, ends after the cutover: owner is the start", time.Date(2023, 4, 16, 23, 30, 0, 0, sh), BackendOA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Owner(tt.start); got != tt.want {
				t.Errorf("Owner(%s) = %s, want %s", tt.start.Format(time.RFC3339Nano), got, tt.want)
			}
		})
	}
}

func TestRoutingFreeze(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	cutover := time.Date(2023, 4, 17, 0, 0, 0, 0, sh)
	freeze := time.Date(2023, 4, 16, 23, 0, 0, 0, sh)
	r := NewRouting(sh, cutover, freeze)
	tests := []struct {
		name    string
		backend Backend
		now     time.Time
		frozen  bool
	}{
		{"OA a minute before the freeze", BackendOA, freeze.Add(-time.Minute), false},
		{"OA exactly at the freeze", BackendOA, freeze, true},
		{"OA after the freeze", BackendOA, freeze.Add(time.Hour), true},
		{"DingTalk after the freeze", BackendDingTalk, freeze.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.CheckWritable(tt.backend, tt.now)
			if got := errors.Is(err, ErrFrozen); got != tt.frozen {
				t.Fatalf("CheckWritable(%s, %s) = %v, want frozen %v", tt.backend, tt.now, err, tt.frozen)
			}
			if tt.frozen {
				if ue := UserError(err); ue == nil || ue.Code != "oa_frozen" || ue.Args[ArgAt] != TimeArg(freeze) || ue.Args[ArgDay] != TimeArg(cutover) {
					t.Errorf("CheckWritable error = %#v, want code oa_frozen with the freeze and the cutover", ue)
				}
			}
			d := r.Route(cutover.Add(-2*time.Hour), tt.now)
			if tt.backend == BackendOA && d.Frozen != tt.frozen {
				t.Errorf("Route(...).Frozen = %v, want %v", d.Frozen, tt.frozen)
			}
		})
	}
}

func TestRoutingValidate(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	a := time.Date(2023, 4, 17, 0, 0, 0, 0, sh)
	tests := []struct {
		name  string
		spans []Span
		ok    bool
	}{
		{"two spans meeting at the cutover", []Span{{To: a, Backend: BackendOA}, {From: a, Backend: BackendDingTalk}}, true},
		{"gap", []Span{{To: a, Backend: BackendOA}, {From: a.Add(time.Hour), Backend: BackendDingTalk}}, false},
		{"closed end", []Span{{To: a, Backend: BackendOA}}, false},
		{"unknown backend", []Span{{Backend: "wecom"}}, false},
		{"none", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Routing{Zone: sh, Spans: tt.spans}.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestBookingValidate(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	good := BookingRequest{RoomID: "duowei", Title: "周会", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}
	tests := []struct {
		name   string
		mutate func(*BookingRequest)
		code   string
	}{
		{"good", func(*BookingRequest) {}, ""},
		{"no room", func(b *BookingRequest) { b.RoomID = "" }, "room_required"},
		{"blank title", func(b *BookingRequest) { b.Title = "" }, "title_required"},
		{"end before start", func(b *BookingRequest) { b.End = b.Start.Add(-time.Hour) }, "end_before_start"},
		{"end equals start", func(b *BookingRequest) { b.End = b.Start }, "end_before_start"},
		{"in the past", func(b *BookingRequest) { b.Start, b.End = now.Add(-time.Hour), now }, "start_in_past"},
		{"13 hours", func(b *BookingRequest) { b.End = b.Start.Add(13 * time.Hour) }, "too_long"},
		{"two years ahead", func(b *BookingRequest) { b.Start = now.AddDate(2, 0, 0); b.End = b.Start.Add(time.Hour) }, "too_far_ahead"},
		{"long title", func(b *BookingRequest) { b.Title = string(make([]rune, 201)) }, "title_too_long"},
		{"no start", func(b *BookingRequest) { b.Start = time.Time{} }, "start_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			tt.mutate(&b)
			err := b.Normalize().Validate(now)
			got := ""
			if ue := UserError(err); ue != nil {
				got = ue.Code
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Validate() = %v, want an ErrInvalid", err)
				}
			}
			if got != tt.code {
				t.Errorf("Validate() code = %q, want %q (err %v)", got, tt.code, err)
			}
		})
	}
}

func TestDemoCatalog(t *testing.T) {
	c := DemoCatalog()
	if len(c.Offices) != 4 {
		t.Fatalf("DemoCatalog() has %d offices, want 4", len(c.Offices))
	}
	var found bool
	for _, r := range c.Rooms() {
		if r.Name == "多维缩放会议室" && r.Floor == "1F" && r.OfficeID == "bj-shoukai" {
			found = true
		}
	}
	if !found {
		t.Error("DemoCatalog() lacks 首开 1F 多维缩放会议室")
	}
	if _, err := ParseCatalog([]byte("offices:\n  - id: a\n    name: A\n    rooms:\n      - id: r\n        name: R\n      - id: r\n        name: R2\n")); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseCatalog(duplicate room) = %v, want ErrInvalid", err)
	}
	if _, err := ParseCatalog([]byte("offices:\n  - id: a\n    name: A\n    colour: red\n")); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseCatalog(unknown field) = %v, want ErrInvalid", err)
	}
}

func TestBookingControlCharacters(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	good := BookingRequest{RoomID: "duowei", Title: "周会", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}
	tests := []struct {
		name, title, description string
		field                    string // "" when valid
	}{
		{"plain", "周会", "议程：\n1. 回顾\t2. 计划", ""},
		{"NUL in title", "周\x00会", "", "title"},
		{"ESC in title", "\x1b[31m周会", "", "title"},
		{"VT in title", "周\v会", "", "title"},
		{"tab in title", "周\t会", "", "title"},
		{"DEL in title", "周会\x7f", "", "title"},
		{"C1 in title", "周\u0085会", "", "title"},
		{"NUL in description", "周会", "议程\x00", "description"},
		{"ESC in description", "周会", "\x1b]0;x\x07", "description"},
		{"lone CR in description", "周会", "a\rb", "description"},
		{"CRLF in description", "周会", "a\r\nb", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			b.Title, b.Description = tt.title, tt.description
			err := b.Normalize().Validate(now)
			ue := UserError(err)
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("Validate(%q, %q) = %v, want nil", tt.title, tt.description, err)
			case tt.field != "" && (ue == nil || !errors.Is(err, ErrInvalid) || ue.Field != tt.field || ue.Code != "control_characters"):
				t.Errorf("Validate(%q, %q) = %v, want ErrInvalid control_characters on %s", tt.title, tt.description, err, tt.field)
			}
		})
	}
}
