package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Store dialects.
const (
	DialectMySQL  = "mysql"
	DialectSQLite = "sqlite"
)

// Store is roombridge's only persistence: one gorm handle on MySQL/MariaDB or SQLite.
// Every method owns its transaction and returns the kinds ErrNotFound, ErrConflict,
// ErrInvalid or ErrUnavailable (wrapped) for storage failures.
//
// On SQLite, writes go through one connection (SQLite has one writer) and reads through
// a pool of read-only connections beside it (WAL lets readers run while the writer
// commits), so availability and feeds never queue behind bookings. On MySQL both are
// the same pool.
type Store struct {
	db *gorm.DB
	// rdb serves reads outside transactions; on MySQL it is db.
	rdb     *gorm.DB
	dialect string
	now     func() time.Time
	// stmts caches prepared read statements by their SQL (see prepared).
	stmts sync.Map
	// lookups keeps FeedLookup's answers on SQLite (nil: every lookup is a query).
	lookups *feedLookups
	// notifyConflicts queues a JobNotify for the roombridge-made sides of a conflict
	// when it opens or reopens (see SetNotifyConflicts).
	notifyConflicts bool
	// books queues bookings for group commit (see bookGrouped).
	books bookQueue
	// views keeps the catalog as last read (see CatalogView).
	views catalogViews
	// busyKept keeps RoomBusy's answers.
	busyKept busyCache
	// trace, when set, is called with every statement the store runs (see Trace).
	trace atomic.Pointer[func(sql string)]
}

// sqliteReaders is the size of SQLite's read pool.
const sqliteReaders = 4

// sqlitePreparedStmts is how many prepared statements each SQLite read connection keeps.
const sqlitePreparedStmts = 256

// MySQLConns is the default size of the MySQL connection pool (see Store.SetConns):
// enough for a few dozen requests writing at once plus the workers, and three processes
// on one server stay below its default max_connections (151).
const MySQLConns = 48

// SetNotifyConflicts turns on (or off) queuing a notification (models.NoticeConflict)
// for each side booked through roombridge when ReconcileConflicts opens or reopens a
// conflict. Call it before the store is shared.
func (s *Store) SetNotifyConflicts(on bool) { s.notifyConflicts = on }

