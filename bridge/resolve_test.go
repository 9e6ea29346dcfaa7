package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"roombridge/models"
)

// native imports a booking found in backend b, organised by 张三.
func (r *rig) native(t *testing.T, b models.Backend, remote, room string, start time.Time) models.Reservation {
	t.Helper()
	ctx := context.Background()
	if _, err := r.store.ApplyRemote(ctx, b, models.Remote{RemoteID: remote, RoomID: room, Start: start, End: start.Add(time.Hour),
		Title: remote, OrganizerID: "zhangsan", OrganizerName: "张三", Status: models.StatusConfirmed}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	res, err := r.store.ReservationByRemote(ctx, b, remote)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (r *rig) detector(t *testing.T) *Detector {
	d := NewDetector(r.store, r.routing, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.disp.detector = d
	return d
}

func (r *rig) onlyConflict(t *testing.T, f models.ConflictFilter) models.Conflict {
	t.Helper()
	cs, err := r.store.Conflicts(context.Background(), f)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Conflicts(%+v) = %d conflicts, %v; want 1", f, len(cs), err)
	}
	return cs[0]
}

func TestResolveKeep(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		det := r.detector(t)
		oa := r.native(t, models.BackendOA, "oa-1", "duowei", at(12, 10))
		dt := r.native(t, models.BackendDingTalk, "dt-1", "duowei", at(12, 10).Add(30*time.Minute))
		if _, err := det.DetectSince(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
		c := r.onlyConflict(t, models.ConflictFilter{Status: models.ConflictOpen})
		if c.SuggestKeep != oa.ID || c.OfficeID != "bj-shoukai" {
			t.Fatalf("suggestion keeps %s in office %q, want the OA side %s in bj-shoukai", c.SuggestKeep, c.OfficeID, oa.ID)
		}
		admin, _ := r.store.User(ctx, "admin")

		if _, err := r.svc.Resolve(ctx, r.zhangsan, c.ID, models.Resolution{Action: "keep", Keep: oa.ID}); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("Resolve(as staff) = %v, want ErrForbidden", err)
		}
		for _, bad := range []models.Resolution{{Action: "keep", Keep: "nobody"}, {Action: "explode"}, {Action: "dismiss"}, {Action: "migrate", Reservation: dt.ID}} {
			if _, err := r.svc.Resolve(ctx, admin, c.ID, bad); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("Resolve(%+v) = %v, want ErrInvalid", bad, err)
			}
		}

		// DingTalk refuses the cancellation for good: the conflict stays open with the error.
		r.dt.setFail(fmt.Errorf("%w: no permission", models.ErrForbidden))
		if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "keep", Keep: oa.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "keep", Keep: oa.ID}); models.UserError(err) == nil || models.UserError(err).Code != "resolution_running" {
			t.Errorf("Resolve(while running) = %v, want resolution_running", err)
		}
		r.drain(t)
		got, _ := r.store.Conflict(ctx, c.ID)
		if got.Status != models.ConflictOpen || got.Outcome != models.OutcomeFailed || got.ErrorCode != "backend_gave_up" || !strings.Contains(got.ErrorDetail, "no permission") {
			t.Fatalf("conflict after a refused cancellation = %s/%s/%s %q, want open/failed/backend_gave_up with the answer", got.Status, got.Outcome, got.ErrorCode, got.ErrorDetail)
		}
		if still := mustGet(t, r, dt.ID); still.Status != models.StatusConfirmed {
			t.Errorf("the DingTalk side after a refused cancellation = %s, want still confirmed", still.Status)
		}

		// Retry once DingTalk accepts.
		r.dt.setFail(nil)
		if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "keep", Keep: oa.ID}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		got, _ = r.store.Conflict(ctx, c.ID)
		if got.Status != models.ConflictResolved || got.Resolution != "keep" || got.Outcome != models.OutcomeDone || got.ErrorCode != "" {
			t.Errorf("conflict after the retry = %s/%s/%s/%s, want resolved/keep/done without error", got.Status, got.Resolution, got.Outcome, got.ErrorCode)
		}
		lost := mustGet(t, r, dt.ID)
		if lost.Status != models.StatusCancelled || lost.Sequence != dt.Sequence+1 {
			t.Errorf("the losing side = %s seq %d, want cancelled with SEQUENCE %d", lost.Status, lost.Sequence, dt.Sequence+1)
		}
		if kept := mustGet(t, r, oa.ID); kept.Status != models.StatusConfirmed {
			t.Errorf("the kept side = %s, want confirmed", kept.Status)
		}
		audit, _ := r.store.Audit(ctx, dt.ID)
		var actions []string
		for _, a := range audit {
			actions = append(actions, a.Actor+":"+a.Action)
		}
		if want := "admin:conflict_keep"; !strings.Contains(strings.Join(actions, ","), want) {
			t.Errorf("audit of the loser = %v, want %s", actions, want)
		}
		// Detection again changes nothing.
		if res, _ := det.DetectSince(ctx, time.Time{}); res.Opened+res.Reopened != 0 {
			t.Errorf("DetectSince after resolving = %+v, want nothing new", res)
		}
	})
}

