package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// secret is one row of the secrets table.
type secret struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	CreatedAt time.Time
}

func (secret) TableName() string { return "secrets" }

// Secret returns the value stored under name, storing generate's value first when there
// is none. Replicas racing to create it all get the one that was stored first. Errors:
// ErrInvalid for an empty name or value, ErrUnavailable.
func (s *Store) Secret(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	op := "secret " + name
	if name == "" || len(name) > 64 {
		return "", fmt.Errorf("%s: %w", op, ErrInvalid)
	}
	var row secret
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if err == nil {
		return row.Value, nil
	}
	if err = storeErr(op, err); !errors.Is(err, ErrNotFound) {
		return "", err
	}
	v, err := generate()
	if err != nil {
		return "", fmt.Errorf("%s: generate: %w", op, err)
	}
	if v == "" || len(v) > 255 {
		return "", fmt.Errorf("%s: generated value has %d bytes: %w", op, len(v), ErrInvalid)
	}
	row = secret{Name: name, Value: v, CreatedAt: s.stamp()}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return "", storeErr(op, err)
	}
	row = secret{}
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&row).Error; err != nil {
		return "", storeErr(op, err)
	}
	return row.Value, nil
}
