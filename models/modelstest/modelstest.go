// Package modelstest creates throwaway, migrated stores for tests: one on SQLite (a file
// in the test's temp dir) and one on MySQL/MariaDB (a fresh database dropped at cleanup).
//
// The MySQL server comes from ROOMBRIDGE_TEST_MYSQL (default
// "root:@tcp(127.0.0.1:3306)/"). When it cannot be reached the MySQL variant is skipped,
// unless ROOMBRIDGE_TEST_MYSQL_REQUIRED=1 (set by `make test`), which turns that into a
// failure. It may import models and migrations only.
package modelstest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"roombridge/migrations"
	"roombridge/models"
)

// Each runs fn as a subtest once per database ("sqlite", "mysql"), each with a fresh
// migrated store that uses now as its clock (nil = time.Now).
func Each(t *testing.T, now func() time.Time, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			fn(t, New(t, dialect, now))
		})
	}
}

// EachShared is Each with a second store opened on the same database, as another
// process or another replica would: what one store writes, the other must see.
func EachShared(t *testing.T, now func() time.Time, fn func(t *testing.T, s, other *models.Store)) {
	t.Helper()
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			dsn := newDatabase(t, dialect)
			s := open(t, dsn, now)
			if _, err := migrations.Up(context.Background(), s.SQL(), dialect); err != nil {
				t.Fatalf("modelstest: migrate %s: %v", dialect, err)
			}
			fn(t, s, open(t, dsn, now))
		})
	}
}

// New returns a fresh migrated store of the given dialect, closed and removed at cleanup.
func New(t testing.TB, dialect string, now func() time.Time) *models.Store {
	t.Helper()
	s := open(t, newDatabase(t, dialect), now)
	if _, err := migrations.Up(context.Background(), s.SQL(), dialect); err != nil {
		t.Fatalf("modelstest: migrate %s: %v", dialect, err)
	}
	return s
}

// newDatabase returns the DSN of a fresh, empty database of the given dialect.
func newDatabase(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case models.DialectSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	case models.DialectMySQL:
		return "mysql:" + mysqlDatabase(t)
	}
	t.Fatalf("modelstest: unknown dialect %q", dialect)
	return ""
}

// open opens dsn, closed at cleanup.
func open(t testing.TB, dsn string, now func() time.Time) *models.Store {
	t.Helper()
	s, err := models.Open(dsn, now)
	if err != nil {
		t.Fatalf("modelstest: open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// MySQLServer returns the DSN of the test server (without a database name).
func MySQLServer() string {
	if v := os.Getenv("ROOMBRIDGE_TEST_MYSQL"); v != "" {
		return v
	}
	return "root:@tcp(127.0.0.1:3306)/"
}

// mysqlDatabase creates a uniquely named database and returns its DSN.
func mysqlDatabase(t testing.TB) string {
	t.Helper()
	server := MySQLServer()
	admin, err := sql.Open("mysql", server+"?timeout=3s")
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("ROOMBRIDGE_TEST_MYSQL_REQUIRED") == "1" {
			t.Fatalf("modelstest: MySQL at %s is required but unreachable: %v", server, err)
		}
		t.Skipf("modelstest: no MySQL at %s (%v); set ROOMBRIDGE_TEST_MYSQL or run make test", server, err)
	}
	name := fmt.Sprintf("rbtest_%d_%s", time.Now().UnixNano()%1e9, strings.ToLower(models.NewID()[:8]))
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("modelstest: create database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE " + name)
		admin.Close()
	})
	base := strings.TrimSuffix(server, "/")
	return base + "/" + name + "?parseTime=true"
}