// Open connects to dsn, which is "sqlite:PATH" or "mysql:USER:PASS@tcp(HOST:PORT)/DB?...".
// It does not migrate; see package migrations. now is the clock for timestamps.
func Open(dsn string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	// Each handle gets a config of its own: gorm.Open keeps the handle's pool, dialect
	// and statement cache in the config it is given.
	newConfig := func() *gorm.Config {
		return &gorm.Config{
			Logger:                 logger.Default.LogMode(logger.Silent),
			NowFunc:                func() time.Time { return now().UTC().Truncate(time.Second) },
			SkipDefaultTransaction: true,
		}
	}
	cfg := newConfig()
	kind, rest, ok := strings.Cut(dsn, ":")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%w: database %q must start with sqlite: or mysql:", ErrInvalid, dsn)
	}
	var (
		db, rdb *gorm.DB
		lookups *feedLookups
		err     error
	)
	switch kind {
	case DialectSQLite:
		if dir := filepath.Dir(rest); dir != "." && rest != ":memory:" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database directory %s: %w", dir, err)
			}
		}
		sep := "?"
		if strings.Contains(rest, "?") {
			sep = "&"
		}
		pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		// The writer does not keep prepared statements: with one connection, gorm's
		// statement cache deadlocks when a statement outside a transaction is prepared
		// while a transaction holds the connection and waits for the same statement
		// (gorm issues 7350 and 7465).
		// Its transactions begin IMMEDIATE: one that reads before it writes would
		// otherwise fail at once with "database is locked" (SQLITE_BUSY or
		// SQLITE_BUSY_SNAPSHOT, which the busy timeout does not wait out) whenever another
		// process (an operator command next to the server) wrote in between.
		db, err = gorm.Open(sqlite.Open(rest+sep+pragmas+"&_txlock=immediate"), cfg)
		if err == nil {
			sqlDB, _ := db.DB()
			// SQLite has one writer; a single connection serialises transactions so the
			// room lock in Book is real and no writer waits on a busy database.
			sqlDB.SetMaxOpenConns(1)
			rdb = db
			if !strings.HasPrefix(rest, ":memory:") && !strings.Contains(rest, "mode=memory") {
				// Readers see the last commit (WAL snapshots) and never take the write lock.
				// Readers keep gorm's prepared statements (per connection, the most recent
				// few hundred), which saves gorm and database/sql their per-call work; the
				// driver (glebarez/go-sqlite) still compiles the SQL again on every query,
				// which is why hot paths avoid statements (see feedLookups). Readers never
				// open a transaction, so the cache cannot hold a connection that a
				// transaction waits for.
				rcfg := newConfig()
				rcfg.PrepareStmt, rcfg.PrepareStmtMaxSize, rcfg.PrepareStmtTTL = true, sqlitePreparedStmts, time.Hour
				rdb, err = gorm.Open(sqlite.Open(rest+sep+pragmas+"&_pragma=query_only(1)&_pragma=cache_size(-4000)"), rcfg)
				if err == nil {
					rDB, _ := rdb.DB()
					// One more connection for feedLookups, which keeps it.
					rDB.SetMaxOpenConns(sqliteReaders + 1)
					rDB.SetMaxIdleConns(sqliteReaders + 1)
					path, _, _ := strings.Cut(strings.TrimPrefix(rest, "file:"), "?")
					lookups = &feedLookups{db: rDB, path: path}
				} else {
					sqlDB.Close()
				}
			}
		}
	case DialectMySQL:
		mc, perr := mysqldriver.ParseDSN(rest)
		if perr != nil {
			return nil, fmt.Errorf("%w: mysql dsn: %v", ErrInvalid, perr)
		}
		mc.ParseTime = true
		mc.ClientFoundRows = true // RowsAffected counts matched rows, as on SQLite
		mc.Loc = time.UTC
		if mc.Params == nil {
			mc.Params = map[string]string{}
		}
		mc.Params["time_zone"] = "'+00:00'"
		mc.Params["charset"] = "utf8mb4"
		// Arguments are written into the statement text by the driver (safe with
		// utf8mb4): one round trip per statement instead of prepare, execute and close.
		mc.InterpolateParams = true
		db, err = gorm.Open(mysql.Open(mc.FormatDSN()), cfg)
		if err == nil {
			sqlDB, _ := db.DB()
			// As many idle connections as open ones: a burst of concurrent bookings
			// would otherwise close and reopen connections (and their session set-up)
			// all the time.
			sqlDB.SetMaxOpenConns(MySQLConns)
			sqlDB.SetMaxIdleConns(MySQLConns)
			sqlDB.SetConnMaxLifetime(30 * time.Minute)
			rdb = db
		}
	default:
		return nil, fmt.Errorf("%w: database %q must start with sqlite: or mysql:", ErrInvalid, dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", kind, errors.Join(ErrUnavailable, err))
	}
	s := &Store{db: db, rdb: rdb, dialect: kind, now: now, lookups: lookups}
	handles := []*gorm.DB{db}
	if rdb != db {
		handles = append(handles, rdb)
	}
	for _, h := range handles {
		if err := s.traceStatements(h); err != nil {
			s.Close()
			return nil, fmt.Errorf("open %s database: %w", kind, err)
		}
	}
	return s, nil
}

// Trace makes the store call fn with the text of every statement it runs through gorm
// (reads and writes; "BEGIN" and "COMMIT" or "ROLLBACK" mark the transactions that
// retry on deadlocks, which are those of bookings, changes, jobs and sync), from the
// goroutine that runs it; nil turns tracing off. It is for diagnostics and for tests
// that hold a path to a number of statements: each statement costs a round trip on
// MySQL and a parse on SQLite. The feed reads' prepared statements are not traced.
func (s *Store) Trace(fn func(sql string)) {
	if fn == nil {
		s.trace.Store(nil)
		return
	}
	s.trace.Store(&fn)
}

