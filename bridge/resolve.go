package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"roombridge/models"
)

func (s *Service) mayResolve(by models.User) error {
	if s.access.IsAdmin(by.ID) {
		return nil
	}
	return &models.Error{Kind: models.ErrForbidden, Code: "admin_only"}
}

func invalid(code, field string) error {
	return &models.Error{Kind: models.ErrInvalid, Code: code, Field: field}
}

// Resolve carries out an admin's resolution of conflict id. Every backend write goes
// through the outbox and is audited; the conflict shows the outcome (it closes once
// detection sees its cause gone, or stays open with the error when a backend refuses).
// Errors: ErrForbidden ("admin_only"), ErrNotFound, ErrInvalid ("bad_action",
// "not_a_side", "same_room", "note_required", "not_migratable", "room_not_in_backend"),
// ErrConflict ("conflict_closed", "resolution_running", or a *models.ConflictError when
// the target room is taken), ErrFrozen when the loser's backend takes no more writes.
func (s *Service) Resolve(ctx context.Context, by models.User, id string, act models.Resolution) (models.Conflict, error) {
	if err := s.mayResolve(by); err != nil {
		return models.Conflict{}, err
	}
	return s.resolveConflict(ctx, by, id, act)
}

func (s *Service) resolveConflict(ctx context.Context, by models.User, id string, act models.Resolution) (models.Conflict, error) {
	c, err := s.store.Conflict(ctx, id)
	if err != nil {
		return c, err
	}
	if c.Status != models.ConflictOpen {
		return c, &models.Error{Kind: models.ErrConflict, Code: "conflict_closed"}
	}
	if c.Outcome == models.OutcomeRunning {
		return c, &models.Error{Kind: models.ErrConflict, Code: "resolution_running"}
	}
	now := s.now()
	r := models.Resolving{Action: act.Action, By: by.ID, Changes: map[string]models.Change{}}
	audit := func(rid, detail string) *models.AuditEntry {
		return &models.AuditEntry{Actor: by.ID, Action: "conflict_" + act.Action, ReservationID: rid,
			Detail: strings.TrimSpace(fmt.Sprintf("conflict=%s kind=%s %s", c.ID, c.Kind, detail))}
	}
	switch act.Action {
	case models.ActionKeep:
		if c.Kind != models.KindOverlap {
			return c, invalid("bad_action", "action")
		}
		if _, ok := c.Side(act.Keep); !ok {
			return c, invalid("not_a_side", "keep")
		}
		r.Arg = act.Keep
		for _, side := range c.Sides {
			if side.ReservationID == act.Keep {
				continue
			}
			first := len(r.Changes) == 0
			r.Changes[side.ReservationID] = models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				var a *models.AuditEntry
				if first {
					a = audit(x.ID, "keep="+act.Keep+" cancel="+x.ID)
				} else {
					a = audit(x.ID, "cancel="+x.ID)
				}
				return s.loserJobs(x, c.ID, now, a)
			}}
		}
	case models.ActionMove:
		side, ok := c.Side(act.Reservation)
		if !ok {
			return c, invalid("not_a_side", "reservation")
		}
		room, err := s.store.Room(ctx, act.RoomID)
		if errors.Is(err, models.ErrNotFound) {
			return c, invalid("unknown_room", "room_id")
		}
		if err != nil {
			return c, err
		}
		if room.ID == side.RoomID {
			return c, invalid("same_room", "room_id")
		}
		backend, err := s.writableOwner(room, side.Start, now)
		if err != nil {
			return c, err
		}
		organizer := side.OrganizerID
		if organizer == "" {
			if organizer, err = s.userByName(ctx, side.Organizer); err != nil {
				return c, err
			}
		}
		r.Arg = side.ReservationID
		r.Changes[side.ReservationID] = models.Change{CheckRoom: true, Room: room.ID, Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			if !x.Status.Holds() || x.Status == models.StatusPending {
				return nil, nil, &models.Error{Kind: models.ErrConflict, Code: "not_active"}
			}
			if err := s.routing.CheckWritable(x.Backend, now); err != nil {
				return nil, nil, err
			}
			prev := take(*x)
			if x.OrganizerID == "" {
				x.OrganizerID = organizer
			}
			x.RoomID, x.Backend, x.Status, x.Origin = room.ID, backend, models.StatusPending, models.OriginBridge
			x.OwnEvent = bookedAlone(*x)
			x.RemoteID = nil
			x.Sequence++
			release := models.Job{ID: models.NewID(), ReservationID: x.ID, Kind: models.JobCancel, Backend: prev.Backend, RemoteID: prev.RemoteID, Payload: encodePayload(jobPayload{Conflict: c.ID})}
			create := models.Job{ReservationID: x.ID, Kind: models.JobCreate, Backend: backend, Payload: encodePayload(jobPayload{Prev: &prev, Conflict: c.ID, PrevRelease: release.ID})}
			return []models.Job{create, release}, audit(x.ID, fmt.Sprintf("move=%s %s→%s", x.ID, prev.RoomID, room.ID)), nil
		}}
	case models.ActionMigrate:
		if _, ok := c.Side(act.Reservation); !ok {
			return c, invalid("not_a_side", "reservation")
		}
		ch, err := s.migrateChange(ctx, act.Reservation, c.ID, now, func(x *models.Reservation, snapshotOnly bool) *models.AuditEntry {
			d := "migrate=" + x.ID
			if snapshotOnly {
				d += " from_snapshot=1"
			}
			return audit(x.ID, d)
		})
		if err != nil {
			return c, err
		}
		r.Arg = act.Reservation
		r.Changes[act.Reservation] = ch
	case models.ActionDismiss:
		note := strings.TrimSpace(act.Note)
		if note == "" {
			return c, invalid("note_required", "note")
		}
		if len(note) > 2000 {
			return c, invalid("note_too_long", "note")
		}
		if models.HasControl(note, "\t\n") || !utf8.ValidString(note) {
			return c, invalid("control_characters", "note")
		}
		r.Note, r.Done = note, true
		if len(c.Sides) > 0 {
			r.Changes[c.Sides[0].ReservationID] = models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				return nil, audit(x.ID, ""), nil
			}}
		}
	default:
		return c, invalid("bad_action", "action")
	}
	out, err := s.store.ResolveConflict(ctx, c.ID, r)
	if err != nil {
		return out, s.explainConflict(err)
	}
	s.log.Info("conflict resolution", "conflict", c.ID, "action", act.Action, "user", by.ID)
	s.changes.notify()
	s.kick()
	return out, nil
}

