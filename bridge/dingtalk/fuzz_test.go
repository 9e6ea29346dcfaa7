package dingtalk

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// The decoders of DingTalk answers never panic, and what they accept is consistent.

func FuzzEventAnswer(f *testing.F) {
	f.Add([]byte(`{"id":"ev1","summary":"周会","start":{"dateTime":"2023-04-17T10:00:00+08:00","timeZone":"Asia/Shanghai"},"end":{"dateTime":"2023-04-17T11:00:00+08:00"},"organizer":{"id":"u1"},"meetingRooms":[{"roomId":"r1","displayName":"多维","responseStatus":"accepted"}],"updateTime":"2023-04-10T10:00:00Z"}`))
	f.Add([]byte(`{"id":"ev2","start":{"date":"2023-04-17"},"end":{"date":"2023-04-18","timeZone":"Europe/Berlin"}}`))
	f.Add([]byte(`{"id":"ev3","start":{"dateTime":"2023-04-17T10:00"},"end":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		ev, err := toEvent(json.RawMessage(b))
		if err == nil && (ev.Start.IsZero() || ev.End.IsZero()) {
			t.Errorf("toEvent(%s) = zero times without an error", b)
		}
	})
}

// Every error answer is classified into one of the models kinds.
func FuzzErrorAnswer(f *testing.F) {
	f.Add(400, "invalidParameter", `{"code":"invalidParameter","message":"bad","requestid":"x"}`)
	f.Add(403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", `{"message":"qps"}`)
	f.Add(429, "system.busy", `not json`)
	f.Add(0, "", ``)
	f.Fuzz(func(t *testing.T, status int, code, data string) {
		ae := fromSDK(&tea.SDKError{StatusCode: tea.Int(status), Code: tea.String(code), Data: tea.String(data), Message: tea.String("m")})
		kinds := []error{models.ErrInvalid, models.ErrForbidden, models.ErrUnavailable, models.ErrConflict, models.ErrNotFound}
		found := false
		for _, k := range kinds {
			if errors.Is(ae, k) {
				found = true
			}
		}
		if !found {
			t.Errorf("fromSDK(%d, %q, %q) = %v, of no known kind", status, code, data, ae)
		}
		_ = fromOld(status, status%100000, code, data)
	})
}
