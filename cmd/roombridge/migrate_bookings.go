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
		o := seriesOutcome{SeriesID: sp.Series.ID, UID: sp.Series.UID, Moves: len(sp.Moves), Sequence: sp.Series.Sequence,
			Outcome: sp.Outcome(), FromSnapshot: sp.FromSnapshot}
		for _, t := range sp.Skipped {
			o.Skipped = append(o.Skipped, t.Start)
		}
		if sp.Err != nil {
			o.Error = sp.Err.Error()
		}
		say("  series %s %q: %d occurrence(s) in the wrong system: %s%s", sp.Series.ID, sp.Series.Title, len(sp.Moves), o.Outcome, suffix(migrateOutcome{Error: o.Error}))
		for _, r := range sp.Moves {
			to := a.service.Route(r.Start).Backend
			oc := occurrenceOutcome{Start: r.Start, From: r.Backend, To: to}
			note := ""
			switch _, taken := sp.SkippedAt(r.Start); {
			case sp.IsFrozen(r.ID):
				oc.Reason = "oa_frozen"
				note = ": stays in " + string(r.Backend) + " (oa_frozen: the OA is frozen and can take no booking)"
			case taken:
				oc.Reason = "slot_taken"
				note = ": skipped (slot_taken: someone else holds the slot there)"
			case sp.FromSnapshot && r.Backend == models.BackendOA:
				oc.FromSnapshot = true
				note = " (from the last OA snapshot; the OA still lists it)"
			}
			o.Occurrences = append(o.Occurrences, oc)
			say("    %s  %s → %s%s", r.Start.In(zone).Format("2006-01-02 15:04"), r.Backend, to, note)
		}
		out.Series = append(out.Series, o)
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
		return failedSeries(out.Series, dryRun)
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
	return failedSeries(out.Series, dryRun)
}

// seriesOutcome is what migrate-bookings did to one series split at another cutover.
type seriesOutcome struct {
	SeriesID string `json:"series_id"`
	UID      string `json:"uid"`
	// Moves counts the occurrences in the wrong system, those that cannot move included.
	Moves int `json:"occurrences_to_move"`
	// Outcome is to_move (dry run), moved, kept (nothing could move: the OA is frozen) or
	// failed.
	Outcome  string `json:"outcome"`
	Sequence int    `json:"sequence"`
	// Skipped are the starts of the occurrences whose slot is taken (slot_taken).
	Skipped []time.Time `json:"skipped,omitempty"`
	// FromSnapshot: the OA is frozen; occurrences leaving it are created in DingTalk from
	// the stored rows and their OA bookings are not cancelled.
	FromSnapshot bool `json:"from_snapshot,omitempty"`
	// Occurrences are the occurrences in the wrong system, each with where it goes.
	Occurrences []occurrenceOutcome `json:"occurrences"`
	Error       string              `json:"error,omitempty"`
}

// occurrenceOutcome is one occurrence of a series in the wrong system: from → to, and
// why it does not get there (reason slot_taken: cancelled; oa_frozen: it stays in From).
type occurrenceOutcome struct {
	Start        time.Time      `json:"start"`
	From         models.Backend `json:"from"`
	To           models.Backend `json:"to"`
	Reason       string         `json:"reason,omitempty"`
	FromSnapshot bool           `json:"from_snapshot,omitempty"`
}

// failedSeries is the error of a real run that left series or occurrences in the wrong
// system: re-splits that failed, and occurrences a frozen OA cannot take.
func failedSeries(list []seriesOutcome, dryRun bool) error {
	failed, frozen := 0, 0
	for _, o := range list {
		if o.Outcome == models.ResplitFailed {
			failed++
		}
		for _, oc := range o.Occurrences {
			if oc.Reason == "oa_frozen" {
				frozen++
			}
		}
	}
	switch {
	case dryRun:
		return nil
	case failed > 0:
		return fmt.Errorf("migrate-bookings: %d series could not be re-split", failed)
	case frozen > 0:
		return fmt.Errorf("migrate-bookings: %d occurrence(s) stay in DingTalk: they belong to the OA, which is frozen (oa_frozen)", frozen)
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
