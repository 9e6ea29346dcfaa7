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

// A booking the table lacks, or has as cancelled, that a pending job is releasing is on
// its way out: verify lists it as being released and does not fail on it. Once the
// release gave up it stays in the backend, holding its room, and verify says so and
// fails.
func TestVerifyTellsReleasesFromDiscrepancies(t *testing.T) {
	cat := models.DemoCatalog()
	zone, _ := time.LoadLocation("Asia/Shanghai")
	oa := httptest.NewServer(newSeeyonFake(cat, zone, time.Now))
	defer oa.Close()
	dtFake := newDingTalkFake(cat, time.Now)
	dt := httptest.NewServer(dtFake)
	defer dt.Close()
	n := time.Now().In(zone).AddDate(0, 0, 7)
	cutover := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
	db := filepath.Join(t.TempDir(), "rb.db")
	env := map[string]string{
		"ROOMBRIDGE_DB":   "sqlite:" + db,
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
	start := cutover.AddDate(0, 0, 2).Add(10 * time.Hour)
	if _, err := dtFake.AddNative(fakeUnionID("lisi"), "dt-duowei", "直接在钉钉订的", start, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("sync", "--once"); err != nil {
		t.Fatalf("sync --once = %v\n%s", err, out)
	}
	// Booked after the sync: the table does not know it.
	later, err := dtFake.AddNative(fakeUnionID("wangwu"), "dt-duowei", "也是直接订的", start.Add(2*time.Hour), start.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s, err := models.Open("sqlite:"+db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first, err := s.Reservations(ctx, models.Filter{Backend: models.BackendDingTalk})
	if err != nil || len(first) != 1 {
		t.Fatalf("reservations after the sync = %v, %v; want the first booking", first, err)
	}
	// The first booking cancelled, the later one named by a release (as the old booking of
	// a reservation that moved would be); neither job has run.
	if _, err := s.Update(ctx, first[0].ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		x.Status = models.StatusCancelled
		x.Sequence++
		return []models.Job{
			{ReservationID: x.ID, Kind: models.JobCancel, Backend: models.BackendDingTalk},
			{ReservationID: x.ID, Kind: models.JobCancel, Backend: models.BackendDingTalk, RemoteID: later},
		}, nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	out, err := cmd("verify")
	if err != nil || strings.Count(out, "info   dingtalk releasing") != 2 || strings.Contains(out, "FAIL") {
		t.Fatalf("verify while both are being released = %v\n%s\nwant both listed as being released, and no failure", err, out)
	}
	jobs, err := s.Jobs(ctx, first[0].ID)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Jobs() = %v, %v", jobs, err)
	}
	for _, j := range jobs {
		if err := s.FinishJob(ctx, models.JobResult{Job: j, State: models.JobFailed, Error: "dingtalk: forbidden"}); err != nil {
			t.Fatal(err)
		}
	}
	out, err = cmd("verify")
	if err == nil || strings.Count(out, "FAIL   dingtalk release_failed") != 2 || !strings.Contains(out, "gave up: dingtalk: forbidden") {
		t.Errorf("verify after both releases gave up = %v\n%s\nwant exit 1 and two release_failed lines", err, out)
	}
}
