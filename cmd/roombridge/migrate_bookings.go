package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"roombridge/models"
)

// migrateActor is who the audit log names for migrate-bookings.
const migrateActor = "cli:migrate-bookings"

// migrateResult is the --json answer of migrate-bookings.
type migrateResult struct {
	DryRun bool                 `json:"dry_run"`
	Report models.CutoverReport `json:"report"`
	// Outcomes are per reservation (real run only): migrated, failed or queued.
	Outcomes []migrateOutcome `json:"outcomes,omitempty"`
	Summary  map[string]int   `json:"summary,omitempty"`
	// Series are the series split at another cutover, moved into the systems the
	// configured one gives their occurrences.
	Series []seriesOutcome `json:"series,omitempty"`
}

type migrateOutcome struct {
	ReservationID string `json:"reservation_id"`
	Outcome       string `json:"outcome"`
	RemoteID      string `json:"dingtalk_id,omitempty"`
	Error         string `json:"error,omitempty"`
}

// migrateBookings lists (dryRun) or moves every OA reservation dated on or after the
// cutover into DingTalk: create there, then cancel in the OA, same UID, SEQUENCE raised.
// A sync pass of both backends first brings the table up to date. After the OA freeze
// the OA can be neither read nor written: it creates in DingTalk from the last OA
// snapshot only, and says so. Running it again finds nothing left to move.
func migrateBookings(ctx context.Context, cfg config, dryRun, asJSON bool, stdout, stderr io.Writer) error {
	a, err := build(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	say := func(format string, args ...any) {
		if !asJSON {
			fmt.Fprintf(stdout, format+"\n", args...)
		}
	}
	if _, err := a.admin.Sync(ctx, false); err != nil {
		say("warning: sync before the report failed: %v", err)
	}
	rep, err := a.service.Cutover(ctx)
	if err != nil {
		return err
	}
	out := migrateResult{DryRun: dryRun, Report: rep}
	zone := cfg.Zone
	say("cutover %s, OA freeze %s", rep.Cutover.In(zone).Format("2006-01-02 15:04"), rep.Freeze.In(zone).Format("2006-01-02 15:04"))
	if rep.Frozen {
		at, _ := a.store.State(ctx, models.BackendOA, "final_snapshot_at")
		if at == "" {
			at = "never taken"
		}
		say("the OA is frozen: bookings are created in DingTalk from the last OA snapshot (%s) and cannot be cancelled in the OA", at)
	}
	say("%d OA booking(s) dated on or after the cutover:", len(rep.Items))
	for _, it := range rep.Items {
		say("  %s  %s  %s  %q  %s  oa:%s", it.ID, it.Start.In(zone).Format("2006-01-02 15:04"), it.RoomID, it.Title, it.Organizer, it.RemoteID)
	}
	say("%d series booked through the bridge crossing the cutover (series booked in the OA itself carry no series id in its answers and are listed as single bookings):", len(rep.Series))
	for _, x := range rep.Series {
		say("  %s  %q  %s  %s  first %s  OA before: %d, DingTalk from the cutover: %d (event %s), still in the OA from the cutover: %d",
			x.ID, x.Title, x.RoomID, x.Organizer, x.Start.In(zone).Format("2006-01-02 15:04"), x.OABefore, x.DingTalkAfter, orNone(x.DingTalkEventID), x.OAAfter)
	}
	splits, err := a.service.ResplitSeries(ctx, migrateActor, dryRun)
	if err != nil {
		return err
	}
	if len(splits) > 0 {
		say("%d series split at another cutover:", len(splits))
	}
	for _, sp := range splits {
		o := seriesOutcome{SeriesID: sp.Series.ID, UID: sp.Series.UID, Moves: len(sp.Moves), Sequence: sp.Series.Sequence}
		for _, t := range sp.Skipped {
			o.Skipped = append(o.Skipped, t.Start)
		}
		switch {
		case dryRun:
			o.Outcome = "to_move"
		case sp.Err != nil:
			o.Outcome, o.Error = "failed", sp.Err.Error()
		default:
			o.Outcome = "moved"
		}
		out.Series = append(out.Series, o)
		say("  series %s %q: %d occurrence(s) in the wrong system: %s%s", sp.Series.ID, sp.Series.Title, len(sp.Moves), o.Outcome, suffix(migrateOutcome{Error: o.Error}))
		for _, r := range sp.Moves {
			say("    %s  %s → %s", r.Start.In(zone).Format("2006-01-02 15:04"), r.Backend, a.service.Route(r.Start).Backend)
		}
		for _, t := range o.Skipped {
			say("    skipped %s: the slot is taken", t.In(zone).Format("2006-01-02 15:04"))
		}
	}
	if !dryRun && len(splits) > 0 {
		// The moves are in the outbox: send what can be sent now (the server's outbox
		// finishes the rest).
		for range 50 {
			if n, err := a.dispatcher.RunOnce(ctx); err != nil || n == 0 {
				break
			}
		}
	}
	if dryRun || len(rep.Items) == 0 {
		if len(rep.Items) == 0 {
			say("nothing to migrate")
		}
		if err := writeMigrateJSON(asJSON, stdout, out); err != nil {
			return err
		}
		return failedSeries(out.Series)
	}
	out.Summary = map[string]int{"migrated": 0, "failed": 0, "queued": 0}
	for i, it := range rep.Items {
		o := migrateOutcome{ReservationID: it.ID}
		if _, err := a.service.MigrateAsOperator(ctx, migrateActor, it.ID); err != nil {
			o.Outcome, o.Error = "failed", err.Error()
		} else {
			r, err := a.drive(ctx, it.ID, 2*time.Minute)
			switch {
			case err != nil:
				o.Outcome, o.Error = "failed", err.Error()
			case r.Status == models.StatusPending:
				o.Outcome = "queued"
			case r.Backend == models.BackendDingTalk && r.Status.Holds():
				o.Outcome, o.RemoteID = "migrated", r.Remote()
			default:
				o.Outcome, o.Error = "failed", fmt.Sprintf("%s %s: %s %s", r.Backend, r.Status, r.ReasonCode, r.ReasonArgs)
			}
		}
		out.Summary[o.Outcome]++
		out.Outcomes = append(out.Outcomes, o)
		say("[%d/%d] %s %q: %s%s", i+1, len(rep.Items), it.ID, it.Title, o.Outcome, suffix(o))
	}
	say("summary: %d migrated, %d failed, %d queued (the server's outbox finishes queued ones)", out.Summary["migrated"], out.Summary["failed"], out.Summary["queued"])
	if rep.Frozen {
		say("created from the last OA snapshot only; the OA still lists them (marked from_snapshot=1 in the audit log)")
	}
	if err := writeMigrateJSON(asJSON, stdout, out); err != nil {
		return err
	}
	if out.Summary["failed"] > 0 {
		return fmt.Errorf("migrate-bookings: %d booking(s) could not be migrated", out.Summary["failed"])
	}
	return failedSeries(out.Series)
}

// seriesOutcome is what migrate-bookings did to one series split at another cutover.
type seriesOutcome struct {
	SeriesID string      `json:"series_id"`
	UID      string      `json:"uid"`
	Moves    int         `json:"occurrences_to_move"`
	Outcome  string      `json:"outcome"` // to_move (dry run), moved or failed
	Sequence int         `json:"sequence"`
	Skipped  []time.Time `json:"skipped,omitempty"`
	Error    string      `json:"error,omitempty"`
}

func failedSeries(list []seriesOutcome) error {
	n := 0
	for _, o := range list {
		if o.Outcome == "failed" {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("migrate-bookings: %d series could not be re-split", n)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func suffix(o migrateOutcome) string {
	switch {
	case o.Error != "":
		return " (" + o.Error + ")"
	case o.RemoteID != "":
		return " (dingtalk " + o.RemoteID + ")"
	}
	return ""
}

func writeMigrateJSON(asJSON bool, w io.Writer, v migrateResult) error {
	if !asJSON {
		return nil
	}
	if v.Report.Items == nil {
		v.Report.Items = []models.CutoverItem{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// drive runs the outbox until reservation id's jobs are done or none is due (a backend
// that is down leaves it queued for the server), within max.
func (a *app) drive(ctx context.Context, id string, max time.Duration) (models.Reservation, error) {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	for {
		n, err := a.dispatcher.RunOnce(ctx)
		if err != nil {
			return models.Reservation{}, err
		}
		jobs, err := a.store.Jobs(ctx, id)
		if err != nil {
			return models.Reservation{}, err
		}
		pending, soon := false, false
		now := a.now()
		for _, j := range jobs {
			if j.State == models.JobPending {
				pending = true
				// Another process (the server) holds it, or its retry is due shortly.
				soon = soon || (j.LockedUntil != nil && j.LockedUntil.After(now)) || j.NextAttemptAt.Before(now.Add(5*time.Second))
			}
		}
		if pending && n == 0 && soon {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		if !pending || (n == 0 && !soon) || ctx.Err() != nil {
			r, err := a.store.Reservation(ctx, id)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return r, nil
			}
			return r, err
		}
	}
}
