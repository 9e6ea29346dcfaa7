package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// ErrCatalogChanged is what BookAt returns when the catalog changed (SyncCatalog, in any
// process sharing the database) after the CatalogView its caller checked the booking
// against: nothing was written, and the next CatalogView is the new catalog. It is also
// ErrUnavailable, for a caller that does not try again.
var ErrCatalogChanged = fmt.Errorf("catalog changed meanwhile: %w", ErrUnavailable)

// CatalogView is the catalog's rooms and users as they were at one value of the catalog's
// change counter (Version). Every write of the catalog raises that counter in the same
// transaction, so a view is exact for as long as the counter has not moved, and BookAt
// proves that it has not inside the booking's own transaction. A view is shared and read
// only.
type CatalogView struct {
	// Version is the catalog change counter the view was read at.
	Version int64
	rooms   map[string]Room
	users   map[string]User
}

// Room returns one room, or ErrNotFound. Its BookingVersion is not kept current.
func (v *CatalogView) Room(id string) (Room, error) {
	if r, ok := v.rooms[id]; ok {
		return r, nil
	}
	return Room{}, fmt.Errorf("get room %s: %w", id, ErrNotFound)
}

// User returns one user, removed ones included, or ErrNotFound. Its DingTalkUnionID may
// lag behind SetUnionIDs made in another process (see Store.UnionID).
func (v *CatalogView) User(id string) (User, error) {
	if u, ok := v.users[id]; ok {
		return u, nil
	}
	return User{}, fmt.Errorf("get user %s: %w", id, ErrNotFound)
}

// catalogViews keeps the Store's current CatalogView.
type catalogViews struct {
	mu sync.Mutex
	v  *CatalogView
	// gen is the generation (feedLookups) at which v was last proven current; 0 when
	// none.
	gen uint64
}

// provenAt returns the view if it was proven current at gen (not 0).
func (c *catalogViews) provenAt(gen uint64) *CatalogView {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == 0 || c.gen != gen {
		return nil
	}
	return c.v
}

// prove records that v was found current after gen was taken.
func (c *catalogViews) prove(v *CatalogView, gen uint64) {
	c.mu.Lock()
	if c.v == v {
		c.gen = gen
	}
	c.mu.Unlock()
}

func (c *catalogViews) get() *CatalogView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v
}

// drop forgets the view read at version (every view when version is negative).
func (c *catalogViews) drop(version int64) {
	c.mu.Lock()
	if c.v != nil && (version < 0 || c.v.Version == version) {
		c.v, c.gen = nil, 0
	}
	c.mu.Unlock()
}

func (c *catalogViews) put(v *CatalogView) {
	c.mu.Lock()
	if c.v == nil || c.v.Version < v.Version {
		c.v, c.gen = v, 0
	}
	c.mu.Unlock()
}

// forgetUnionIDs forgets the view because a unionId changed: the next CatalogView reads
// the catalog again, at the same Version (unionIds do not raise the change counter, so
// bookings checked against the old view still pass).
func (c *catalogViews) forgetUnionIDs() { c.drop(-1) }

// catalogViewAttempts bounds how often CatalogView reads the catalog again because it
// changed while it was being read.
const catalogViewAttempts = 5

// CatalogView returns the catalog as this process last read it, reading it when it has
// not yet or when a booking found it outdated. The view may be outdated by a catalog
// change made since in another process: BookAt tells. Errors: ErrUnavailable.
func (s *Store) CatalogView(ctx context.Context) (*CatalogView, error) {
	if v := s.views.get(); v != nil {
		return v, nil
	}
	for attempt := 0; attempt < catalogViewAttempts; attempt++ {
		v, err := s.readCatalogView(ctx)
		if errors.Is(err, errCatalogMoving) {
			continue
		}
		if err != nil {
			return nil, storeErr("read catalog", err)
		}
		s.views.put(v)
		return v, nil
	}
	return nil, storeErr("read catalog", ErrCatalogChanged)
}

var errCatalogMoving = errors.New("catalog changed while it was read")

// readCatalogView reads the counter, the rooms and users, and the counter again: the
// counter only rises, and rises with every catalog write, so when both reads agree no
// write came between them.
func (s *Store) readCatalogView(ctx context.Context) (*CatalogView, error) {
	before, err := s.catalogVersion(ctx, s.rdb.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	var rooms []Room
	if err := s.rdb.WithContext(ctx).Find(&rooms).Error; err != nil {
		return nil, err
	}
	var users []User
	if err := s.rdb.WithContext(ctx).Find(&users).Error; err != nil {
		return nil, err
	}
	after, err := s.catalogVersion(ctx, s.rdb.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if after != before {
		return nil, errCatalogMoving
	}
	v := &CatalogView{Version: before, rooms: make(map[string]Room, len(rooms)), users: make(map[string]User, len(users))}
	for _, r := range rooms {
		v.rooms[r.ID] = r
	}
	for _, u := range users {
		v.users[u.ID] = u
	}
	return v, nil
}

// catalogVersionSQL reads the catalog's change counter (0 before the first SyncCatalog).
const catalogVersionSQL = "SELECT COALESCE(MAX(version), 0) FROM feed_stamps WHERE scope = ?"

func (s *Store) catalogVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	var v int64
	err := db.Raw(catalogVersionSQL, ScopeCatalog).Scan(&v).Error
	return v, err
}

// lockBookedRooms takes the booking lock of rooms (distinct ids, in id order) in one
// statement, which also checks, when view is not nil, that the catalog is still the one
// view was read from. Errors: ErrNotFound ("unknown_room") for an unknown room,
// ErrCatalogChanged.
func (s *Store) lockBookedRooms(tx *gorm.DB, view *CatalogView, rooms []string) error {
	q := "UPDATE rooms" + s.byPrimaryKey() + " SET booking_version = booking_version + 1 WHERE id IN ?"
	args := []any{rooms}
	if view != nil {
		q += " AND (" + catalogVersionSQL + ") = ?"
		args = append(args, ScopeCatalog, view.Version)
	}
	res := tx.Exec(q, args...)
	if res.Error != nil {
		return res.Error
	}
	if int(res.RowsAffected) == len(rooms) {
		return nil
	}
	if view != nil {
		now, err := s.catalogVersion(tx.Statement.Context, tx)
		if err != nil {
			return err
		}
		if now != view.Version {
			s.views.drop(view.Version)
			return ErrCatalogChanged
		}
	}
	return E(ErrNotFound, "unknown_room", "room_id")
}

// byPrimaryKey is the index hint that makes MySQL walk a table's primary key for an
// UPDATE whose WHERE lists keys. On a small table (a few dozen rooms or change counters)
// its optimizer otherwise prefers reading the whole table once a list has more than a
// handful of keys, and an UPDATE keeps a lock on every row it read: two writers of
// different rooms would then wait for each other all the same.
func (s *Store) byPrimaryKey() string { return s.byIndex("PRIMARY") }

// byIndex is the MySQL hint that makes a statement read through index (nothing on
// SQLite).
func (s *Store) byIndex(index string) string {
	if s.dialect == DialectMySQL {
		return " FORCE INDEX (" + index + ")"
	}
	return ""
}
