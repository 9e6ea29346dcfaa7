package models

import (
	"fmt"
	"sort"
	"time"
)

// DiscrepancyKind says how the reservations table and a backend disagree.
type DiscrepancyKind string

// Discrepancy kinds.
const (
	// DiscrepancyMissing: the table holds a booking its backend no longer has.
	DiscrepancyMissing DiscrepancyKind = "missing"
	// DiscrepancyExtra: the backend holds a booking the table does not (or has as
	// cancelled or rejected).
	DiscrepancyExtra DiscrepancyKind = "extra"
	// DiscrepancyDifferent: both hold it, at a different time or in a different room.
	DiscrepancyDifferent DiscrepancyKind = "different"
	// DiscrepancyPending: a bridge booking not written to its backend yet.
	DiscrepancyPending DiscrepancyKind = "pending"
	// DiscrepancyReleasing: the backend holds a booking the table does not (or has as
	// cancelled), and a pending job releases it: the old booking of a reservation that
	// moved, or one cancelled, on its way out. Not a problem.
	DiscrepancyReleasing DiscrepancyKind = "releasing"
	// DiscrepancyReleaseFailed: the backend holds a booking the table does not (or has
	// as cancelled), and the job that was to release it gave up: it stays there, holding
	// its room, until an admin sees to it (a sync pass imports it).
	DiscrepancyReleaseFailed DiscrepancyKind = "release_failed"
)

// Problem reports whether d needs someone's attention (everything but a booking being
// released).
func (d Discrepancy) Problem() bool { return d.Kind != DiscrepancyReleasing }

// Discrepancy is one disagreement between the reservations table and a backend.
type Discrepancy struct {
	Kind          DiscrepancyKind
	Backend       Backend
	ReservationID string // "" for an extra booking the table does not know
	RemoteID      string
	RoomID        string
	Start, End    time.Time
	// Detail says what differs (DiscrepancyDifferent) or the table's status (extra).
	Detail string
}

// CompareBackend lists every disagreement between table, the reservations of backend b
// in the rooms and window that were read (any status), and remotes, what b reported for
// them. Times are compared in whole seconds, as stored. releases (by remote id, see
// Store.ReleasesOf; nil: none known) tells a booking the table lacks or has as
// cancelled that a job is releasing, or failed to, from an extra one.
func CompareBackend(b Backend, table []Reservation, remotes []Remote, releases map[string]Release) []Discrepancy {
	listed := map[string]Remote{}
	for _, rm := range remotes {
		if rm.RemoteID != "" {
			listed[rm.RemoteID] = rm
		}
	}
	var out []Discrepancy
	matched := map[string]bool{}
	for _, r := range table {
		if r.Backend != b {
			continue
		}
		d := Discrepancy{Backend: b, ReservationID: r.ID, RemoteID: r.Remote(), RoomID: r.RoomID, Start: r.Start, End: r.End}
		if r.Remote() == "" {
			if r.Status == StatusPending {
				d.Kind = DiscrepancyPending
				out = append(out, d)
			}
			continue
		}
		rm, ok := listed[r.Remote()]
		matched[r.Remote()] = ok
		switch {
		case r.Status.Holds() && !ok:
			d.Kind = DiscrepancyMissing
			out = append(out, d)
		case !r.Status.Holds() && ok:
			d.Kind, d.Detail = DiscrepancyExtra, "the table has it as "+string(r.Status)
			released(&d, releases[r.Remote()])
			out = append(out, d)
		case ok:
			var diff []string
			if rm.RoomID != "" && rm.RoomID != r.RoomID {
				diff = append(diff, fmt.Sprintf("room %s in the table, %s in %s", r.RoomID, rm.RoomID, b))
			}
			if !sameSecond(rm.Start, r.Start) || !sameSecond(rm.End, r.End) {
				diff = append(diff, fmt.Sprintf("time %s–%s in the table, %s–%s in %s", stamp(r.Start), stamp(r.End), stamp(rm.Start), stamp(rm.End), b))
			}
			if len(diff) > 0 {
				d.Kind, d.Detail = DiscrepancyDifferent, fmt.Sprint(diff)
				out = append(out, d)
			}
		}
	}
	for id, rm := range listed {
		if !matched[id] {
			d := Discrepancy{Kind: DiscrepancyExtra, Backend: b, RemoteID: id, RoomID: rm.RoomID, Start: rm.Start, End: rm.End, Detail: "not in the table"}
			released(&d, releases[id])
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].RemoteID+out[i].ReservationID < out[j].RemoteID+out[j].ReservationID
	})
	return out
}

// released makes extra booking d one being released, or whose release failed, as rel
// says.
func released(d *Discrepancy, rel Release) {
	switch rel.State {
	case JobPending:
		d.Kind, d.Detail = DiscrepancyReleasing, fmt.Sprintf("%s; a pending %s job (%s) releases it", d.Detail, rel.Kind, rel.Job)
	case JobFailed:
		d.Kind, d.Detail = DiscrepancyReleaseFailed, fmt.Sprintf("%s; its %s job (%s) gave up: %s", d.Detail, rel.Kind, rel.Job, rel.Error)
	}
}

func sameSecond(a, b time.Time) bool {
	return a.UTC().Truncate(time.Second).Equal(b.UTC().Truncate(time.Second))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