// loserJobs prepares the losing side of a kept conflict: its backend booking is
// released (the reservation turns cancelled when the backend confirms); a bridge
// booking not sent yet is cancelled at once.
func (s *Service) loserJobs(x *models.Reservation, conflict string, now time.Time, a *models.AuditEntry) ([]models.Job, *models.AuditEntry, error) {
	if !x.Status.Holds() {
		return nil, a, nil
	}
	if x.Remote() == "" {
		x.Status = models.StatusCancelled
		x.Sequence++
		if x.Origin == models.OriginBridge {
			return []models.Job{{ReservationID: x.ID, Kind: models.JobCancel, Backend: x.Backend, Payload: encodePayload(jobPayload{Conflict: conflict})}}, a, nil
		}
		return nil, a, nil
	}
	if err := s.routing.CheckWritable(x.Backend, now); err != nil {
		return nil, nil, err
	}
	return []models.Job{{ReservationID: x.ID, Kind: models.JobCancel, Backend: x.Backend, RemoteID: x.Remote(),
		Payload: encodePayload(jobPayload{Conflict: conflict, Release: true})}}, a, nil
}

// migrateChange moves an OA reservation dated on or after the cutover into DingTalk:
// the reservation keeps its UID, its SEQUENCE rises, a create job books it in DingTalk
// and then a cancel job releases it in the OA. After the OA freeze the OA cannot be
// written (nor read), so only the DingTalk booking is made, from the last snapshot.
func (s *Service) migrateChange(ctx context.Context, id, conflict string, now time.Time, audit func(*models.Reservation, bool) *models.AuditEntry) (models.Change, error) {
	x, err := s.store.Reservation(ctx, id)
	if err != nil {
		return models.Change{}, err
	}
	room, err := s.store.Room(ctx, x.RoomID)
	if err != nil {
		return models.Change{}, err
	}
	if room.RemoteID(models.BackendDingTalk) == "" {
		return models.Change{}, invalid("room_not_in_backend", "reservation")
	}
	if !s.backends[models.BackendDingTalk] {
		return models.Change{}, &models.Error{Kind: models.ErrUnavailable, Code: "backend_not_configured"}
	}
	// DingTalk books in the organizer's calendar: a booking found in the OA names its
	// organizer only by display name, which must match exactly one catalog user.
	organizer := x.OrganizerID
	if organizer == "" {
		if organizer, err = s.userByName(ctx, x.OrganizerName); err != nil {
			return models.Change{}, err
		}
	}
	return models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		if x.OrganizerID == "" {
			x.OrganizerID = organizer
		}
		if x.Backend != models.BackendOA || !x.Status.Holds() || x.Status == models.StatusPending || s.routing.Owner(x.Start) == models.BackendOA {
			return nil, nil, invalid("not_migratable", "reservation")
		}
		snapshotOnly := s.routing.CheckWritable(models.BackendOA, now) != nil
		prev := take(*x)
		x.Backend, x.Status, x.Origin = models.BackendDingTalk, models.StatusPending, models.OriginBridge
		x.OwnEvent = bookedAlone(*x)
		x.RemoteID = nil
		x.Sequence++
		// The OA booking is released after the DingTalk one is made; after the freeze it
		// is left as it is (kept: a refusal puts the reservation back on it).
		create := jobPayload{Prev: &prev, Conflict: conflict, PrevRelease: keptRelease}
		var jobs []models.Job
		if !snapshotOnly && prev.RemoteID != "" {
			release := models.Job{ID: models.NewID(), ReservationID: x.ID, Kind: models.JobCancel, Backend: models.BackendOA, RemoteID: prev.RemoteID,
				Payload: encodePayload(jobPayload{Conflict: conflict})}
			create.PrevRelease = release.ID
			jobs = append(jobs, release)
		}
		jobs = append([]models.Job{{ReservationID: x.ID, Kind: models.JobCreate, Backend: models.BackendDingTalk, Payload: encodePayload(create)}}, jobs...)
		return jobs, audit(x, snapshotOnly), nil
	}}, nil
}

