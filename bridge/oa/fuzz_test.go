package oa

import (
	"encoding/json"
	"testing"
)

// The decoders of Seeyon answers never panic, and what they accept is consistent.

func FuzzOccupancyAnswer(f *testing.F) {
	f.Add([]byte(`[{"startDatetime":"2023-04-04 10:00","endDatetime":"2023-04-04 12:00","description":"钉钉培训","appPerName":"张三","status":1,"appId":"-2295828016161864200"}]`))
	f.Add([]byte(`[{"startDatetime":1680573600000,"endDatetime":"1680580800000","status":"0","appId":123}]`))
	f.Add([]byte(`[{"startDatetime":"2023-04-04","endDatetime":null,"appId":1.5e3}]`))
	c := &Client{zone: shanghai()}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rows []occupancyVO
		if json.Unmarshal(b, &rows) != nil {
			return
		}
		for _, r := range rows {
			o, err := c.toOccupancy("1", r)
			if err == nil && (o.Start.IsZero() || o.End.IsZero()) {
				t.Errorf("toOccupancy(%+v) = zero times without an error", r)
			}
		}
	})
}

func FuzzBookingPageAnswer(f *testing.F) {
	f.Add([]byte(`{"page":1,"size":20,"total":1,"data":[{"roomAppId":"-1","roomId":"-2295828016161864200","roomName":"多维","startDatetime":"2023-04-04 10:00:00","endDatetime":"2023-04-04 12:00:00","appStatus":1,"isCancelMRApp":"true","description":"x [rb:abc]"}]}`))
	f.Add([]byte(`{"page":"1","size":"x","data":null}`))
	c := &Client{zone: shanghai()}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p flipInfo[roomAppVO]
		if json.Unmarshal(b, &p) != nil {
			return
		}
		for _, r := range p.Data {
			bk, err := c.booking(r)
			if err == nil && (bk.Start.IsZero() || bk.End.IsZero()) {
				t.Errorf("booking(%+v) = zero times without an error", r)
			}
		}
	})
}

// Ids are kept as exact text: an accepted id re-encodes to the same decimal string.
func FuzzWireScalars(f *testing.F) {
	for _, s := range []string{`"-2295828016161864200"`, `-2295828016161864200`, `1.0`, `"1e3"`, `true`, `"false"`, `null`, `"2023-04-04 10:00"`, `1680573600000`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var i id
		if json.Unmarshal(b, &i) == nil && i != "" && !validID(string(i)) {
			t.Errorf("id %s decoded to %q, which is not a Seeyon id", b, i)
		}
		var n num
		_ = json.Unmarshal(b, &n)
		var fl flag
		_ = json.Unmarshal(b, &fl)
		var w wireTime
		if json.Unmarshal(b, &w) == nil {
			_, _ = w.in(shanghai())
		}
		_, _ = scalarText(b)
	})
}
