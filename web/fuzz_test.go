package web

import (
	"bytes"
	"testing"
	"time"

	"roombridge/models"
)

// The decoders of API bodies, form fields and times never panic, refuse with a user
// error, and read what they accept consistently.

func FuzzDecodeBookingJSON(f *testing.F) {
	f.Add([]byte(`{"room_id":"duowei","title":"周会","start":"2023-04-17T09:00:00+08:00","end":"2023-04-17T10:00:00+08:00","attendees":["lisi"]}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"room_id":1}`))
	f.Add([]byte(`{"nope":true}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(``))
	s := &server{zone: fuzzZone}
	f.Fuzz(func(t *testing.T, b []byte) {
		var body bookingBody
		err := decodeJSON(bytes.NewReader(b), &body)
		if err != nil && models.UserError(err) == nil {
			t.Errorf("decodeJSON(%q) = %v, not a user error", b, err)
		}
		if err == nil {
			for _, f := range []struct{ name, v string }{{"start", body.Start}, {"end", body.End}} {
				if _, err := s.parseBodyTime(f.name, f.v); err != nil && models.UserError(err) == nil {
					t.Errorf("parseBodyTime(%q) = %v, not a user error", f.v, err)
				}
			}
		}
	})
}

var fuzzZone = func() *time.Location { l, _ := time.LoadLocation("Asia/Shanghai"); return l }()

func FuzzBookingForm(f *testing.F) {
	f.Add("2023-04-17", "09:30", "10:00")
	f.Add("2023-04-17", "09:30:15", "24:00")
	f.Add("2023-02-30", "9:30", "")
	f.Add("", "", "")
	s := &server{zone: fuzzZone}
	f.Fuzz(func(t *testing.T, date, start, end string) {
		req, errs := s.bookingRequest(bookingForm{RoomID: "duowei", Date: date, Start: start, End: end})
		if len(errs) > 0 {
			for _, err := range errs {
				if ue := models.UserError(err); ue == nil || ue.Field == "" {
					t.Errorf("bookingRequest(%q, %q, %q) = %v, want user errors on fields", date, start, end, err)
				}
			}
			return
		}
		day, _ := time.ParseInLocation(time.DateOnly, date, fuzzZone)
		for _, v := range []time.Time{req.Start, req.End} {
			if !v.IsZero() && (v.Year() != day.Year() || v.YearDay() != day.YearDay()) {
				t.Errorf("bookingRequest(%q, %q, %q) = %v–%v, not on the form's date", date, start, end, req.Start, req.End)
			}
		}
	})
}

func FuzzParseTimes(f *testing.F) {
	for _, v := range []string{"2023-04-17T09:00:00+08:00", "2023-04-17T09:00:00Z", "2023-04-17T09:00", "2023-04-17", "2023-04-17 09:00:00 08:00", "9999-12-31T23:59:59-23:59", "x"} {
		f.Add(v)
	}
	s := &server{zone: fuzzZone}
	f.Fuzz(func(t *testing.T, v string) {
		if got, err := s.parseBodyTime("start", v); err != nil {
			if models.UserError(err) == nil {
				t.Errorf("parseBodyTime(%q) = %v, not a user error", v, err)
			}
		} else if !got.IsZero() {
			again, err := s.parseBodyTime("start", got.Format(time.RFC3339Nano))
			if err != nil || !again.Equal(got) {
				t.Errorf("parseBodyTime(%q) = %v, which does not read back (%v, %v)", v, got, again, err)
			}
		}
		if _, err := s.parseQueryTime("from", v); err != nil && models.UserError(err) == nil {
			t.Errorf("parseQueryTime(%q) = %v, not a user error", v, err)
		}
	})
}