// MoveOptions suggests rooms for moving reservation id out of a conflict: rooms of the
// same office with at least as many seats, free in both systems for its time.
func (s *Service) MoveOptions(ctx context.Context, id string) ([]models.Room, error) {
	r, err := s.store.Reservation(ctx, id)
	if err != nil {
		return nil, err
	}
	room, err := s.store.Room(ctx, r.RoomID)
	if err != nil {
		return nil, err
	}
	free, err := s.store.FreeRooms(ctx, r.Start, r.End, room.OfficeID, room.Capacity, r.ID)
	if err != nil {
		return nil, err
	}
	var out []models.Room
	for _, f := range free {
		if f.ID != room.ID && f.RemoteID(s.routing.Owner(r.Start)) != "" {
			out = append(out, f)
		}
	}
	return out, nil
}

// Cutover reports every OA reservation dated on or after the cutover and every series
// booked through the bridge that crosses it. Occurrences of bridge series are not items:
// they move with their series (ResplitSeries).
func (s *Service) Cutover(ctx context.Context) (models.CutoverReport, error) {
	now := s.now()
	cut := s.routing.Cutover()
	rep := models.CutoverReport{Cutover: cut, Freeze: s.routing.Freeze[models.BackendOA], Frozen: s.routing.CheckWritable(models.BackendOA, now) != nil,
		Items: []models.CutoverItem{}, Series: []models.CutoverSeries{}}
	if cut.IsZero() {
		return rep, nil
	}
	after, err := s.store.Reservations(ctx, models.Filter{Backend: models.BackendOA, Statuses: []models.Status{models.StatusConfirmed, models.StatusTentative}, From: cut})
	if err != nil {
		return rep, err
	}
	across, err := s.store.SeriesAcross(ctx, cut)
	if err != nil {
		return rep, err
	}
	rep.Series = append(rep.Series, across...)
	for _, r := range after {
		// An occurrence of a bridge series moves with its series (ResplitSeries).
		if r.Start.Before(cut) || r.Series() != "" {
			continue
		}
		it := models.CutoverItem{Reservation: r, ID: r.ID, UID: r.UID, RoomID: r.RoomID, Title: r.Title, Organizer: r.OrganizerName,
			Start: r.Start, End: r.End, RemoteID: r.Remote(), Status: r.Status}
		rep.Items = append(rep.Items, it)
	}
	pending, err := s.store.Reservations(ctx, models.Filter{Backend: models.BackendDingTalk, Statuses: []models.Status{models.StatusPending}, From: cut})
	if err != nil {
		return rep, err
	}
	for _, p := range pending {
		if strings.HasPrefix(p.UID, string(models.BackendOA)+"-") {
			rep.InFlight++
		}
	}
	return rep, nil
}

