package models

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// What holds a room, kept. Availability asks for one room over a window (a day, mostly)
// again and again, and its answer is a pure function of the room's rows and of which of
// them are in an open conflict. Every write of a room's rows raises the room's change
// counter (RoomScope) and every write that may open or close a conflict raises
// ScopeConflicts, in the same transaction, so an answer read after those counters were
// read stays exact while they have not moved. On SQLite the counters need not even be
// read while the database shows no commit since they last were (feedLookups' generation,
// which sees this process's commits and other processes' alike); on MySQL they are one
// statement.

// Busy is what holds one room over a window.
type Busy struct {
	// Rows are the holding reservations (HoldingStatuses) overlapping the window, by
	// start then id, with the fields TimelineColumns name (the others are zero). They are
	// the caller's to change.
	Rows []Reservation
	// Conflicted holds the ids of the rows that are part of an open conflict. It is
	// shared: read only.
	Conflicted map[string]bool
}

const (
	// maxBusyRows bounds the rows kept over every room and window.
	maxBusyRows = 50000
	// maxBusyWindows bounds the windows kept per room.
	maxBusyWindows = 512
)

// busyCache keeps RoomBusy's answers. Its zero value is ready.
type busyCache struct {
	mu    sync.Mutex
	rooms map[string]*busyRoom
	rows  int // kept, over every room
	// members holds the reservations in an open conflict when the conflicts' counter was
	// membersAt, if there were at most maxOpenMembers (membersKnown).
	members      map[string]bool
	membersKnown bool
	membersAt    int64
}

// maxOpenMembers bounds the reservations in open conflicts that RoomBusy keeps; with
// more (a backlog of conflicts while the systems are being reconciled), each window
// looks up its own. A variable for tests.
var maxOpenMembers = 1000

// busyRoom is what is kept of one room, at one value of its counter.
type busyRoom struct {
	// stamp and conflicts are the room's counter and the conflicts' counter as last read;
	// windows hold the room's rows at stamp.
	stamp, conflicts int64
	// gen is the generation (feedLookups) at which both counters were last found
	// unchanged; 0 when none.
	gen     uint64
	windows map[busyKey]*busyWindow
}

type busyKey struct{ from, to int64 }

// busyWindow is one answer: its rows at the room's stamp, and which of them were in an
// open conflict at conflicts.
type busyWindow struct {
	rows       []Reservation
	conflicted map[string]bool
	conflicts  int64
}

func (w *busyWindow) answer() Busy {
	return Busy{Rows: slices.Clone(w.rows), Conflicted: w.conflicted}
}

// RoomBusy returns what holds room in [from, to), as committed when it is called by any
// process, kept between calls while the room's rows and the conflicts have not changed.
// An unknown room holds nothing. Errors: ErrUnavailable.
func (s *Store) RoomBusy(ctx context.Context, room string, from, to time.Time) (Busy, error) {
	from, to = from.UTC(), to.UTC()
	key := busyKey{from.UnixNano(), to.UnixNano()}
	gen := s.generation(ctx)
	w, stamp, conflicts, proven := s.busyKept.proven(room, key, gen)
	current := true
	if !proven {
		var err error
		if stamp, conflicts, err = s.busyStamps(ctx, room); err != nil {
			return Busy{}, storeErr("read change counters", err)
		}
		w, current = s.busyKept.check(room, key, gen, stamp, conflicts)
	}
	if w != nil && w.conflicts == conflicts {
		return w.answer(), nil
	}
	// Read after the counters: rows committed since then are newer than the counters
	// they are kept under, and the next check reads the risen counter and reads again.
	fresh := &busyWindow{conflicts: conflicts}
	if w != nil {
		fresh.rows = w.rows // the rows are current, only the conflicts moved
	} else {
		var err error
		if fresh.rows, err = s.busyRows(ctx, room, from, to); err != nil {
			return Busy{}, storeErr("list busy reservations", err)
		}
	}
	members, known, err := s.openConflictMembers(ctx, conflicts)
	if err != nil {
		return Busy{}, err
	}
	if known {
		for _, r := range fresh.rows {
			if members[r.ID] {
				if fresh.conflicted == nil {
					fresh.conflicted = map[string]bool{}
				}
				fresh.conflicted[r.ID] = true
			}
		}
	} else if len(fresh.rows) > 0 {
		ids := make([]string, len(fresh.rows))
		for i, r := range fresh.rows {
			ids[i] = r.ID
		}
		open, err := s.OpenConflictsOf(ctx, ids)
		if err != nil {
			return Busy{}, err
		}
		for id := range open {
			if fresh.conflicted == nil {
				fresh.conflicted = map[string]bool{}
			}
			fresh.conflicted[id] = true
		}
	}
	if current {
		s.busyKept.put(room, key, stamp, conflicts, fresh)
	}
	return fresh.answer(), nil
}