func TestResolveDismissAndMove(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		det := r.detector(t)
		admin, _ := r.store.User(ctx, "admin")
		a := r.native(t, models.BackendOA, "oa-a", "sk-tianyuan", at(13, 9))
		b := r.native(t, models.BackendOA, "oa-b", "sk-tianyuan", at(13, 9))
		det.DetectSince(ctx, time.Time{})
		c := r.onlyConflict(t, models.ConflictFilter{Status: models.ConflictOpen})
		if c.Rule != models.RuleFirstBooked {
			t.Errorf("rule inside one system = %s, want first_booked", c.Rule)
		}
		opts, err := r.svc.MoveOptions(ctx, b.ID)
		if err != nil || len(opts) == 0 {
			t.Fatalf("MoveOptions() = %v, %v; want rooms", opts, err)
		}
		for _, o := range opts {
			if o.OfficeID != "bj-shoukai" || o.ID == "sk-tianyuan" || o.Capacity < 12 {
				t.Errorf("MoveOptions() offers %s of %s, want another room of bj-shoukai", o.ID, o.OfficeID)
			}
		}
		if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "move", Reservation: b.ID, RoomID: opts[0].ID}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		moved := mustGet(t, r, b.ID)
		if moved.RoomID != opts[0].ID || moved.Status != models.StatusConfirmed || moved.UID != b.UID || moved.Sequence <= b.Sequence {
			t.Errorf("moved booking = %s %s uid %s seq %d, want confirmed in %s, same UID, higher SEQUENCE", moved.RoomID, moved.Status, moved.UID, moved.Sequence, opts[0].ID)
		}
		if got, _ := r.store.Conflict(ctx, c.ID); got.Status != models.ConflictResolved || got.Resolution != "move" {
			t.Errorf("conflict after move = %s/%s, want resolved/move", got.Status, got.Resolution)
		}
		_ = a

		x := r.native(t, models.BackendOA, "oa-x", "sk-xiaoyao", at(14, 9))
		r.native(t, models.BackendDingTalk, "dt-x", "sk-xiaoyao", at(14, 9))
		det.DetectIDs(ctx, x.ID)
		c2 := r.onlyConflict(t, models.ConflictFilter{Status: models.ConflictOpen})
		if _, err := r.svc.Resolve(ctx, admin, c2.ID, models.Resolution{Action: "dismiss", Note: "  "}); models.UserError(err) == nil || models.UserError(err).Code != "note_required" {
			t.Errorf("Resolve(dismiss, blank note) = %v, want note_required", err)
		}
		if _, err := r.svc.Resolve(ctx, admin, c2.ID, models.Resolution{Action: "dismiss", Note: "同一个会\x1b[31m"}); models.UserError(err) == nil || models.UserError(err).Code != "control_characters" {
			t.Errorf("Resolve(dismiss, note with ESC) = %v, want control_characters", err)
		}
		if _, err := r.svc.Resolve(ctx, admin, c2.ID, models.Resolution{Action: "dismiss", Note: "同一个会，两边都约了"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.store.Conflict(ctx, c2.ID); got.Status != models.ConflictDismissed || got.Note != "同一个会，两边都约了" {
			t.Errorf("dismissed conflict = %s %q", got.Status, got.Note)
		}
		if n := r.oa.cancels + r.dt.cancels; n != 1 {
			t.Errorf("backend cancels = %d, want 1 (the move's release; dismissing writes nothing)", n)
		}
	})
}

func TestMigrateAfterFreezeCreatesFromSnapshot(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		det := r.detector(t)
		admin, _ := r.store.User(ctx, "admin")
		x := r.native(t, models.BackendOA, "oa-late", "duowei", at(18, 9))
		det.DetectSince(ctx, time.Time{})
		c := r.onlyConflict(t, models.ConflictFilter{Kind: models.KindWrongSystem})
		if c.SuggestAction != models.ActionMigrate || c.SuggestKeep != x.ID {
			t.Fatalf("suggestion = %s %s, want migrate %s", c.SuggestAction, c.SuggestKeep, x.ID)
		}
		rep, _ := r.svc.Cutover(ctx)
		if len(rep.Items) != 1 || rep.Items[0].ID != x.ID || rep.Frozen {
			t.Fatalf("Cutover() = %+v, want the OA booking, not frozen", rep)
		}
		r.clock.Set(at(17, 1)) // after the OA freeze
		if _, err := r.svc.Migrate(ctx, admin, x.ID); err != nil {
			t.Fatal(err)
		}
		jobs, _ := r.store.Jobs(ctx, x.ID)
		if len(jobs) != 1 || jobs[0].Kind != models.JobCreate || jobs[0].Backend != models.BackendDingTalk {
			t.Errorf("jobs after a frozen migration = %+v, want one DingTalk create (the OA cannot be written)", jobs)
		}
		r.drain(t)
		got := mustGet(t, r, x.ID)
		if got.Backend != models.BackendDingTalk || got.Status != models.StatusConfirmed || got.UID != x.UID || got.Sequence <= x.Sequence {
			t.Errorf("migrated = %s %s uid %s seq %d, want confirmed in DingTalk with the same UID and a higher SEQUENCE", got.Backend, got.Status, got.UID, got.Sequence)
		}
		if r.oa.cancels != 0 {
			t.Errorf("OA cancels = %d, want none after the freeze", r.oa.cancels)
		}
		audit, _ := r.store.Audit(ctx, x.ID)
		if len(audit) == 0 || !strings.Contains(audit[0].Detail, "from_snapshot=1") {
			t.Errorf("audit = %+v, want the migration marked from_snapshot=1", audit)
		}
		if cs, _ := r.store.Conflicts(ctx, models.ConflictFilter{Status: models.ConflictOpen}); len(cs) != 0 {
			t.Errorf("open conflicts after migrating = %+v, want none", cs)
		}
		if rep, _ := r.svc.Cutover(ctx); len(rep.Items) != 0 || !rep.Frozen {
			t.Errorf("Cutover() after migrating = %+v, want nothing left, frozen", rep)
		}
	})
}
