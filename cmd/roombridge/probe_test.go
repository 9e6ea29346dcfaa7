package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

// probeRig is a real-looking deployment: both fakes on loopback, seeded from the demo
// catalog, and a configuration pointing at them.
type probeRig struct {
	oa  *seeyonfake.Server
	dt  *dingtalkfake.Server
	cat models.Catalog
	env map[string]string
}

func newProbeRig(t *testing.T) *probeRig {
	t.Helper()
	zone, _ := time.LoadLocation("Asia/Shanghai")
	r := &probeRig{cat: models.DemoCatalog()}
	r.oa = newSeeyonFake(r.cat, zone, time.Now)
	r.dt = newDingTalkFake(r.cat, time.Now)
	oaSrv, dtSrv := httptest.NewServer(r.oa), httptest.NewServer(r.dt)
	t.Cleanup(func() { r.oa.Close(); r.dt.ClearFaults(); oaSrv.Close(); dtSrv.Close() })
	r.env = map[string]string{
		"ROOMBRIDGE_OA_URL": oaSrv.URL, "ROOMBRIDGE_OA_REST_USER": fakeOAUser, "ROOMBRIDGE_OA_REST_PASSWORD": fakeOAPassword,
		"ROOMBRIDGE_DINGTALK_URL": dtSrv.URL, "ROOMBRIDGE_DINGTALK_OAPI_URL": dtSrv.URL,
		"ROOMBRIDGE_DINGTALK_APP_KEY": fakeAppKey, "ROOMBRIDGE_DINGTALK_APP_SECRET": fakeAppSecret,
		"ROOMBRIDGE_ADMINS": "admin", "ROOMBRIDGE_AUTH": "header",
	}
	return r
}

// probe writes the rig's catalog (as changed by the test) and runs roombridge probe.
func (r *probeRig) probe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	b, err := yaml.Marshal(r.cat)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r.env["ROOMBRIDGE_CATALOG"] = path
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"probe"}, args...), func(k string) string { return r.env[k] }, &out, &errOut)
	return out.String(), err
}

func failedLines(out string) []string {
	var bad []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "✘") {
			bad = append(bad, l)
		}
	}
	return bad
}

func TestProbeDemo(t *testing.T) {
	for _, args := range [][]string{nil, {"--write", "duowei"}} {
		t.Run(strings.Join(append([]string{"probe"}, args...), " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"probe"}, args...), func(string) string { return "" }, &out, &errOut)
			if err != nil || len(failedLines(out.String())) > 0 {
				t.Fatalf("probe in demo mode = %v\n%s", err, out.String())
			}
			for _, want := range []string{"✔ oa       credentials", "✔ oa       token refresh", "✔ dingtalk credentials", "✔ dingtalk token refresh",
				"✔ oa       room duowei", "✔ dingtalk user zhangsan", "✔ oa       schedule duowei", "✔ oa       getOrderDate shape"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("probe output lacks %q:\n%s", want, out.String())
				}
			}
			if len(args) > 0 && strings.Count(out.String(), "write: gone") != 2 {
				t.Errorf("probe --write did not finish a round trip in both systems:\n%s", out.String())
			}
		})
	}
}

