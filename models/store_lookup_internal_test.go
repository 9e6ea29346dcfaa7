package models

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"roombridge/migrations"
)

// On systems where the WAL index is mapped, a lookup with nothing committed since the
// last asking is answered from the index, without a statement; a commit sends the next
// lookup back to the database.
func TestFeedLookupsReadTheWALIndex(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd":
	default:
		t.Skip("the WAL index is mapped on unix systems only")
	}
	ctx := context.Background()
	s, err := Open("sqlite:"+filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := migrations.Up(ctx, s.SQL(), DialectSQLite); err != nil {
		t.Fatal(err)
	}
	gen := func() uint64 {
		t.Helper()
		g, err := s.lookups.generation(ctx)
		if err != nil {
			t.Fatalf("generation() = %v", err)
		}
		return g
	}
	gen()
	g0 := gen() // the first asking maps the index; this one reads its header
	if _, ok := s.lookups.unchanged(); !ok {
		t.Fatalf("unchanged() = false after an asking with nothing committed, want the index read")
	}
	if g := gen(); g != g0 {
		t.Errorf("generation() = %d with nothing committed, want %d", g, g0)
	}
	if err := s.SyncCatalog(ctx, DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.lookups.unchanged(); ok {
		t.Errorf("unchanged() = true after a commit, want false")
	}
	if g := gen(); g == g0 {
		t.Errorf("generation() = %d after a commit, want a new one", g)
	}
}

// A commit by another process on the same SQLite file shows in the next lookup, with
// the WAL index mapped and with data_version alone (where it cannot be mapped): the
// test runs itself again as the writer (TestFeedLookupWriterProcess).
func TestFeedLookupSeesAnotherProcess(t *testing.T) {
	for _, mapped := range []bool{true, false} {
		name := "WAL index mapped"
		if !mapped {
			name = "data_version alone"
		}
		t.Run(name, func(t *testing.T) { seeAnotherProcess(t, mapped) })
	}
}

func seeAnotherProcess(t *testing.T, mapped bool) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open("sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !mapped {
		s.lookups.path = filepath.Join(t.TempDir(), "elsewhere.db") // no index to map there
	}
	if _, err := migrations.Up(ctx, s.SQL(), DialectSQLite); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncCatalog(ctx, DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	tok := FeedToken{ID: NewID(), UserID: "zhangsan", TokenHash: FeedTokenHash("t")}
	if _, err := s.CreateFeedToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	scopes := []string{RoomScope("duowei")}
	lookup := func() (int64, error) {
		for range 3 { // the second and third are answered from memory
			if _, _, _, err := s.FeedLookup(ctx, tok.TokenHash, scopes); err != nil {
				return 0, err
			}
		}
		_, stamp, _, err := s.FeedLookup(ctx, tok.TokenHash, scopes)
		return stamp, err
	}
	before, err := lookup()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"book", "revoke"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFeedLookupWriterProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ROOMBRIDGE_TEST_WRITER="+step+":"+path+":"+tok.ID)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("writer process (%s) = %v\n%s", step, err, out)
		}
		after, err := lookup()
		switch {
		case step == "book" && (err != nil || after != before+1):
			t.Errorf("FeedLookup() after another process booked = %d, %v; want %d", after, err, before+1)
		case step == "revoke" && !errors.Is(err, ErrNotFound):
			t.Errorf("FeedLookup() after another process revoked the token = %v, want ErrNotFound", err)
		}
	}
	s.lookups.wmu.RLock()
	defer s.lookups.wmu.RUnlock()
	if got := s.lookups.wal != nil; got != mapped && runtime.GOOS == "linux" {
		t.Errorf("WAL index mapped = %v, want %v", got, mapped)
	}
}

// TestFeedLookupWriterProcess is the writer of TestFeedLookupSeesAnotherProcess; it
// does nothing unless run by it.
func TestFeedLookupWriterProcess(t *testing.T) {
	spec := os.Getenv("ROOMBRIDGE_TEST_WRITER")
	if spec == "" {
		t.Skip("run by TestFeedLookupSeesAnotherProcess")
	}
	parts := strings.SplitN(spec, ":", 3)
	s, err := Open("sqlite:"+parts[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	switch parts[0] {
	case "book":
		id := NewID()
		start := time.Date(2023, 4, 11, 8, 0, 0, 0, time.UTC)
		_, _, err = s.Book(ctx, Reservation{ID: id, UID: BridgeUID(id), RoomID: "duowei", Start: start, End: start.Add(time.Hour),
			Title: "另一进程", OrganizerID: "zhangsan", Backend: BackendOA, Origin: OriginBridge, Status: StatusPending}, nil, nil)
	case "revoke":
		err = s.RevokeFeedToken(ctx, "zhangsan", parts[2])
	}
	if err != nil {
		t.Fatal(err)
	}
}
