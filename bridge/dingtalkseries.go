package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"roombridge/bridge/dingtalk"
	"roombridge/models"
)

// bookRequest is the DingTalk booking of w: organiser, attendees, room and text.
func (d *DingTalk) bookRequest(ctx context.Context, w Write) (dingtalk.BookRequest, error) {
	if w.Room.DingTalkRoomID == "" {
		return dingtalk.BookRequest{}, models.E(models.ErrInvalid, "room_not_in_backend", "room_id", models.ArgRoom, w.Room.Name, models.ArgBackend, string(models.BackendDingTalk))
	}
	org, err := d.unionID(ctx, w.Organizer)
	if err != nil {
		return dingtalk.BookRequest{}, err
	}
	var attendees []string
	for _, a := range w.Attendees {
		if a.ID == w.Organizer.ID {
			continue
		}
		id, err := d.unionID(ctx, a)
		if err != nil {
			if errors.Is(err, models.ErrUnavailable) {
				return dingtalk.BookRequest{}, err
			}
			continue // an attendee without DingTalk does not stop the booking
		}
		attendees = append(attendees, id)
	}
	return dingtalk.BookRequest{
		Key: w.Key, OrganizerUnionID: org, Summary: w.Reservation.Title, Description: w.Reservation.Description,
		Start: w.Reservation.Start, End: w.Reservation.End, Zone: d.Zone, AttendeeUnionIDs: attendees,
		RoomID: w.Room.DingTalkRoomID, RoomName: w.Room.Name,
	}, nil
}

// CreateSeries makes one recurring event for part, deletes the excluded occurrences and
// books the room for the rest.
func (d *DingTalk) CreateSeries(ctx context.Context, w Write, part SeriesPart) (string, map[int64]string, error) {
	req, err := d.bookRequest(ctx, w)
	if err != nil {
		return "", nil, err
	}
	rc, err := dingtalk.RecurrenceOf(part.Rule, part.Start, part.Zone)
	if err != nil {
		return "", nil, err
	}
	req.Start, req.End, req.Zone, req.Recurrence = part.Start, part.End, part.Zone, &rc
	got, err := d.Client.BookSeries(ctx, req, part.Exclude)
	if dingtalk.IsQuotaExhausted(err) {
		return "", nil, models.E(models.ErrForbidden, "dingtalk_quota", "").Wrap(err)
	}
	if err != nil {
		return "", nil, err
	}
	occ := make(map[int64]string, len(got.Instances))
	for _, in := range got.Instances {
		occ[in.Start.Unix()] = in.ID
	}
	return got.EventID, occ, nil
}

// EndSeries sets the recurring event's new end, or deletes it (room first) when part has
// no occurrence left.
func (d *DingTalk) EndSeries(ctx context.Context, w Write, remoteID string, part SeriesPart) error {
	org, err := d.unionID(ctx, w.Organizer)
	if err != nil {
		return err
	}
	if starts, _ := part.Rule.Expand(part.Start, part.Zone, 0); len(starts) == 0 || part.Rule.Count == 0 && part.Rule.Until.Before(part.Start) {
		return d.Client.CancelBooking(ctx, w.Key, org, remoteID, w.Room.DingTalkRoomID)
	}
	rc, err := dingtalk.RecurrenceOf(part.Rule, part.Start, part.Zone)
	if err != nil {
		return err
	}
	err = d.Client.SetRecurrence(ctx, w.Key, org, remoteID, rc)
	if errors.Is(err, models.ErrNotFound) {
		return nil // the event is gone: nothing is held after the new end either
	}
	if err != nil {
		return fmt.Errorf("end DingTalk series %s: %w", remoteID, err)
	}
	return nil
}

// CancelOccurrence deletes one occurrence of a recurring event.
func (d *DingTalk) CancelOccurrence(ctx context.Context, w Write, occurrenceID string) error {
	org, err := d.unionID(ctx, w.Organizer)
	if err != nil {
		return err
	}
	return d.Client.DeleteOccurrence(ctx, w.Key, org, occurrenceID)
}

// PruneSeries deletes, in each recurring event of events, the occurrences listed in
// occurrenceIDs, then deletes (room first) every event left without an occurrence.
func (d *DingTalk) PruneSeries(ctx context.Context, w Write, events, occurrenceIDs []string) ([]string, error) {
	org, err := d.unionID(ctx, w.Organizer)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, ev := range events {
		inst, err := d.Client.Instances(ctx, org, ev)
		if errors.Is(err, models.ErrNotFound) {
			gone = append(gone, ev)
			continue
		}
		if err != nil {
			return gone, fmt.Errorf("occurrences of DingTalk event %s: %w", ev, err)
		}
		left := 0
		for _, in := range inst {
			if !slices.Contains(occurrenceIDs, in.ID) {
				left++
				continue
			}
			if err := d.Client.DeleteOccurrence(ctx, w.Key+"-"+in.ID, org, in.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
				return gone, fmt.Errorf("delete occurrence %s of DingTalk event %s: %w", in.ID, ev, err)
			}
		}
		if left > 0 {
			continue
		}
		if err := d.Client.CancelBooking(ctx, w.Key+"-"+ev, org, ev, w.Room.DingTalkRoomID); err != nil && !errors.Is(err, models.ErrNotFound) {
			return gone, fmt.Errorf("delete emptied DingTalk event %s: %w", ev, err)
		}
		gone = append(gone, ev)
	}
	return gone, nil
}