// Migrate queues the move of one OA reservation dated on or after the cutover into
// DingTalk (see migrateChange), linked to its open wrong_system conflict when there is
// one. Errors: ErrForbidden, ErrNotFound, ErrInvalid ("not_migratable",
// "room_not_in_backend").
func (s *Service) Migrate(ctx context.Context, by models.User, id string) (models.Reservation, error) {
	if err := s.mayResolve(by); err != nil {
		return models.Reservation{}, err
	}
	return s.migrate(ctx, by, id)
}

// MigrateAsOperator is Migrate for the operator's migrate-bookings command, audited as
// actor (the command runs with the database's credentials, outside any sign-in).
func (s *Service) MigrateAsOperator(ctx context.Context, actor, id string) (models.Reservation, error) {
	return s.migrate(ctx, models.User{ID: actor}, id)
}

func (s *Service) migrate(ctx context.Context, by models.User, id string) (models.Reservation, error) {
	cs, err := s.store.Conflicts(ctx, models.ConflictFilter{Reservation: id, Kind: models.KindWrongSystem, Status: models.ConflictOpen})
	if err != nil {
		return models.Reservation{}, err
	}
	if len(cs) > 0 && cs[0].Outcome != models.OutcomeRunning {
		if _, err := s.resolveConflict(ctx, by, cs[0].ID, models.Resolution{Action: models.ActionMigrate, Reservation: id}); err != nil {
			return models.Reservation{}, err
		}
		return s.store.Reservation(ctx, id)
	}
	now := s.now()
	ch, err := s.migrateChange(ctx, id, "", now, func(x *models.Reservation, snapshotOnly bool) *models.AuditEntry {
		d := "migrate=" + x.ID
		if snapshotOnly {
			d += " from_snapshot=1"
		}
		return &models.AuditEntry{Actor: by.ID, Action: "migrate", ReservationID: x.ID, Detail: d}
	})
	if err != nil {
		return models.Reservation{}, err
	}
	r, err := s.store.Update(ctx, id, ch)
	if err != nil {
		return r, err
	}
	s.changes.notify()
	s.kick()
	return r, nil
}

// userByName returns the id of the one catalog user called name. Errors: ErrInvalid
// ("organizer_unmapped") when nobody or more than one person has that name.
func (s *Service) userByName(ctx context.Context, name string) (string, error) {
	users, err := s.store.Users(ctx)
	if err != nil {
		return "", err
	}
	id := ""
	for _, u := range users {
		if name != "" && strings.TrimSpace(u.Name) == strings.TrimSpace(name) {
			if id != "" {
				return "", invalid("organizer_unmapped", "reservation")
			}
			id = u.ID
		}
	}
	if id == "" {
		return "", invalid("organizer_unmapped", "reservation")
	}
	return id, nil
}
