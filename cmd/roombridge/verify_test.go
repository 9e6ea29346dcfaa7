package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roombridge/models"
)

// verify reads both backends and lists what the reservations table does not match; it
// exits with an error on any discrepancy, and is clean again once a sync has imported it.
func TestVerifyListsDiscrepancies(t *testing.T) {
	cat := models.DemoCatalog()
	zone, _ := time.LoadLocation("Asia/Shanghai")
	oa := httptest.NewServer(newSeeyonFake(cat, zone, time.Now))
	defer oa.Close()
	dtFake := newDingTalkFake(cat, time.Now)
	dt := httptest.NewServer(dtFake)
	defer dt.Close()
	n := time.Now().In(zone).AddDate(0, 0, 7)
	cutover := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
	env := map[string]string{
		"ROOMBRIDGE_DB":   "sqlite:" + filepath.Join(t.TempDir(), "rb.db"),
		"ROOMBRIDGE_DEMO": "0", "ROOMBRIDGE_AUTH": "header",
		"ROOMBRIDGE_OA_URL": oa.URL, "ROOMBRIDGE_OA_REST_USER": fakeOAUser, "ROOMBRIDGE_OA_REST_PASSWORD": fakeOAPassword,
		"ROOMBRIDGE_DINGTALK_URL": dt.URL, "ROOMBRIDGE_DINGTALK_OAPI_URL": dt.URL,
		"ROOMBRIDGE_DINGTALK_APP_KEY": fakeAppKey, "ROOMBRIDGE_DINGTALK_APP_SECRET": fakeAppSecret,
		"ROOMBRIDGE_CUTOVER": cutover.Format(time.RFC3339), "ROOMBRIDGE_OA_FREEZE": cutover.Add(-time.Hour).Format(time.RFC3339),
	}
	cmd := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs)
		return out.String(), err
	}
	if out, err := cmd("verify"); err != nil {
		t.Fatalf("verify with nothing booked = %v\n%s", err, out)
	}
	start := cutover.AddDate(0, 0, 2).Add(10 * time.Hour)
	if _, err := dtFake.AddNative(fakeUnionID("lisi"), "dt-duowei", "直接在钉钉订的", start, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	out, err := cmd("verify")
	if err == nil || !strings.Contains(out, "FAIL   dingtalk extra") || !strings.Contains(out, "not in the table") {
		t.Fatalf("verify with a DingTalk booking the table lacks = %v\n%s\nwant exit 1 and an extra line", err, out)
	}
	if out, err := cmd("sync", "--once"); err != nil {
		t.Fatalf("sync --once = %v\n%s", err, out)
	}
	if out, err := cmd("verify"); err != nil {
		t.Errorf("verify after sync = %v\n%s", err, out)
	}
}
