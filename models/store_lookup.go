package models

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// feedLookups keeps FeedLookup's answers on SQLite for as long as the database proves
// that nothing was committed since they were read. SQLite's PRAGMA data_version, asked
// on a connection that never writes, changes whenever any other connection commits:
// this process's writer or a connection of another process (a CLI command) on the same
// file. Each lookup first asks it; an unchanged answer means every cached row is still
// what the database holds. Lookups that arrive while it is being asked wait for the next
// asking, which starts after they arrived, and share it, so no answer predates its
// request. Cheaper still, where the WAL index can be mapped, a lookup first compares its
// header with the one read just before the last asking: unchanged, nothing was
// committed since, and that asking's answer stands without a statement. MySQL has no
// such counter and several replicas write it: there every lookup is the query.
type feedLookups struct {
	db   *sql.DB // the read pool; conn is one of its connections
	path string  // the database file

	// wmu guards the mapped WAL index, which lives as long as conn: conn keeps SQLite
	// from truncating it.
	wmu    sync.RWMutex
	wal    *walIndex
	hdr    walHeader // read just before the asking that gave hdrGen
	hdrGen uint64
	hdrOK  bool

	// mu guards what follows, except conn, which only the running asking (or close,
	// when none runs) touches.
	mu      sync.Mutex
	conn    *sql.Conn // asks data_version; nil before the first asking and after an error
	asking  bool      // an asking is running
	next    *versionAsk
	version int64  // the last data_version seen on conn
	gen     uint64 // rises whenever data_version (or conn) changed
	entries map[string]feedLookupEntry
	entGen  uint64 // the gen entries were read at
}

// maxFeedLookups bounds the answers kept (one per token and feed scope in use).
const maxFeedLookups = 8192

// versionAsk is one asking of data_version; done closes when gen or err is set.
type versionAsk struct {
	done chan struct{}
	gen  uint64
	err  error
}

// feedLookupEntry is one FeedLookup answer.
type feedLookupEntry struct {
	t              FeedToken
	stamp, catalog int64
}

// generation returns a number that changes whenever anything was committed since the
// last call that returned it, read from the WAL index or asked of data_version after
// the call began.
func (l *feedLookups) generation(ctx context.Context) (uint64, error) {
	if gen, ok := l.unchanged(); ok {
		return gen, nil
	}
	l.mu.Lock()
	a := l.next
	if a == nil {
		a = &versionAsk{done: make(chan struct{})}
		l.next = a
	}
	if !l.asking {
		l.asking, l.next = true, nil
		l.mu.Unlock()
		l.ask(a)
		return a.gen, a.err
	}
	l.mu.Unlock()
	select {
	case <-a.done:
		return a.gen, a.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// unchanged returns the generation of the last asking if the WAL index shows no commit
// since just before it.
func (l *feedLookups) unchanged() (uint64, bool) {
	l.wmu.RLock()
	defer l.wmu.RUnlock()
	if l.wal == nil || !l.hdrOK {
		return 0, false
	}
	h, ok := l.wal.header()
	return l.hdrGen, ok && h == l.hdr
}

// ask runs a, then hands the asking that gathered in the meantime to a goroutine of its
// own, so no request serves others' askings after its own.
func (l *feedLookups) ask(a *versionAsk) {
	l.wmu.RLock()
	var h walHeader
	hok := false
	if l.wal != nil {
		h, hok = l.wal.header()
	}
	l.wmu.RUnlock()
	v, fresh, err := l.dataVersion()
	l.mu.Lock()
	if err != nil {
		a.err = err
	} else {
		if fresh || v != l.version {
			l.version = v
			l.gen++
		}
		a.gen = l.gen
	}
	l.wmu.Lock()
	l.hdr, l.hdrGen, l.hdrOK = h, a.gen, hok && err == nil
	l.wmu.Unlock()
	close(a.done)
	n := l.next
	if n == nil {
		l.asking = false
	} else {
		l.next = nil
	}
	l.mu.Unlock()
	if n != nil {
		go l.ask(n)
	}
}

// dataVersion reads data_version on the dedicated connection, opening it first when
// there is none (fresh: its numbers cannot be compared with the last connection's).
// Only the running asking calls it.
func (l *feedLookups) dataVersion() (v int64, fresh bool, err error) {
	// Not the request's context: the asking is shared, and a cancellable context costs
	// the driver a goroutine per statement.
	ctx := context.Background()
	if l.conn == nil {
		if l.conn, err = l.db.Conn(ctx); err != nil {
			l.conn = nil
			return 0, false, err
		}
		fresh = true
	}
	if err = l.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		l.dropConn()
		return 0, false, err
	}
	if fresh {
		// conn has read the database, so it holds the WAL index open: map it now. Without
		// it every lookup asks.
		w, _ := openWALIndex(l.path)
		l.wmu.Lock()
		l.wal = w
		l.wmu.Unlock()
	}
	return v, fresh, nil
}

// dropConn unmaps the WAL index and closes conn.
func (l *feedLookups) dropConn() {
	l.wmu.Lock()
	if l.wal != nil {
		l.wal.close()
		l.wal, l.hdrOK = nil, false
	}
	l.wmu.Unlock()
	l.conn.Close()
	l.conn = nil
}

// get returns the answer kept under key if it was read at gen.
func (l *feedLookups) get(gen uint64, key string) (feedLookupEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.entGen {
		if gen > l.entGen {
			l.entries, l.entGen = nil, gen
		}
		return feedLookupEntry{}, false
	}
	e, ok := l.entries[key]
	return e, ok
}

// put keeps e, read after generation returned gen, under key.
func (l *feedLookups) put(gen uint64, key string, e feedLookupEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen > l.entGen {
		l.entries, l.entGen = nil, gen
	}
	if gen != l.entGen || len(l.entries) >= maxFeedLookups {
		return
	}
	if l.entries == nil {
		l.entries = map[string]feedLookupEntry{}
	}
	l.entries[key] = e
}

// close releases the dedicated connection.
func (l *feedLookups) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil && !l.asking {
		l.dropConn()
	}
}

// feedLookupKey names a FeedLookup call: the hash and the scopes (nil: every scope).
func feedLookupKey(hash string, scopes []string) string {
	if scopes == nil {
		return hash + "\x00*"
	}
	return hash + "\x00" + strings.Join(scopes, "\x00")
}