// openConflictMembers returns the reservations in an open conflict, with the conflicts'
// counter at conflicts (read before), reading them once per value of the counter; known
// is false when there are more than maxOpenMembers: then every window looks up its own.
// Usually few conflicts are open, and a window needs no conflict statement.
func (s *Store) openConflictMembers(ctx context.Context, conflicts int64) (members map[string]bool, known bool, err error) {
	c := &s.busyKept
	c.mu.Lock()
	if c.membersAt == conflicts && c.members != nil {
		members, known = c.members, c.membersKnown
	}
	c.mu.Unlock()
	if members != nil {
		return members, known, nil
	}
	st, err := s.prepared(ctx, openConflictMembersSQL)
	if err != nil {
		return nil, false, storeErr("list open conflict members", err)
	}
	s.traced(openConflictMembersSQL)
	rows, err := st.QueryContext(ctx, ConflictOpen, maxOpenMembers+1)
	if err != nil {
		return nil, false, storeErr("list open conflict members", err)
	}
	defer rows.Close()
	members = map[string]bool{}
	n := 0
	for ; rows.Next(); n++ {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, false, storeErr("list open conflict members", err)
		}
		members[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, false, storeErr("list open conflict members", err)
	}
	known = n <= maxOpenMembers
	if !known {
		members = map[string]bool{}
	}
	c.mu.Lock()
	if c.members == nil || c.membersAt <= conflicts {
		c.members, c.membersKnown, c.membersAt = members, known, conflicts
	}
	c.mu.Unlock()
	return members, known, nil
}

// openConflictMembersSQL reads through the conflicts' status index and the members' key.
const openConflictMembersSQL = "SELECT m.reservation_id FROM conflicts c JOIN conflict_members m ON m.conflict_id = c.id WHERE c.status = ? LIMIT ?"

// generation returns feedLookups' generation on SQLite, or 0 when there is none (MySQL,
// an in-memory database, an error): then nothing is proven current without reading.
func (s *Store) generation(ctx context.Context) uint64 {
	if s.lookups == nil {
		return 0
	}
	gen, err := s.lookups.generation(ctx)
	if err != nil {
		return 0
	}
	return gen
}

// busyStampsSQL reads a room's change counter and the conflicts' (0 for one never
// raised).
const busyStampsSQL = "SELECT COALESCE(MAX(CASE WHEN scope = ? THEN version END), 0), COALESCE(MAX(CASE WHEN scope = ? THEN version END), 0) " +
	"FROM feed_stamps WHERE scope IN (?, ?)"

func (s *Store) busyStamps(ctx context.Context, room string) (stamp, conflicts int64, err error) {
	st, err := s.prepared(ctx, busyStampsSQL)
	if err != nil {
		return 0, 0, err
	}
	s.traced(busyStampsSQL)
	sc := RoomScope(room)
	err = st.QueryRowContext(ctx, sc, ScopeConflicts, sc, ScopeConflicts).Scan(&stamp, &conflicts)
	return stamp, conflicts, err
}

