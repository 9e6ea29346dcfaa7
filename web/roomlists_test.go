package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"roombridge/models"
)

// noConflicts turns the admin console on; the room page calls none of its methods.
type noConflicts struct{ Conflicts }

// fixedRoomLists answers every RoomLists call with lists.
type fixedRoomLists []models.RoomList

func (f fixedRoomLists) RoomLists(context.Context, bool) []models.RoomList { return f }

// A DingTalk room list held back by the monthly budget: the page says so in the
// reader's language and still maps the rooms against the list read last.
func TestRoomMappingBudgetSpentKeepsLastList(t *testing.T) {
	read := testNow.Add(-3 * time.Hour)
	lists := fixedRoomLists{{Backend: models.BackendDingTalk, Read: read,
		Rooms: []models.BackendRoom{{ID: "dt-duowei", Name: "多维（钉钉）"}, {ID: "dt-new", Name: "新会议室"}},
		Err:   models.E(models.ErrUnavailable, models.CodeBudgetSpent, "", models.ArgBackend, string(models.BackendDingTalk))}}
	var a *admin
	e := newEnv(t, withAdmin(&a), func(c *Config) { c.Conflicts, c.RoomLists = noConflicts{}, lists })
	for _, tt := range []struct{ lang, want string }{
		{"en", "The DingTalk room list was not read again: the monthly call budget is spent. The list last read is shown."},
		{"zh-CN", "本月钉钉接口调用额度已用完，未重新读取会议室列表；下面显示上次读取的列表。"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			w := e.api("GET", "/admin/rooms", "admin", "", "Accept-Language", tt.lang)
			body := w.Body.String()
			if w.Code != http.StatusOK || !strings.Contains(body, tt.want) {
				t.Fatalf("GET /admin/rooms = %d, want 200 with %q\n%s", w.Code, tt.want, body)
			}
			for _, want := range []string{"多维（钉钉）", "<code>dt-new</code>", "新会议室"} {
				if !strings.Contains(body, want) {
					t.Errorf("GET /admin/rooms: %q (from the list read last) missing", want)
				}
			}
		})
	}
}
