package models

import (
	"context"
	"sort"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SyncCatalog writes the catalog's offices, rooms and users into the database, updating
// rows that exist and adding new ones. Rooms and users that left the catalog stay (old
// reservations still point at them); such rooms are no longer listed by Offices, and such
// users are marked Removed: ActiveUser and Users refuse them from then on.
func (s *Store) SyncCatalog(ctx context.Context, c Catalog) error {
	if err := c.Validate(); err != nil {
		return err
	}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, o := range c.Offices {
			row := Office{ID: o.ID, Name: o.Name, NameEn: o.NameEn, Position: o.Position}
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
				return err
			}
			for _, r := range o.Rooms {
				r.OfficeID = o.ID
				if err := tx.Clauses(clause.OnConflict{
					DoUpdates: clause.AssignmentColumns([]string{"office_id", "name", "name_en", "floor", "capacity", "oa_room_id", "dingtalk_room_id", "position"}),
				}).Create(&r).Error; err != nil {
					return err
				}
			}
		}
		ids := make([]string, 0, len(c.Users))
		for _, u := range c.Users {
			ids = append(ids, u.ID)
			u.Removed = false
			cols := []string{"name", "oa_login", "dingtalk_user_id", "removed"}
			if u.DingTalkUnionID != "" {
				cols = append(cols, "dingtalk_union_id")
			}
			if err := tx.Clauses(clause.OnConflict{DoUpdates: clause.AssignmentColumns(cols)}).Create(&u).Error; err != nil {
				return err
			}
		}
		q := tx.Model(&User{}).Where("removed = ?", false)
		if len(ids) > 0 {
			q = q.Where("id NOT IN ?", ids)
		}
		if err := q.Update("removed", true).Error; err != nil {
			return err
		}
		scopes := []string{ScopeCatalog}
		for _, r := range c.Rooms() {
			scopes = append(scopes, RoomScope(r.ID))
		}
		if err := s.ensureStamps(tx, scopes...); err != nil {
			return err
		}
		return s.touch(tx, ScopeCatalog)
	})
	// This process's bookings need not find out from the database that the catalog moved.
	s.views.drop(-1)
	return storeErr("sync catalog", err)
}

// Offices returns every office with its rooms, in catalog order.
func (s *Store) Offices(ctx context.Context) ([]Office, error) {
	var offices []Office
	if err := s.rdb.WithContext(ctx).Order("position, id").Find(&offices).Error; err != nil {
		return nil, storeErr("list offices", err)
	}
	rooms, err := s.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	byOffice := map[string][]Room{}
	for _, r := range rooms {
		byOffice[r.OfficeID] = append(byOffice[r.OfficeID], r)
	}
	for i := range offices {
		offices[i].Rooms = byOffice[offices[i].ID]
	}
	return offices, nil
}

// Rooms returns every room, ordered by office and catalog position.
func (s *Store) Rooms(ctx context.Context) ([]Room, error) {
	var rooms []Room
	err := s.rdb.WithContext(ctx).Table("rooms").Select("rooms.*").
		Joins("JOIN offices ON offices.id = rooms.office_id").
		Order("offices.position, rooms.position, rooms.id").Find(&rooms).Error
	return rooms, storeErr("list rooms", err)
}

// Room returns one room, or ErrNotFound.
func (s *Store) Room(ctx context.Context, id string) (Room, error) {
	var r Room
	err := s.rdb.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	return r, storeErr("get room "+id, err)
}

// Office returns one office (without rooms), or ErrNotFound.
func (s *Store) Office(ctx context.Context, id string) (Office, error) {
	var o Office
	err := s.rdb.WithContext(ctx).Where("id = ?", id).Take(&o).Error
	return o, storeErr("get office "+id, err)
}

// User returns one user, removed ones included, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	var u User
	err := s.rdb.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	return u, storeErr("get user "+id, err)
}

// ActiveUser returns a user who is in the catalog: ErrNotFound for an unknown id and for
// a user who left the catalog.
func (s *Store) ActiveUser(ctx context.Context, id string) (User, error) {
	var u User
	err := s.rdb.WithContext(ctx).Where("id = ? AND removed = ?", id, false).Take(&u).Error
	return u, storeErr("get user "+id, err)
}

// Users returns every user in the catalog (not the removed ones) ordered by id.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var us []User
	err := s.rdb.WithContext(ctx).Where("removed = ?", false).Order("id").Find(&us).Error
	return us, storeErr("list users", err)
}

// SetUnionID stores a DingTalk unionId resolved from the directory. ErrNotFound if the
// user does not exist. See SetUnionIDs.
func (s *Store) SetUnionID(ctx context.Context, userID, unionID string) error {
	return s.SetUnionIDs(ctx, map[string]string{userID: unionID})
}

// SetUnionIDs stores DingTalk unionIds (by user id) resolved from the directory, in one
// transaction: all or none. ErrNotFound if a user does not exist.
//
// A unionId changes nothing a booking is checked against, so it does not raise the
// catalog's change counter: that would make every booking in flight, in every process,
// fail its catalog check (ErrCatalogChanged) and start again, and the first start of a
// deployment stores several in a fraction of a second (the operator's, the first
// organizers', sync's directory walk), which ran bookings out of their 3 attempts.
// Instead this process's CatalogView is read again, and another process's view learns
// the unionId through UnionID when it is missed there.
func (s *Store) SetUnionIDs(ctx context.Context, unionIDs map[string]string) error {
	if len(unionIDs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(unionIDs))
	for id := range unionIDs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // row locks in one order
	changed := false
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		changed = false
		for _, id := range ids {
			var u User
			if err := s.forUpdate(tx).Select("id", "dingtalk_union_id").Where("id = ?", id).Take(&u).Error; err != nil {
				return err
			}
			if u.DingTalkUnionID == unionIDs[id] {
				continue
			}
			if err := tx.Model(&User{}).Where("id = ?", id).Update("dingtalk_union_id", unionIDs[id]).Error; err != nil {
				return err
			}
			changed = true
		}
		return nil
	})
	if changed && err == nil {
		s.views.forgetUnionIDs()
	}
	return storeErr("set union id", err)
}

// UnionID returns the DingTalk unionId stored for user id ("" when none), read from the
// database, or ErrNotFound. When this process's CatalogView lacks the stored unionId,
// the view is read again on its next use: unionIds are stored without raising the
// catalog's change counter (see SetUnionIDs), so this is how a view learns one another
// process stored.
func (s *Store) UnionID(ctx context.Context, id string) (string, error) {
	var u User
	if err := s.rdb.WithContext(ctx).Select("id", "dingtalk_union_id").Where("id = ?", id).Take(&u).Error; err != nil {
		return "", storeErr("get union id of "+id, err)
	}
	if v := s.views.get(); v != nil && u.DingTalkUnionID != "" {
		if cached, ok := v.users[id]; ok && cached.DingTalkUnionID != u.DingTalkUnionID {
			s.views.forgetUnionIDs()
		}
	}
	return u.DingTalkUnionID, nil
}