// traceStatements hooks the tracer into every kind of statement h runs.
func (s *Store) traceStatements(h *gorm.DB) error {
	hook := func(db *gorm.DB) {
		if fn := s.trace.Load(); fn != nil && db.Statement.SQL.Len() > 0 {
			(*fn)(db.Statement.SQL.String())
		}
	}
	cb := h.Callback()
	return errors.Join(
		cb.Create().After("gorm:create").Register("roombridge:trace", hook),
		cb.Query().After("gorm:query").Register("roombridge:trace", hook),
		cb.Update().After("gorm:update").Register("roombridge:trace", hook),
		cb.Delete().After("gorm:delete").Register("roombridge:trace", hook),
		cb.Row().After("gorm:row").Register("roombridge:trace", hook),
		cb.Raw().After("gorm:raw").Register("roombridge:trace", hook),
	)
}

// traced passes what to the tracer, if there is one.
func (s *Store) traced(what string) {
	if fn := s.trace.Load(); fn != nil {
		(*fn)(what)
	}
}

// Dialect returns DialectMySQL or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect }

// SQL returns the underlying database handle (for migrations).
func (s *Store) SQL() *sql.DB {
	d, _ := s.db.DB()
	return d
}

// prepared returns query prepared on the read pool, preparing it once: the feed path
// runs the same few statements on every request. (On MySQL that saves a round trip; the
// SQLite driver compiles the SQL again on each execution all the same.)
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	db, err := s.rdb.DB()
	if err != nil {
		return nil, err
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// SetConns sets how many connections the store keeps open (and idle) to a MySQL server:
// every process on one server takes up to n of its max_connections. On SQLite, whose
// writer is one connection, it does nothing. Errors: ErrInvalid for n < 1.
func (s *Store) SetConns(n int) error {
	if n < 1 {
		return fmt.Errorf("%w: %d database connections", ErrInvalid, n)
	}
	if s.dialect != DialectMySQL {
		return nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("set database connections: %w", err)
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	var errs []error
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if s.lookups != nil {
		s.lookups.close()
	}
	if s.rdb != s.db {
		if d, err := s.rdb.DB(); err == nil {
			errs = append(errs, d.Close())
		}
	}
	return errors.Join(append(errs, s.SQL().Close())...)
}

// Ping checks the database answers. Errors are ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.SQL().PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", errors.Join(ErrUnavailable, err))
	}
	return nil
}

func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// storeErr translates a gorm error into the package's kinds.
func storeErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case isDuplicate(err):
		return fmt.Errorf("%s: %w", what, errors.Join(ErrConflict, err))
	case UserError(err) != nil, errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid), errors.Is(err, ErrForbidden):
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, errors.Join(ErrUnavailable, err))
}

// txAttempts is how often a transaction that lost a deadlock is run again.
const txAttempts = 4

