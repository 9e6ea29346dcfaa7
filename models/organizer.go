package models

import (
	"context"
	"strings"
	"time"
)

// OrganizerRef is how a backend names a booking's organizer: the OA's applicant
// (member id, login name) or DingTalk's organizer (unionId, userid). Any field may be
// empty.
type OrganizerRef struct {
	OAMemberID      string
	OALogin         string
	DingTalkUnionID string
	DingTalkUserID  string
}

// Prefixes of the stored form of an OrganizerRef.
const (
	refOAMember      = "oa-member:"
	refOALogin       = "oa-login:"
	refDingTalkUnion = "dingtalk-union:"
	refDingTalkUser  = "dingtalk-user:"
)

// String is the stored form (the reservation's organizer_ref): the most specific
// identity as "<kind>:<id>", or "" when there is none.
func (r OrganizerRef) String() string {
	switch {
	case r.OAMemberID != "":
		return refOAMember + r.OAMemberID
	case r.OALogin != "":
		return refOALogin + r.OALogin
	case r.DingTalkUnionID != "":
		return refDingTalkUnion + r.DingTalkUnionID
	case r.DingTalkUserID != "":
		return refDingTalkUser + r.DingTalkUserID
	}
	return ""
}

// ParseOrganizerRef reads the stored form back; an unknown form gives the zero ref.
func ParseOrganizerRef(s string) OrganizerRef {
	for prefix, set := range map[string]func(*OrganizerRef, string){
		refOAMember:      func(r *OrganizerRef, v string) { r.OAMemberID = v },
		refOALogin:       func(r *OrganizerRef, v string) { r.OALogin = v },
		refDingTalkUnion: func(r *OrganizerRef, v string) { r.DingTalkUnionID = v },
		refDingTalkUser:  func(r *OrganizerRef, v string) { r.DingTalkUserID = v },
	} {
		if v, ok := strings.CutPrefix(s, prefix); ok && v != "" {
			var r OrganizerRef
			set(&r, v)
			return r
		}
	}
	return OrganizerRef{}
}

// Directory maps backend identities to catalog users. The catalog holds OA login
// names and DingTalk unionIds/userids; OA member ids are learned (LearnOAMember), since
// the OA names a booking's applicant by member id. It is not safe for concurrent use.
type Directory struct {
	byOALogin, byOAMember, byUnion, byUserID map[string]User
}

// NewDirectory indexes users.
func NewDirectory(users []User) *Directory {
	d := &Directory{byOALogin: map[string]User{}, byOAMember: map[string]User{}, byUnion: map[string]User{}, byUserID: map[string]User{}}
	for _, u := range users {
		if u.OALogin != "" {
			d.byOALogin[u.OALogin] = u
		}
		if u.DingTalkUnionID != "" {
			d.byUnion[u.DingTalkUnionID] = u
		}
		if u.DingTalkUserID != "" {
			d.byUserID[u.DingTalkUserID] = u
		}
	}
	return d
}

// LearnOAMember records that the OA member memberID is the catalog user with OA login
// login (a no-op when no user has that login).
func (d *Directory) LearnOAMember(memberID, login string) {
	if u, ok := d.byOALogin[login]; ok && memberID != "" {
		d.byOAMember[memberID] = u
	}
}

// Map returns the catalog user ref names, trying every identity it carries.
func (d *Directory) Map(ref OrganizerRef) (User, bool) {
	for _, try := range []struct {
		id string
		m  map[string]User
	}{{ref.OAMemberID, d.byOAMember}, {ref.OALogin, d.byOALogin}, {ref.DingTalkUnionID, d.byUnion}, {ref.DingTalkUserID, d.byUserID}} {
		if try.id == "" {
			continue
		}
		if u, ok := try.m[try.id]; ok {
			return u, true
		}
	}
	return User{}, false
}

// UnmappedOrganizers counts the native reservations that hold their room and have not
// ended by now whose organizer the catalog could not map (they carry a name or a backend
// identity but no catalog user).
func (s *Store) UnmappedOrganizers(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Reservation{}).
		Where("origin = ? AND status IN ? AND ends_at > ? AND organizer_id = '' AND (organizer_name <> '' OR organizer_ref <> '')",
			OriginNative, HoldingStatuses, now.UTC().Truncate(time.Second)).Count(&n).Error
	return int(n), storeErr("count unmapped organizers", err)
}