// busyRows reads the holding rows of room overlapping [from, to), by start then id,
// keeping the fields TimelineColumns name.
func (s *Store) busyRows(ctx context.Context, room string, from, to time.Time) ([]Reservation, error) {
	var out []Reservation
	if fn := s.trace.Load(); fn != nil {
		(*fn)("SELECT reservations of one room (the feed's reads of short and long bookings)")
	}
	err := s.EachFeedReservationIn(ctx, []string{room}, from, to, time.Time{}, time.Time{}, func(r Reservation) error {
		if slices.Contains(HoldingStatuses, r.Status) {
			out = append(out, Reservation{ID: r.ID, RoomID: r.RoomID, Start: r.Start, End: r.End, Backend: r.Backend, Origin: r.Origin,
				Status: r.Status, Title: r.Title, OrganizerID: r.OrganizerID, Attendees: r.Attendees})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Reservation) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// proven returns the room's counters and the window kept at key (nil when none) if the
// counters were proven current at gen (not 0); ok is false otherwise.
func (c *busyCache) proven(room string, key busyKey, gen uint64) (w *busyWindow, stamp, conflicts int64, ok bool) {
	if gen == 0 {
		return nil, 0, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[room]
	if r == nil || r.gen != gen {
		return nil, 0, 0, false
	}
	return r.windows[key], r.stamp, r.conflicts, true
}

// check compares the counters just read (after gen was taken) with those the room's
// windows were kept at. It forgets windows of an older room counter and returns the one
// kept at key, if any; its rows are current, its conflicts when w.conflicts equals the
// counter read. current is false when another call has read newer counters already:
// then what this call reads is not kept.
func (c *busyCache) check(room string, key busyKey, gen uint64, stamp, conflicts int64) (w *busyWindow, current bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[room]
	if r == nil || r.stamp < stamp {
		if r != nil {
			c.forget(r)
		}
		if c.rooms == nil || len(c.rooms) >= maxBusyRooms {
			c.rooms, c.rows = map[string]*busyRoom{}, 0
		}
		r = &busyRoom{stamp: stamp, conflicts: conflicts, windows: map[busyKey]*busyWindow{}}
		c.rooms[room] = r
	}
	if r.conflicts < conflicts {
		r.conflicts = conflicts
	}
	if r.stamp != stamp || r.conflicts != conflicts {
		return nil, false
	}
	r.gen = gen
	return r.windows[key], true
}

// maxBusyRooms bounds the rooms kept (RoomBusy is asked for rooms of the catalog).
const maxBusyRooms = 4096

// put keeps w for room at key if the room's counters are still stamp and conflicts.
func (c *busyCache) put(room string, key busyKey, stamp, conflicts int64, w *busyWindow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[room]
	if r == nil || r.stamp != stamp || r.conflicts != conflicts || len(w.rows) > maxBusyRows {
		return
	}
	if old := r.windows[key]; old != nil {
		c.rows -= len(old.rows)
		delete(r.windows, key)
	}
	if len(r.windows) >= maxBusyWindows {
		c.forget(r)
	}
	if c.rows+len(w.rows) > maxBusyRows {
		for _, other := range c.rooms {
			c.forget(other)
		}
	}
	r.windows[key] = w
	c.rows += len(w.rows)
}

// forget drops the windows kept for r.
func (c *busyCache) forget(r *busyRoom) {
	for _, w := range r.windows {
		c.rows -= len(w.rows)
	}
	clear(r.windows)
}

// CurrentCatalogView is CatalogView proven current: the catalog as committed when it is
// called by any process. On SQLite that costs no statement while the database shows no
// commit since the last proof; otherwise it reads the catalog's change counter (and the
// catalog again when that moved). Errors: ErrUnavailable.
func (s *Store) CurrentCatalogView(ctx context.Context) (*CatalogView, error) {
	gen := s.generation(ctx)
	if v := s.views.provenAt(gen); v != nil {
		return v, nil
	}
	st, err := s.prepared(ctx, catalogVersionSQL)
	if err != nil {
		return nil, storeErr("read catalog", err)
	}
	s.traced(catalogVersionSQL)
	var version int64
	if err := st.QueryRowContext(ctx, ScopeCatalog).Scan(&version); err != nil {
		return nil, storeErr("read catalog", err)
	}
	v, err := s.CatalogView(ctx)
	if err == nil && v.Version < version {
		s.views.drop(v.Version)
		v, err = s.CatalogView(ctx)
	}
	if err != nil {
		return nil, err
	}
	if v.Version == version {
		s.views.prove(v, gen)
	}
	return v, nil
}
