package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"roombridge/models/modelstest"
)

// On MySQL, serve refuses a database that is not migrated, naming the fix; migrate then
// brings it up to date and a second migrate does nothing.
func TestMySQLSchemaMustBeMigrated(t *testing.T) {
	dsn := emptyMySQL(t, "rbcmd")
	env := map[string]string{"ROOMBRIDGE_DB": dsn, "ROOMBRIDGE_ADDR": "127.0.0.1:0"}
	getenv := func(k string) string { return env[k] }

	err := run(context.Background(), []string{"serve"}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "roombridge migrate") {
		t.Fatalf("serve on an empty MySQL database = %v, want a refusal that says to run roombridge migrate", err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "applied ") || strings.HasPrefix(out.String(), "applied 0 ") {
		t.Fatalf("migrate = %v, %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "applied 0") {
		t.Fatalf("second migrate = %v, %q", err, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := run(ctx, []string{"serve"}, getenv, io.Discard, io.Discard); err != nil {
		t.Errorf("serve on the migrated database = %v, want it to run until stopped", err)
	}
}

// emptyMySQL creates an empty database on the test MySQL server, dropped at cleanup, and
// returns its ROOMBRIDGE_DB value. Without a server the test is skipped, or fails when
// ROOMBRIDGE_TEST_MYSQL_REQUIRED is 1.
func emptyMySQL(t *testing.T, prefix string) string {
	t.Helper()
	server := modelstest.MySQLServer()
	admin, err := sql.Open("mysql", server+"?timeout=3s")
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("ROOMBRIDGE_TEST_MYSQL_REQUIRED") == "1" {
			t.Fatalf("MySQL at %s is required: %v", server, err)
		}
		t.Skipf("no MySQL at %s: %v", server, err)
	}
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e9)
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
	return "mysql:" + strings.TrimSuffix(server, "/") + "/" + name + "?parseTime=true"
}
