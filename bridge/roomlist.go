package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"roombridge/models"
)

// RoomSource is a backend that can list its meeting rooms. Errors wrap the models
// kinds (ErrUnavailable when the backend cannot be reached, ErrForbidden when the
// account reading it has no access).
type RoomSource interface {
	Name() models.Backend
	Rooms(ctx context.Context) ([]models.BackendRoom, error)
}

// RoomLists keeps the room lists the backends hold, for the room-mapping page. Each list
// is read on demand and kept for MaxAge (DingTalk's room list is a metered call); a
// refresh reads again at once, but no backend is asked twice within MinGap, whatever
// the number of admins reloading the page.
type RoomLists struct {
	Sources []RoomSource
	// MaxAge is how long a list is shown before it is read again (default 5 minutes).
	MaxAge time.Duration
	// MinGap is the least time between two reads of one backend, refreshes and failed
	// reads included (default 30 seconds).
	MinGap time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Usage, when set, is the monthly call budget of the metered backend it names
	// (Usage.Backend, DingTalk): that backend's list is read only while the budget has
	// room for the read (Usage.Allow, the check that pauses sync; the overage that keeps
	// sync's daily pass is not for this page). A read held back leaves the last good list
	// with Err a models.CodeBudgetSpent error.
	Usage *Usage

	mu    sync.Mutex
	lists map[models.Backend]*roomListEntry
}

type roomListEntry struct {
	list  models.RoomList
	tried time.Time
}

// RoomLists returns each source's room list, read again when it is older than MaxAge
// or when refresh is set (at most once per MinGap). A backend that fails to answer
// comes back with Err set and its last good list, if any: the call itself never fails.
func (l *RoomLists) RoomLists(ctx context.Context, refresh bool) []models.RoomList {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	maxAge, minGap := l.MaxAge, l.MinGap
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	if minGap <= 0 {
		minGap = 30 * time.Second
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lists == nil {
		l.lists = map[models.Backend]*roomListEntry{}
	}
	out := make([]models.RoomList, 0, len(l.Sources))
	for _, src := range l.Sources {
		e := l.lists[src.Name()]
		if e == nil {
			e = &roomListEntry{list: models.RoomList{Backend: src.Name()}}
			l.lists[src.Name()] = e
		}
		stale := !e.list.Listed() || e.list.Err != nil || refresh || now.Sub(e.list.Read) >= maxAge
		if stale && (e.tried.IsZero() || now.Sub(e.tried) >= minGap) {
			if u := l.Usage; u != nil && u.Backend == src.Name() && !u.Allow(ctx, now, roomListCalls(len(e.list.Rooms))) {
				e.list.Err = models.E(models.ErrUnavailable, models.CodeBudgetSpent, "", models.ArgBackend, string(src.Name()))
				out = append(out, e.list)
				continue
			}
			e.tried = now
			rooms, err := src.Rooms(ctx)
			if err != nil {
				e.list.Err = fmt.Errorf("list %s rooms: %w", src.Name(), err)
			} else {
				e.list.Rooms, e.list.Read, e.list.Err = rooms, now, nil
			}
		}
		out = append(out, e.list)
	}
	return out
}

// roomListCalls is what reading a room list of n rooms (as last read) costs in metered
// calls: one per 100 rooms, at least one.
func roomListCalls(n int) int { return max(1, (n+99)/100) }

// Rooms lists the rooms the OA shows its sync login.
func (o *OA) Rooms(ctx context.Context) ([]models.BackendRoom, error) {
	rooms, err := o.Client.Rooms(ctx, o.SyncLogin)
	if err != nil {
		return nil, err
	}
	out := make([]models.BackendRoom, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, models.BackendRoom{ID: r.ID, Name: r.Name, Capacity: r.Seats})
	}
	return out, nil
}

// Rooms lists the rooms DingTalk shows the operator (one metered call per 100 rooms).
func (d *DingTalk) Rooms(ctx context.Context) ([]models.BackendRoom, error) {
	opID, err := d.operatorUnionID(ctx)
	if err != nil {
		return nil, err
	}
	rooms, err := d.Client.Rooms(ctx, opID)
	if err != nil {
		return nil, err
	}
	out := make([]models.BackendRoom, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, models.BackendRoom{ID: r.ID, Name: r.Name, Capacity: r.Capacity})
	}
	return out, nil
}
