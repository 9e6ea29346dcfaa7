// Package migrations holds roombridge's schema as embedded goose SQL migrations, the
// only definition of the database structure. The same files run on MySQL/MariaDB and on
// SQLite. It imports nothing else of the project.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
)

//go:embed *.sql
var files embed.FS

// Dialect names accepted by Up and Status.
const (
	DialectMySQL  = "mysql"
	DialectSQLite = "sqlite"
)

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var d goose.Dialect
	switch dialect {
	case DialectMySQL:
		d = goose.DialectMySQL
	case DialectSQLite:
		d = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	p, err := goose.NewProvider(d, db, files)
	if err != nil {
		return nil, fmt.Errorf("migrations: load: %w", err)
	}
	return p, nil
}

// Up applies every pending migration and returns how many ran.
func Up(ctx context.Context, db *sql.DB, dialect string) (int, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrations: up: %w", err)
	}
	return len(res), nil
}

// State says where a database stands against the embedded migrations.
type State struct {
	Current int64 // newest applied version (0 for an empty database)
	Latest  int64 // newest embedded version
	Pending int   // how many embedded migrations are not applied yet
}

// Status reports the database's schema state without changing anything.
func Status(ctx context.Context, db *sql.DB, dialect string) (State, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return State{}, err
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return State{}, fmt.Errorf("migrations: status: %w", err)
	}
	var st State
	for _, s := range statuses {
		if s.Source.Version > st.Latest {
			st.Latest = s.Source.Version
		}
		if s.State == goose.StateApplied {
			if s.Source.Version > st.Current {
				st.Current = s.Source.Version
			}
		} else {
			st.Pending++
		}
	}
	return st, nil
}
