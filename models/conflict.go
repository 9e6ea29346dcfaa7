package models

import (
	"database/sql/driver"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// ConflictKind says what is wrong.
type ConflictKind string

// Conflict kinds.
const (
	// KindOverlap: two live reservations of one room share time (across the systems or
	// inside one).
	KindOverlap ConflictKind = "overlap"
	// KindWrongSystem: a reservation sits in a system that does not own its date (an OA
	// booking starting at or after the cutover).
	KindWrongSystem ConflictKind = "wrong_system"
	// KindUnmapped: a backend booking names an organizer the catalog cannot map.
	KindUnmapped ConflictKind = "unmapped"
)

// ConflictKinds lists the kinds in display order.
var ConflictKinds = []ConflictKind{KindOverlap, KindWrongSystem, KindUnmapped}

// Valid reports whether k is a known kind.
func (k ConflictKind) Valid() bool {
	return k == KindOverlap || k == KindWrongSystem || k == KindUnmapped
}

// ConflictStatus is where a conflict stands.
type ConflictStatus string

// Conflict statuses.
const (
	ConflictOpen      ConflictStatus = "open"
	ConflictResolved  ConflictStatus = "resolved" // the cause went away (by a resolution or by itself)
	ConflictDismissed ConflictStatus = "dismissed"
)

// Valid reports whether s is a known status.
func (s ConflictStatus) Valid() bool {
	return s == ConflictOpen || s == ConflictResolved || s == ConflictDismissed
}

// Resolution actions an admin can take on a conflict (also the suggestion's action).
const (
	ActionKeep    = "keep"    // keep one side, cancel the others in their backends
	ActionMove    = "move"    // move one side to another room free in both systems
	ActionMigrate = "migrate" // create an OA booking in DingTalk, then cancel it in the OA
	ActionDismiss = "dismiss" // leave things as they are, with a note
)

// Outcomes of a resolution carried out through the outbox.
const (
	OutcomeRunning = "running" // its backend writes are queued or in flight
	OutcomeFailed  = "failed"  // a backend refused or the writes gave up; ErrorCode says why
	OutcomeDone    = "done"
)

// Rule codes: why the suggestion is what it is. Arguments are in Conflict.RuleArgs.
const (
	// RuleOwnerWins: the side in the system that owns the date wins (args: owner, cutover).
	RuleOwnerWins = "owner_wins"
	// RuleFirstBooked: inside one system (or when the owner rule does not decide), the
	// booking made first wins.
	RuleFirstBooked = "first_booked"
	// RuleOwnerIsDingTalk: an OA booking on or after the cutover belongs in DingTalk
	// (args: cutover).
	RuleOwnerIsDingTalk = "dingtalk_owns_after_cutover"
	// RuleUnmappedOrganizer: the backend names an organizer absent from the catalog
	// (args: backend, name).
	RuleUnmappedOrganizer = "unmapped_organizer"
)

// ConflictSide is the evidence of one reservation in a conflict, as it was when the
// conflict was last detected.
type ConflictSide struct {
	ReservationID string    `json:"reservation_id"`
	Backend       Backend   `json:"backend"`
	RemoteID      string    `json:"remote_id"`
	Origin        Origin    `json:"origin"`
	Status        Status    `json:"status"`
	RoomID        string    `json:"room_id"`
	OrganizerID   string    `json:"organizer_id"`
	Organizer     string    `json:"organizer"`
	Title         string    `json:"title"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	CreatedAt     time.Time `json:"created_at"`
}

// SideOf is the evidence of r.
func SideOf(r Reservation) ConflictSide {
	return ConflictSide{ReservationID: r.ID, Backend: r.Backend, RemoteID: r.Remote(), Origin: r.Origin, Status: r.Status,
		RoomID: r.RoomID, OrganizerID: r.OrganizerID, Organizer: r.OrganizerName, Title: r.Title,
		Start: r.Start.UTC(), End: r.End.UTC(), CreatedAt: r.CreatedAt.UTC()}
}

// Sides is a list of sides stored as JSON in a TEXT column.
type Sides []ConflictSide

// Scan implements sql.Scanner.
func (l *Sides) Scan(v any) error { return scanJSON(v, (*[]ConflictSide)(l)) }

// Value implements driver.Valuer.
func (l Sides) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]ConflictSide(l))
	return string(b), err
}

// scanJSON reads a JSON TEXT column into into; NULL or an empty value leaves it as it is.
func scanJSON(v any, into any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, into)
}

// Conflict is one problem between bookings that an admin should look at. Rule,
// RuleArgs, ErrorCode and Resolution are codes; people's text is rendered from them by
// the web layer. Note is what the admin typed when dismissing.
type Conflict struct {
	ID       string `gorm:"primaryKey"`
	Cause    string
	Kind     ConflictKind
	Status   ConflictStatus
	OfficeID string
	RoomID   string
	Start    time.Time `gorm:"column:starts_at"`
	End      time.Time `gorm:"column:ends_at"`
	Rule     string
	RuleArgs Args  `gorm:"type:text"`
	Sides    Sides `gorm:"type:text"`
	// SuggestAction and SuggestKeep are the suggested resolution: the action and the
	// reservation it keeps (or migrates).
	SuggestAction string
	SuggestKeep   string
	// Resolution is the action an admin took, ResolutionArg its target (the reservation
	// kept, moved or migrated), Outcome how carrying it out went.
	Resolution    string
	ResolutionArg string
	Outcome       string
	ResolvedBy    string
	Note          string
	// ErrorCode is why the resolution failed (a models.Error code or a kind name);
	// ErrorDetail the backend's answer, for admins.
	ErrorCode   string
	ErrorDetail string
	DetectedAt  time.Time
	UpdatedAt   time.Time
	ClosedAt    *time.Time
}

// Side returns the side of reservation id and whether it is one.
func (c Conflict) Side(id string) (ConflictSide, bool) {
	for _, s := range c.Sides {
		if s.ReservationID == id {
			return s, true
		}
	}
	return ConflictSide{}, false
}

// TableName maps Conflict to its table.
func (Conflict) TableName() string { return "conflicts" }

// ConflictMember links a conflict to a reservation it concerns.
type ConflictMember struct {
	ConflictID    string `gorm:"primaryKey"`
	ReservationID string `gorm:"primaryKey"`
}

// TableName maps ConflictMember to its table.
func (ConflictMember) TableName() string { return "conflict_members" }

// Detector rules ----------------------------------------------------------------------

// DetectInput is what the pure detection rules look at.
type DetectInput struct {
	Routing Routing
	// Offices maps room id to office id.
	Offices map[string]string
	// Changed are the reservations that changed (any status); only conflicts involving
	// at least one of them are reported.
	Changed map[string]bool
	// Holding are the reservations holding a room around the changed ones, from both
	// systems (changed ones included).
	Holding []Reservation
	// KnownOrganizer reports whether a catalog user id (or name) exists; nil trusts
	// every non-empty organizer id.
	KnownOrganizer func(id, name string) bool
}

// DetectConflicts applies the rules to in and returns the conflicts found, one per
// cause, with their evidence, rule and suggestion, and the causes they supersede (an OA
// booking after the cutover that an overlap's suggestion cancels is not also "in the
// wrong system"). It is pure: the store reconciles the result with what was found
// before.
func DetectConflicts(in DetectInput) (found []Conflict, superseded []string) {
	byRoom := map[string][]Reservation{}
	for _, r := range in.Holding {
		if r.Status.Holds() {
			byRoom[r.RoomID] = append(byRoom[r.RoomID], r)
		}
	}
	rooms := make([]string, 0, len(byRoom))
	for id := range byRoom {
		rooms = append(rooms, id)
	}
	sort.Strings(rooms)
	var out []Conflict
	cutover := in.Routing.Cutover()
	for _, room := range rooms {
		rs := byRoom[room]
		sort.Slice(rs, func(i, j int) bool {
			if !rs[i].Start.Equal(rs[j].Start) {
				return rs[i].Start.Before(rs[j].Start)
			}
			return rs[i].ID < rs[j].ID
		})
		for i := range rs {
			for j := i + 1; j < len(rs) && rs[j].Start.Before(rs[i].End); j++ {
				if !in.Changed[rs[i].ID] && !in.Changed[rs[j].ID] {
					continue
				}
				out = append(out, overlapConflict(in, rs[i], rs[j]))
			}
		}
	}
	// A booking the suggestion of an overlap already cancels is not also reported as being
	// in the wrong system: one conflict, one decision.
	losing := map[string]bool{}
	for _, c := range out {
		for _, sd := range c.Sides {
			if sd.ReservationID != c.SuggestKeep {
				losing[sd.ReservationID] = true
			}
		}
	}
	for _, r := range in.Holding {
		if !in.Changed[r.ID] || !r.Status.Holds() {
			continue
		}
		if r.Backend == BackendOA && !cutover.IsZero() && in.Routing.Owner(r.Start) != BackendOA && losing[r.ID] {
			superseded = append(superseded, "wrong_system:"+r.ID)
		} else if r.Backend == BackendOA && !cutover.IsZero() && in.Routing.Owner(r.Start) != BackendOA {
			out = append(out, Conflict{Cause: "wrong_system:" + r.ID, Kind: KindWrongSystem,
				OfficeID: in.Offices[r.RoomID], RoomID: r.RoomID, Start: r.Start, End: r.End,
				Rule: RuleOwnerIsDingTalk, RuleArgs: Args{"cutover": cutover.UTC().Format(time.RFC3339)},
				Sides: Sides{SideOf(r)}, SuggestAction: ActionMigrate, SuggestKeep: r.ID})
		}
		// Sync maps a native booking's organizer to a catalog user when it can; one it
		// could not map keeps only the backend's name and reference (the same rule as the
		// admin status's count of unmapped organizers).
		if r.Origin == OriginNative && (r.OrganizerID == "" || (in.KnownOrganizer != nil && !in.KnownOrganizer(r.OrganizerID, ""))) &&
			(r.OrganizerName != "" || r.OrganizerRef != "") {
			out = append(out, Conflict{Cause: "unmapped:" + r.ID, Kind: KindUnmapped,
				OfficeID: in.Offices[r.RoomID], RoomID: r.RoomID, Start: r.Start, End: r.End,
				Rule: RuleUnmappedOrganizer, RuleArgs: Args{"backend": string(r.Backend), "name": r.OrganizerName, "ref": r.OrganizerRef},
				Sides: Sides{SideOf(r)}, SuggestAction: ActionDismiss})
		}
	}
	return out, superseded
}

// OverlapCause is the cause key of an overlap between reservations a and b.
func OverlapCause(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "overlap:" + a + ":" + b
}

// overlapConflict builds the conflict of two overlapping reservations of one room with
// its suggestion: the side in the system owning its date wins; otherwise (same system,
// or both or neither in their owner) the one booked first.
func overlapConflict(in DetectInput, a, b Reservation) Conflict {
	c := Conflict{Cause: OverlapCause(a.ID, b.ID), Kind: KindOverlap, OfficeID: in.Offices[a.RoomID], RoomID: a.RoomID,
		Start: minTime(a.Start, b.Start), End: maxTime(a.End, b.End), Sides: Sides{SideOf(a), SideOf(b)}, SuggestAction: ActionKeep}
	aOwns, bOwns := in.Routing.Owner(a.Start) == a.Backend, in.Routing.Owner(b.Start) == b.Backend
	if a.Backend != b.Backend && aOwns != bOwns {
		keep := a
		if bOwns {
			keep = b
		}
		c.Rule, c.SuggestKeep = RuleOwnerWins, keep.ID
		c.RuleArgs = Args{"owner": string(keep.Backend), "cutover": in.Routing.Cutover().UTC().Format(time.RFC3339)}
		return c
	}
	first := a
	if b.CreatedAt.Before(a.CreatedAt) || (b.CreatedAt.Equal(a.CreatedAt) && b.ID < a.ID) {
		first = b
	}
	c.Rule, c.SuggestKeep, c.RuleArgs = RuleFirstBooked, first.ID, Args{}
	return c
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// OrganizerIndex answers DetectInput.KnownOrganizer from the catalog's users: an
// organizer is known by catalog id or by display name.
func OrganizerIndex(users []User) func(id, name string) bool {
	ids, names := map[string]bool{}, map[string]bool{}
	for _, u := range users {
		ids[u.ID] = true
		names[strings.TrimSpace(u.Name)] = true
	}
	return func(id, name string) bool {
		return (id != "" && ids[id]) || (name != "" && names[strings.TrimSpace(name)])
	}
}

// Resolution is an admin's answer to a conflict (the body of POST
// /api/v1/conflicts/{id}/resolve): keep one side (Keep) and cancel the others in their
// backends; move one side (Reservation) to another room (RoomID); migrate an OA booking
// dated on or after the cutover (Reservation) into DingTalk; or dismiss with a Note.
type Resolution struct {
	Action      string `json:"action"`
	Keep        string `json:"keep,omitempty"`
	Reservation string `json:"reservation,omitempty"`
	RoomID      string `json:"room_id,omitempty"`
	Note        string `json:"note,omitempty"`
}

// CutoverItem is one reservation the cutover tooling must move: an OA booking dated
// on or after the cutover.
type CutoverItem struct {
	Reservation Reservation `json:"-"`
	ID          string      `json:"reservation_id"`
	UID         string      `json:"uid"`
	RoomID      string      `json:"room_id"`
	Title       string      `json:"title"`
	Organizer   string      `json:"organizer"`
	Start       time.Time   `json:"start"`
	End         time.Time   `json:"end"`
	RemoteID    string      `json:"remote_id"`
	Status      Status      `json:"status"`
	// Migrating is set while the move is queued or in flight.
	Migrating bool `json:"migrating,omitempty"`
}

// CutoverSeries is one series crossing the cutover, with its live occurrences counted
// by system and side of the cutover: the OA's before it, DingTalk's (one recurring event)
// from it on, and any still in the OA from it on (those are also report items, to
// migrate).
type CutoverSeries struct {
	ID              string    `json:"series_id"`
	UID             string    `json:"uid"`
	RoomID          string    `json:"room_id"`
	Title           string    `json:"title"`
	Organizer       string    `json:"organizer"`
	RRule           string    `json:"rrule"`
	Start           time.Time `json:"start"`
	OABefore        int       `json:"oa_before"`
	OAAfter         int       `json:"oa_after"`
	DingTalkAfter   int       `json:"dingtalk_after"`
	DingTalkEventID string    `json:"dingtalk_event_id,omitempty"`
}

// CutoverReport is what still sits in the wrong system (the dry run of migrate-bookings
// and /admin/cutover).
type CutoverReport struct {
	Cutover time.Time `json:"cutover"`
	Freeze  time.Time `json:"freeze"`
	// Frozen: the OA is past its freeze; migration only creates in DingTalk from the last
	// snapshot.
	Frozen bool          `json:"frozen"`
	Items  []CutoverItem `json:"items"`
	// Series are the series booked through the bridge with live occurrences in the OA
	// before the cutover and live occurrences from it on, each once. Series booked in the
	// OA itself are not among them: the OA's occupancy answer does not say which bookings
	// belong together (its periodicityId is not in it), so they show as one-offs.
	Series []CutoverSeries `json:"series"`
	// InFlight counts migrations queued or running (bridge bookings still pending in
	// DingTalk that were migrated).
	InFlight int `json:"in_flight"`
}
