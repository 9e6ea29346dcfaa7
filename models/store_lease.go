package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Lease is a named, expiring claim held by one holder (a replica), one row each.
type Lease struct {
	Name      string `gorm:"primaryKey"`
	Holder    string
	ExpiresAt time.Time
	UpdatedAt time.Time
}

// TableName maps Lease to its table.
func (Lease) TableName() string { return "leases" }

// AcquireLease takes lease name for holder until now+ttl, or renews it when holder
// already has it. It reports false when another holder has it and it has not expired.
// It uses only a conditional UPDATE and a plain INSERT on one row (no database lock
// functions), so it behaves the same on MySQL, MariaDB, TiDB and SQLite.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.stamp()
	until := now.Add(ttl)
	db := s.db.WithContext(ctx)
	res := db.Model(&Lease{}).Where("name = ? AND (holder = ? OR expires_at <= ?)", name, holder, now).
		Updates(map[string]any{"holder": holder, "expires_at": until, "updated_at": now})
	if res.Error != nil {
		return false, storeErr("acquire lease "+name, res.Error)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	err := db.Create(&Lease{Name: name, Holder: holder, ExpiresAt: until, UpdatedAt: now}).Error
	if err == nil {
		return true, nil
	}
	if isDuplicate(err) {
		return false, nil // someone else holds it (or took it just now)
	}
	return false, storeErr("acquire lease "+name, err)
}

// ReleaseLease gives up lease name if holder has it, so another holder may take it at
// once. Releasing a lease one does not hold does nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.db.WithContext(ctx).Model(&Lease{}).Where("name = ? AND holder = ?", name, holder).
		Updates(map[string]any{"expires_at": s.stamp().Add(-time.Second), "updated_at": s.stamp()}).Error
	return storeErr("release lease "+name, err)
}

// LeaseHolder returns who holds lease name now ("" when nobody does).
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, error) {
	var l Lease
	err := s.db.WithContext(ctx).Where("name = ? AND expires_at > ?", name, s.stamp()).Limit(1).Find(&l).Error
	return l.Holder, storeErr("get lease "+name, err)
}

// tx runs fn in a transaction and runs it once more when the database broke a deadlock
// by rolling it back (MySQL error 1213): the other transaction has finished by then.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	err := s.db.WithContext(ctx).Transaction(fn)
	if isDeadlock(err) {
		err = s.db.WithContext(ctx).Transaction(fn)
	}
	return err
}
