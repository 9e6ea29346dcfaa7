package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/models"
)

// Notifications: when a booking's outcome changes after its organizer stopped waiting
// for it, the organizer gets one DingTalk work notification linking to the booking.
//
// What is reported (models.Notice* codes):
//   - confirmed / rejected: a create job finished later than NotifyConfig.After after it
//     was queued. The booking form waits up to that long and shows the outcome itself,
//     so an outcome reached within the wait is not reported. The same holds for a
//     reschedule refused, and for a series' recurring event refused at DingTalk (new
//     or changed): that is one notice, on the first occurrence it concerns;
//   - conflict: the reservation is a side of a conflict that opened (or reopened);
//   - cancelled: an admin resolving a conflict released the reservation;
//   - migrated: the reservation moved from the OA to DingTalk.
//
// Each change is queued as a JobNotify outbox job in the transaction that records the
// change, with an id derived from the change (models.NotifyJob), so it is sent once.
// A send whose answer is lost is retried and may then reach the organizer twice:
// asyncsend_v2 has no idempotency key.

// Notice is one change to tell an organizer about.
type Notice struct {
	Change      string // a models.Notice* code
	Reservation models.Reservation
	Room        models.Room
	Organizer   models.User
	URL         string // the booking's page
}

// Notifier delivers a Notice to its organizer.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// NotifyConfig turns notifications on (a nil *NotifyConfig means off).
type NotifyConfig struct {
	Notifier Notifier
	// BaseURL is the service's public address; the booking link is BaseURL/bookings/{id}.
	BaseURL string
	// After is how long the booking form waits for an outcome: outcomes reached within
	// it are shown by the form and not notified.
	After time.Duration
}

// DingTalkNotifier sends notices as DingTalk work notifications of app AgentID to the
// organizer's DingTalk userid from the catalog.
type DingTalkNotifier struct {
	Client  *dingtalk.Client
	AgentID int64
	// Location is where times in the text are shown (default UTC+8).
	Location *time.Location
}

// Notify sends n; an organizer without a DingTalk userid is an error wrapping
// models.ErrNotFound (the caller skips it).
func (d DingTalkNotifier) Notify(ctx context.Context, n Notice) error {
	if n.Organizer.DingTalkUserID == "" {
		return fmt.Errorf("notify %s: organizer %q has no DingTalk userid: %w", n.Reservation.ID, n.Organizer.ID, models.ErrNotFound)
	}
	loc := d.Location
	if loc == nil {
		loc = time.FixedZone("UTC+8", 8*3600)
	}
	_, err := d.Client.SendWorkNotice(ctx, d.AgentID, []string{n.Organizer.DingTalkUserID}, RenderNotice(n, loc))
	return err
}

// noticeTitles are the work notifications' titles, in Chinese (the staff's language):
// the message is shown by DingTalk, not by roombridge's pages.
var noticeTitles = map[string]string{
	models.NoticeConfirmed: "会议室预订已确认",
	models.NoticeRejected:  "会议室预订未成功",
	models.NoticeConflict:  "会议室预订冲突，等待管理员处理",
	models.NoticeCancelled: "会议室预订已被管理员取消（重复预订）",
	models.NoticeMigrated:  "会议室预订已迁移到钉钉",
}

// RenderNotice is the text of n: a title by change code, then the room and time; the
// card links to the booking page, which explains the details.
func RenderNotice(n Notice, loc *time.Location) dingtalk.LinkMessage {
	title := noticeTitles[n.Change]
	if title == "" {
		title = "会议室预订有更新"
	}
	room := n.Room.Name
	if room == "" {
		room = n.Reservation.RoomID
	}
	s, e := n.Reservation.Start.In(loc), n.Reservation.End.In(loc)
	text := fmt.Sprintf("%s，%s %s–%s。点击查看详情。", room, s.Format("1月2日"), s.Format("15:04"), e.Format("15:04"))
	if t := strings.TrimSpace(n.Reservation.Title); t != "" {
		text = "「" + t + "」" + text
	}
	return dingtalk.LinkMessage{Title: title, Text: text, URL: n.URL}
}

// notifyJobs are the notifications for change of r caused by key, or none when
// notifications are off.
func (d *Dispatcher) notifyJobs(r models.Reservation, change, key string) []models.Job {
	if d.notify == nil {
		return nil
	}
	return []models.Job{models.NotifyJob(r.ID, change, key)}
}

// lateOutcome reports whether a create job queued at queued and finished at now ended
// after the booking form stopped waiting for it.
func (d *Dispatcher) lateOutcome(queued, now time.Time) bool {
	return d.notify != nil && now.Sub(queued) > d.notify.After
}

// sendNotice runs a JobNotify job. pre, when set, is its reservation as the pass read it,
// with its room and organizer.
func (d *Dispatcher) sendNotice(ctx context.Context, j models.Job, pre *prefetched) (models.JobResult, string) {
	var p struct{ Change, Reservation string }
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
		return models.JobResult{Job: j, State: models.JobFailed, Error: "bad payload: " + err.Error()}, "failed"
	}
	if d.notify == nil || d.notify.Notifier == nil {
		return models.JobResult{Job: j, State: models.JobDone, Error: "notifications are off"}, "skipped"
	}
	if pre != nil && pre.r.ID != p.Reservation {
		pre = nil
	}
	var r models.Reservation
	var err error
	if pre != nil {
		r = pre.r
	} else if r, err = d.store.Reservation(ctx, p.Reservation); err != nil {
		return d.retry(j, fmt.Errorf("load reservation: %w", err)), "retry"
	}
	if r.Origin != models.OriginBridge {
		return models.JobResult{Job: j, State: models.JobDone, Error: "not booked through roombridge"}, "skipped"
	}
	n := Notice{Change: p.Change, Reservation: r, URL: strings.TrimRight(d.notify.BaseURL, "/") + "/bookings/" + r.ID}
	switch {
	case pre != nil && pre.organizer != nil && pre.organizer.ID == r.OrganizerID:
		n.Organizer = *pre.organizer
	case r.OrganizerID != "":
		if n.Organizer, err = d.store.User(ctx, r.OrganizerID); err != nil {
			return d.retry(j, fmt.Errorf("organizer %s: %w", r.OrganizerID, err)), "retry"
		}
	}
	if n.Organizer.DingTalkUserID == "" {
		d.log.Info("notification skipped: organizer has no DingTalk userid", "reservation", r.ID, "organizer", r.OrganizerID, "change", p.Change)
		return models.JobResult{Job: j, State: models.JobDone, Error: "organizer has no DingTalk userid"}, "skipped"
	}
	if pre != nil && pre.room.ID == r.RoomID {
		n.Room = pre.room
	} else if n.Room, err = d.store.Room(ctx, r.RoomID); err != nil {
		n.Room = models.Room{ID: r.RoomID}
	}
	cctx, cancel := context.WithTimeout(ctx, d.jobTimeout)
	err = d.notify.Notifier.Notify(cctx, n)
	cancel()
	if err == nil {
		return models.JobResult{Job: j, State: models.JobDone,
			Audit: &models.AuditEntry{Actor: "system", Action: "notified", ReservationID: r.ID, Detail: p.Change}}, "notified"
	}
	if permanent(err) {
		return models.JobResult{Job: j, State: models.JobFailed, Error: err.Error()}, "failed"
	}
	return d.retry(j, err), "retry"
}