// Each wrong assumption gets its own ✘ line and a failing exit.
func TestProbeFailingAssumptions(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *probeRig)
		want   string // regexp of the ✘ line
	}{
		{"wrong OA room id", func(r *probeRig) { r.cat.Offices[0].Rooms[0].OARoomID = "1234567" }, `✘ oa\s+room duowei: oa_room_id 1234567 .* is not among`},
		{"wrong DingTalk room id", func(r *probeRig) { r.cat.Offices[0].Rooms[0].DingTalkRoomID = "dt-nope" }, `✘ dingtalk\s+room duowei: dingtalk_room_id dt-nope .* is not among`},
		{"unknown OA user", func(r *probeRig) {
			r.cat.Users = append(r.cat.Users, models.User{ID: "ghost", Name: "幽灵", OALogin: "ghost"})
		}, `✘ oa\s+user ghost: POST /seeyon/rest/token \{loginName ghost\}`},
		{"unknown DingTalk user", func(r *probeRig) {
			r.cat.Users = append(r.cat.Users, models.User{ID: "ghost", Name: "幽灵", DingTalkUserID: "ghost"})
		}, `✘ dingtalk\s+user ghost: POST /topapi/v2/user/get \{userid ghost\}`},
		{"expired OA credentials", func(r *probeRig) { r.env["ROOMBRIDGE_OA_REST_PASSWORD"] = "expired" }, `✘ oa\s+credentials: POST /seeyon/rest/token`},
		{"expired DingTalk credentials", func(r *probeRig) { r.env["ROOMBRIDGE_DINGTALK_APP_SECRET"] = "expired" }, `✘ dingtalk\s+credentials: POST /v1.0/oauth2/accessToken`},
		{"OA down", func(r *probeRig) { r.oa.SetFault(seeyonfake.Fault{Kind: seeyonfake.FaultDown}) }, `✘ oa\s+credentials: .*no answer`},
		{"DingTalk permission missing", func(r *probeRig) {
			r.dt.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultPermissionDenied, API: dingtalkfake.APIGetUser})
		},
			`✘ dingtalk\s+user zhangsan: .*qyapi_get_member`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProbeRig(t)
			tt.change(r)
			out, err := r.probe(t)
			if err == nil {
				t.Fatalf("probe with %s succeeded:\n%s", tt.name, out)
			}
			if !regexp.MustCompile(`(?m)^` + tt.want).MatchString(out) {
				t.Errorf("probe with %s lacks a line matching %q:\n%s", tt.name, tt.want, out)
			}
		})
	}
	t.Run("all hold", func(t *testing.T) {
		r := newProbeRig(t)
		if out, err := r.probe(t); err != nil || len(failedLines(out)) > 0 {
			t.Fatalf("probe against healthy fakes = %v\n%s", err, out)
		}
	})
}

// probe --write books, finds, cancels and checks in both systems; when a step fails it
// still leaves nothing behind, and the run fails.
func TestProbeWrite(t *testing.T) {
	live := func(r *probeRig) (oaLive, dtLive int) {
		for _, b := range r.oa.Bookings() {
			if !b.Cancelled {
				oaLive++
			}
		}
		for _, e := range r.dt.Events() {
			if e.Status != dingtalkfake.StatusCancelled && len(e.RoomIDs) > 0 {
				dtLive++
			}
		}
		return oaLive, dtLive
	}
	t.Run("round trip", func(t *testing.T) {
		r := newProbeRig(t)
		out, err := r.probe(t, "--write", "duowei", "--json")
		var rep probeReport
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
			t.Fatalf("probe --json = %v: %s", jerr, out)
		}
		if err != nil || !rep.OK {
			t.Fatalf("probe --write = %v, report %+v", err, rep)
		}
		steps := map[string]int{}
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.Check, "write: ") {
				steps[c.System+" "+c.Check]++
			}
		}
		for _, s := range []string{"oa write: book", "oa write: find", "oa write: cancel", "oa write: gone",
			"dingtalk write: book", "dingtalk write: find", "dingtalk write: cancel", "dingtalk write: gone"} {
			if steps[s] != 1 {
				t.Errorf("report has %d %q checks, want 1", steps[s], s)
			}
		}
		if o, d := live(r); o != 0 || d != 0 {
			t.Errorf("after probe --write the OA holds %d and DingTalk %d bookings, want none", o, d)
		}
	})
	t.Run("a failed cancel is cleaned up", func(t *testing.T) {
		r := newProbeRig(t)
		r.oa.SetFault(seeyonfake.Fault{Endpoint: "cancelMeetRoomApp", Kind: seeyonfake.FaultHTTP500, Times: 1})
		r.dt.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APIRemoveMeetingRooms, Times: 2})
		out, err := r.probe(t, "--write", "duowei")
		if err == nil {
			t.Fatalf("probe --write with failing cancels succeeded:\n%s", out)
		}
		for _, want := range []string{`✘ oa\s+write: cancel`, `✘ dingtalk\s+write: cancel`, `✔ oa\s+write: clean up`, `✔ dingtalk\s+write: clean up`} {
			if !regexp.MustCompile(`(?m)^` + want).MatchString(out) {
				t.Errorf("probe output lacks %q:\n%s", want, out)
			}
		}
		if o, d := live(r); o != 0 || d != 0 {
			t.Errorf("after a failed probe --write the OA holds %d and DingTalk %d bookings, want none", o, d)
		}
	})
	t.Run("unknown write room", func(t *testing.T) {
		r := newProbeRig(t)
		out, err := r.probe(t, "--write", "no-such-room")
		if err == nil || !regexp.MustCompile(`(?m)^✘ config\s+write room`).MatchString(out) {
			t.Errorf("probe --write no-such-room = %v:\n%s", err, out)
		}
	})
}