// transaction runs fn in a transaction, again (up to txAttempts in all) when MySQL
// chose it as a deadlock victim: InnoDB's gap locks make transactions on different rooms
// collide now and then, and the victim has changed nothing. fn must be safe to run again.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 0; attempt < txAttempts; attempt++ {
		s.traced("BEGIN")
		err = s.db.WithContext(ctx).Transaction(fn)
		if err != nil {
			s.traced("ROLLBACK")
		} else {
			s.traced("COMMIT")
		}
		if !isDeadlock(err) {
			return err
		}
		// Victims that retry at once tend to meet again: wait a little, at random.
		select {
		case <-time.After(time.Duration(1+mrand.IntN(5*(attempt+1))) * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
	return err
}

// isDeadlock reports whether MySQL rolled the transaction back to break a deadlock.
func isDeadlock(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

func isDuplicate(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) && me.Number == 1062 {
		return true
	}
	return errors.Is(err, gorm.ErrDuplicatedKey) || strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// rowError reports whether err is about the row a statement wrote (a key already
// taken, a value its column refuses) rather than the database or the transaction: the
// statement failed alone, and the transaction can go on without it.
func rowError(err error) bool {
	if isDuplicate(err) {
		return true
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1048, // column cannot be null
			1264, // out of range
			1292, // incorrect date or time value
			1366, // incorrect string value (a character the column's charset lacks)
			1406, // data too long
			3819: // check constraint
			return true
		}
		return false
	}
	return strings.Contains(err.Error(), "constraint failed")
}

// forUpdate adds a locking clause where the database has one (SQLite serialises writers
// anyway).
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.dialect == DialectMySQL {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// lockRooms takes the booking lock of each room (in id order, so two transactions never
// wait on each other crosswise). It returns ErrNotFound for an unknown room.
func (s *Store) lockRooms(tx *gorm.DB, ids ...string) error {
	seen := map[string]bool{}
	var uniq []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	sortStrings(uniq)
	for _, id := range uniq {
		res := tx.Model(&Room{}).Where("id = ?", id).UpdateColumn("booking_version", gorm.Expr("booking_version + 1"))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return E(ErrNotFound, "unknown_room", "room_id")
		}
	}
	return nil
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// overlap returns the first reservation holding room in [start, end), other than self.
// It runs after lockRooms: the room's lock already keeps other bookings of the room out,
// and a plain read (a snapshot taken after the lock) sees every committed one, without
// the gap locks a locking read would take across rooms.
func (s *Store) overlap(tx *gorm.DB, room string, start, end time.Time, self string) (*Reservation, error) {
	found, err := s.findHolding(tx, []slot{{room, start, end}}, self)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return &found[0], nil
}

// slot is a room over [start, end).
type slot struct {
	room       string
	start, end time.Time
}

// findHolding returns the reservations (other than self) holding any of slots' rooms
// in its time, ordered by start. Bookings up to ShortSpan long are looked for by a
// bounded range of start times and longer ones through their own index, in one UNION
// ALL whose halves each read an index range: the cost follows the bookings near the
// slots, not the rooms' history (one OR over "starts before the end" reads every
// earlier booking of each room). On MySQL each half names its index: weighing every
// index for a dozen OR-ed ranges costs the optimizer more than the reads.
func (s *Store) findHolding(tx *gorm.DB, slots []slot, self string) ([]Reservation, error) {
	var short, long strings.Builder
	var shortArgs, longArgs []any
	for i, sl := range slots {
		if i > 0 {
			short.WriteString(" OR ")
			long.WriteString(" OR ")
		}
		short.WriteString("(room_id = ? AND starts_at >= ? AND starts_at < ? AND ends_at > ?)")
		shortArgs = append(shortArgs, sl.room, sl.start.Add(-ShortSpan).UTC(), sl.end.UTC(), sl.start.UTC())
		long.WriteString("(room_id = ? AND starts_at < ? AND ends_at > ?)")
		longArgs = append(longArgs, sl.room, sl.end.UTC(), sl.start.UTC())
	}
	notSelf := ""
	if self != "" {
		notSelf = " AND id <> ?"
	}
	half := func(index, cond string, long bool, conds []any) (string, []any) {
		args := append([]any{long, HoldingStatuses}, conds...)
		if self != "" {
			args = append(args, self)
		}
		return "SELECT * FROM reservations" + s.byIndex(index) + " WHERE long_span = ? AND status IN ? AND (" + cond + ")" + notSelf, args
	}
	q1, a1 := half("reservations_room_span", short.String(), false, shortArgs)
	q2, a2 := half("reservations_long", long.String(), true, longArgs)
	var found []Reservation
	if err := tx.Raw(q1+" UNION ALL "+q2, append(a1, a2...)...).Scan(&found).Error; err != nil {
		return nil, err
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Start.Before(found[j].Start) })
	return found, nil
}
