package models

import (
	"database/sql/driver"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// rowImage is the stored form of every column of a row, taken before a change so that
// only the columns the change touched are written (see saveChanged).
type rowImage struct {
	fields []*schema.Field
	values []any
}

// imageOf takes the row image of row, a pointer to a mapped struct.
func imageOf(tx *gorm.DB, row any) (rowImage, error) {
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(row); err != nil {
		return rowImage{}, err
	}
	img := rowImage{fields: stmt.Schema.Fields}
	img.values = img.read(tx, row)
	return img, nil
}

func (img rowImage) read(tx *gorm.DB, row any) []any {
	rv := reflect.ValueOf(row).Elem()
	out := make([]any, len(img.fields))
	for i, f := range img.fields {
		if f.DBName == "" {
			continue
		}
		v, _ := f.ValueOf(tx.Statement.Context, rv)
		out[i] = storedForm(v)
	}
	return out
}

// storedForm is v as the database gets it: pointers followed, values that store
// themselves (JSON lists) in that form, times as instants.
func storedForm(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	v = rv.Interface()
	if vr, ok := v.(driver.Valuer); ok {
		if dv, err := vr.Value(); err == nil {
			v = dv
		}
	}
	if t, ok := v.(time.Time); ok {
		return t.UnixNano()
	}
	return v
}

// saveChanged writes the columns of row that differ from img, taken before row was
// changed, and nothing when none does. Writing a column rewrites every index on it,
// even to the same value: a whole-row save of a reservation rewrote all ten of its
// indexes (ten more pages in SQLite's log at every commit) where a confirmation
// changes three.
func saveChanged(tx *gorm.DB, img rowImage, row any) error {
	now := img.read(tx, row)
	var cols []string
	for i, f := range img.fields {
		if f.DBName != "" && !f.PrimaryKey && !reflect.DeepEqual(img.values[i], now[i]) {
			cols = append(cols, f.DBName)
		}
	}
	if len(cols) == 0 {
		return nil
	}
	return tx.Model(row).Select(cols).Updates(row).Error
}
