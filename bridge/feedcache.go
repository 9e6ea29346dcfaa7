package bridge

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roombridge/models"
)

// The feed cache. A feed is a pure function of the rows of its scope, the catalog, what
// the subscriber may see, and where the clock puts the window. The store keeps a change
// counter per room and one for the catalog (models.Store.FeedStamps), raised in the
// transaction of every write, so the sum of a scope's counters names the state of its
// rows; the clock's part is the moment the next row enters or leaves the window or a
// cancelled row expires, computed when the feed is built. A cached feed is served while
// its stamp is current and that moment has not come; anything else rebuilds it. A build
// streams the rows from the store and writes each event straight into the body: no
// row is kept once written, so a build holds little more than the body itself.

const (
	// defaultFeedCacheBytes bounds the assembled feeds (and their gzip) kept.
	defaultFeedCacheBytes = 128 << 20
	// feedGzipInline: feeds up to this size are compressed while they are built; larger
	// ones in the background once served from the cache (a feed asked for once is not
	// worth it), served uncompressed until that is done.
	feedGzipInline = 2 << 20
	// feedCatalogRetries is how often Render re-reads a catalog that changed under it
	// before it builds without caching.
	feedCatalogRetries = 3
)

// feedCache is the cache of one Feeds. Its zero value is ready.
type feedCache struct {
	mu      sync.Mutex
	catalog *feedCatalog
	feeds   map[feedKey]*feedEntry
	bytes   int
	builds  map[feedKey]*feedBuild
}

// feedKey names one cached feed: scope, room or office id, and the viewer kind ("*" for
// a subscriber who sees every booking in detail, else "u:" and the user id).
type feedKey struct {
	scope      models.FeedScope
	id, viewer string
}

// feedEntry is one assembled feed and what it was built from.
type feedEntry struct {
	stamp int64
	// validUntil is the first moment the clock alone may change the feed.
	validUntil   time.Time
	body         []byte
	gz           atomic.Pointer[[]byte]
	gzStarted    atomic.Bool
	etag         string
	lastModified time.Time
	filename     string
}

// feedBuild is a build in progress; concurrent requests for the same feed wait for it.
type feedBuild struct {
	done  chan struct{}
	entry *feedEntry
}

// feedCatalog is a snapshot of the catalog as feeds need it, at a catalog stamp.
type feedCatalog struct {
	version    int64
	officeByID map[string]models.Office
	roomByID   map[string]models.Room
	users      map[string]string
	// plans keeps the plans made from this snapshot alone, by feedKey (no viewer).
	plans sync.Map
}

// feedPlan is what one request's feed is made of.
type feedPlan struct {
	name, description, filename string
	// rooms filters the rows (nil: every room); scopes are the stamps to read (nil: all).
	rooms  []string
	scopes []string
	empty  bool // an office without rooms
}

// gzipped returns the gzip of the body, or nil while it is being made.
func (e *feedEntry) gzipped() []byte {
	if p := e.gz.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *feedEntry) compress() {
	var buf bytes.Buffer
	buf.Grow(len(e.body) / 6)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(e.body)
	_ = zw.Close()
	gz := buf.Bytes()
	e.gz.Store(&gz)
}

func (e *feedEntry) size() int { return len(e.body) + len(e.body)/5 }

// Render returns the feed that token opens for scope (models.FeedAll, FeedMe, FeedRooms
// or FeedOffices) and id (the room or office id; empty otherwise), from the cache when
// nothing it shows has changed. Errors: ErrNotFound for an unknown or revoked token, an
// unknown scope, room or office, ErrForbidden for a token whose owner left the catalog,
// ErrInvalid for a bad configuration, ErrUnavailable. The error never contains the token.
func (f *Feeds) Render(ctx context.Context, token string, scope models.FeedScope, id string) (models.Feed, error) {
	hash, err := feedTokenHash(token)
	if err != nil {
		return models.Feed{}, err
	}
	now := f.now().UTC().Truncate(time.Second)
	cat, err := f.feedCatalog(ctx, false)
	if err != nil {
		return models.Feed{}, err
	}
	var (
		plan  feedPlan
		tok   models.FeedToken
		stamp int64
		cache = true
	)
	for attempt := 0; ; attempt++ {
		// An unknown scope, room or office is ErrNotFound like an unknown token.
		if plan, err = f.feedPlan(ctx, cat, scope, id); err != nil {
			return models.Feed{}, err
		}
		var catVersion int64
		tok, stamp, catVersion, err = f.Store.FeedLookup(ctx, hash, plan.scopes)
		if err != nil {
			return models.Feed{}, fmt.Errorf("find feed token: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(tok.TokenHash), []byte(hash)) != 1 || !tok.Active() {
			return models.Feed{}, fmt.Errorf("find feed token: %w", models.ErrNotFound)
		}
		if catVersion == cat.version {
			break
		}
		if attempt == feedCatalogRetries {
			cache = false // the catalog keeps changing: serve a build, keep none
			break
		}
		if cat, err = f.feedCatalog(ctx, true); err != nil {
			return models.Feed{}, err
		}
	}
	user := tok.UserID
	// A token whose owner left the catalog opens nothing. Users leave only through the
	// catalog, whose stamp the lookup above checked, so the snapshot is current.
	if _, ok := cat.users[user]; !ok {
		return models.Feed{}, models.E(models.ErrForbidden, "feed_owner_removed", "").Wrap(fmt.Errorf("feed token owner %s: %w", user, models.ErrNotFound))
	}
	viewer := "*"
	if scope == models.FeedMe || !(f.ShowTitles || f.Access.IsAdmin(user)) {
		viewer = "u:" + user
	}
	key := feedKey{scope, id, viewer}

	var e *feedEntry
	if cache {
		e, err = f.cachedFeed(ctx, key, stamp, now, func() (*feedEntry, error) { return f.buildFeed(ctx, cat, plan, user, scope, now) })
	} else {
		e, err = f.buildFeed(ctx, cat, plan, user, scope, now)
	}
	if err != nil {
		return models.Feed{}, err
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= feedTouchEvery {
		if err := f.Store.TouchFeedToken(ctx, tok.ID, now); err != nil {
			return models.Feed{}, fmt.Errorf("render feed %s: %w", e.filename, err)
		}
	}
	return models.Feed{Body: e.body, Gzip: e.gzipped(), ETag: e.etag, LastModified: e.lastModified, Filename: e.filename}, nil
}

// cachedFeed returns the cached feed for key if it is current at stamp and now, else
// builds it once (concurrent requests for the same feed wait for that build) and keeps
// it.
func (f *Feeds) cachedFeed(ctx context.Context, key feedKey, stamp int64, now time.Time, build func() (*feedEntry, error)) (*feedEntry, error) {
	c := &f.cache
	for {
		c.mu.Lock()
		if e := c.feeds[key]; e != nil && e.stamp == stamp && now.Before(e.validUntil) {
			c.mu.Unlock()
			if e.gzipped() == nil && e.gzStarted.CompareAndSwap(false, true) {
				go e.compress()
			}
			return e, nil
		}
		b := c.builds[key]
		if b == nil {
			break // this request builds (c.mu still held)
		}
		c.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if b.entry != nil && b.entry.stamp == stamp && now.Before(b.entry.validUntil) {
			return b.entry, nil
		}
		// That build failed or saw another state: look again, maybe build.
	}
	b := &feedBuild{done: make(chan struct{})}
	if c.builds == nil {
		c.builds = map[feedKey]*feedBuild{}
	}
	c.builds[key] = b
	c.mu.Unlock()

	e, err := build()
	if e != nil {
		e.stamp = stamp
	}
	c.mu.Lock()
	delete(c.builds, key)
	if err == nil {
		b.entry = e
		c.store(key, e)
	}
	c.mu.Unlock()
	close(b.done)
	return e, err
}

// store keeps e under key, dropping other feeds when the cache is over its budget. It
// runs with c.mu held.
func (c *feedCache) store(key feedKey, e *feedEntry) {
	if c.feeds == nil {
		c.feeds = map[feedKey]*feedEntry{}
	}
	if old := c.feeds[key]; old != nil {
		c.bytes -= old.size()
	}
	if e.size() > defaultFeedCacheBytes {
		delete(c.feeds, key)
		return
	}
	for k, old := range c.feeds {
		if c.bytes+e.size() <= defaultFeedCacheBytes {
			break
		}
		if k != key {
			c.bytes -= old.size()
			delete(c.feeds, k)
		}
	}
	c.feeds[key] = e
	c.bytes += e.size()
}

// feedCatalog returns the catalog snapshot, reading it again when reload is set or there
// is none. Its stamp is read before its rows, so a snapshot may be newer than its stamp
// says, never older: a mismatch costs a reload, never a stale feed.
func (f *Feeds) feedCatalog(ctx context.Context, reload bool) (*feedCatalog, error) {
	f.cache.mu.Lock()
	cat := f.cache.catalog
	f.cache.mu.Unlock()
	if cat != nil && !reload {
		return cat, nil
	}
	stamps, err := f.Store.FeedStamps(ctx, []string{models.ScopeCatalog})
	if err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	offices, err := f.Store.Offices(ctx)
	if err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	us, err := f.Store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	cat = &feedCatalog{version: stamps[models.ScopeCatalog], officeByID: map[string]models.Office{}, roomByID: map[string]models.Room{}, users: map[string]string{}}
	for _, o := range offices {
		cat.officeByID[o.ID] = o
		for _, r := range o.Rooms {
			cat.roomByID[r.ID] = r
		}
	}
	for _, u := range us {
		cat.users[u.ID] = u.Name
	}
	f.cache.mu.Lock()
	if f.cache.catalog == nil || f.cache.catalog.version <= cat.version {
		f.cache.catalog = cat
	}
	f.cache.mu.Unlock()
	return cat, nil
}

// feedPlan names the feed and the rows and stamps it is made of, keeping the plans that
// come from the catalog snapshot alone in it.
func (f *Feeds) feedPlan(ctx context.Context, cat *feedCatalog, scope models.FeedScope, id string) (feedPlan, error) {
	key := feedKey{scope: scope, id: id}
	if p, ok := cat.plans.Load(key); ok {
		return p.(feedPlan), nil
	}
	p, err := f.newFeedPlan(ctx, cat, scope, id)
	if err == nil && (scope != models.FeedRooms || cat.roomByID[id].ID != "") {
		cat.plans.Store(key, p)
	}
	return p, err
}

// newFeedPlan makes the plan of a feed.
func (f *Feeds) newFeedPlan(ctx context.Context, cat *feedCatalog, scope models.FeedScope, id string) (feedPlan, error) {
	switch {
	case scope == models.FeedAll && id == "":
		return feedPlan{name: "roombridge · 全部会议室", description: "所有职场会议室的预订（OA 与钉钉）", filename: "all.ics"}, nil
	case scope == models.FeedMe && id == "":
		return feedPlan{name: "roombridge · 我的预订", description: "我预订或参加的会议室预订（OA 与钉钉）", filename: "me.ics"}, nil
	case scope == models.FeedRooms && id != "":
		room, ok := cat.roomByID[id]
		if !ok {
			// A room that left the catalog keeps its feed (its old bookings).
			var err error
			if room, err = f.Store.Room(ctx, id); err != nil {
				return feedPlan{}, fmt.Errorf("render room feed: %w", err)
			}
		}
		o := cat.officeByID[room.OfficeID]
		return feedPlan{
			name:        "roombridge · " + strings.TrimSpace(o.Name+" "+room.Name),
			description: feedLocation(FeedItem{Room: room, Office: o}) + " 的预订（OA 与钉钉）",
			filename:    "room-" + feedFileName(room.ID) + ".ics",
			rooms:       []string{room.ID},
			scopes:      []string{models.ScopeCatalog, models.RoomScope(room.ID)},
		}, nil
	case scope == models.FeedOffices && id != "":
		o, ok := cat.officeByID[id]
		if !ok {
			return feedPlan{}, fmt.Errorf("render office feed: office %s: %w", id, models.ErrNotFound)
		}
		p := feedPlan{name: "roombridge · " + o.Name, description: o.Name + "所有会议室的预订（OA 与钉钉）",
			filename: "office-" + feedFileName(o.ID) + ".ics", scopes: []string{models.ScopeCatalog}, rooms: []string{}}
		for _, r := range o.Rooms {
			p.rooms = append(p.rooms, r.ID)
			p.scopes = append(p.scopes, models.RoomScope(r.ID))
		}
		p.empty = len(p.rooms) == 0
		return p, nil
	}
	return feedPlan{}, fmt.Errorf("render feed: scope %q: %w", scope, models.ErrNotFound)
}

// buildFeed reads the rows of plan as they stream from the store and writes the feed
// user sees at now, each event straight into the body.
func (f *Feeds) buildFeed(ctx context.Context, cat *feedCatalog, plan feedPlan, user string, scope models.FeedScope, now time.Time) (*feedEntry, error) {
	past, ahead := feedDuration(f.Past, DefaultFeedPast), feedDuration(f.Ahead, DefaultFeedAhead)
	spec := FeedSpec{
		Name: plan.name, Description: plan.description,
		Zone: f.Zone, Now: now, Refresh: f.Refresh, URL: f.BookingURL,
		KeepCancelled: feedDuration(f.KeepCancelled, DefaultKeepCancelled),
		From:          now.Add(-past),
		To:            now.Add(ahead),
	}
	if err := checkFeedSpec(spec); err != nil {
		return nil, err
	}
	var gone *models.Room // the room of a room feed that left the catalog
	if len(plan.rooms) == 1 {
		if _, ok := cat.roomByID[plan.rooms[0]]; !ok {
			if r, err := f.Store.Room(ctx, plan.rooms[0]); err == nil {
				gone = &r
			}
		}
	}
	rows, err := f.readFeedRows(ctx, cat, plan, gone, user, scope, spec)
	if err != nil {
		return nil, fmt.Errorf("render feed %s: %w", plan.filename, err)
	}
	b, clock, seriesIDs := rows.b, rows.clock, rows.seriesIDs
	var (
		next    time.Time
		hasNext bool
	)
	if !plan.empty {
		if next, hasNext, err = f.Store.NextStart(ctx, plan.rooms, spec.To); err != nil {
			return nil, fmt.Errorf("render feed %s: %w", plan.filename, err)
		}
	}
	// A series row changes only in transactions that raise its room's stamp, so feeds
	// cached by stamp stay true to it.
	var series map[string]models.Series
	if len(seriesIDs) > 0 {
		if series, err = f.Store.SeriesByIDs(ctx, seriesIDs); err != nil {
			return nil, fmt.Errorf("render feed %s: %w", plan.filename, err)
		}
	}
	body, err := b.finish(series)
	if err != nil {
		return nil, fmt.Errorf("render feed %s: %w", plan.filename, err)
	}
	e := &feedEntry{
		body: body, etag: FeedETag(body), filename: plan.filename,
		lastModified: clock.last.UTC().Truncate(time.Second),
		validUntil:   clock.validUntil(next, hasNext),
	}
	if len(body) <= feedGzipInline {
		e.compress()
	}
	return e, nil
}

// pipeBatch is how many rows pipeRows hands over at once.
const pipeBatch = 256

// pipeRows runs read, which calls its argument with every row, and use on every row, in
// order, on two goroutines: reading rows (mostly the SQLite driver) and writing events
// take about as long each, so a build on two cores takes about half as long. A few
// batches go round between the two, so the rows in flight stay few. The first error
// either returns stops both.
func pipeRows(read func(each func(models.Reservation) error) error, use func(*models.Reservation) error) error {
	const batches = 4
	full, free := make(chan []models.Reservation, batches), make(chan []models.Reservation, batches)
	for range batches {
		free <- make([]models.Reservation, 0, pipeBatch)
	}
	used := make(chan error, 1)
	go func() {
		var err error
		for batch := range full {
			for i := 0; i < len(batch) && err == nil; i++ {
				err = use(&batch[i])
			}
			if err != nil {
				used <- err
				for range full { // let read stop
				}
				return
			}
			free <- batch[:0]
		}
		used <- nil
	}()
	batch := <-free
	err := read(func(r models.Reservation) error {
		batch = append(batch, r)
		if len(batch) < pipeBatch {
			return nil
		}
		full <- batch
		select {
		case batch = <-free:
			return nil
		case err := <-used:
			used <- err
			return err
		}
	})
	if err == nil && len(batch) > 0 {
		full <- batch
	}
	close(full)
	if uerr := <-used; uerr != nil {
		return uerr
	}
	return err
}

// feedItem makes it row r as user sees it (it is zero).
func (f *Feeds) feedItem(it *FeedItem, cat *feedCatalog, gone *models.Room, user string, r *models.Reservation) {
	it.R = *r
	r = &it.R
	room, ok := cat.roomByID[r.RoomID]
	switch {
	case ok:
	case gone != nil && gone.ID == r.RoomID:
		room = *gone
	default:
		room = models.Room{ID: r.RoomID, Name: r.RoomID}
	}
	it.Room, it.Office = room, cat.officeByID[room.OfficeID]
	if it.OrganizerName = r.OrganizerName; it.OrganizerName == "" {
		it.OrganizerName = cat.users[r.OrganizerID]
	}
	it.Mine = r.Involves(user)
	it.Details = f.ShowTitles || it.Mine || f.Access.MaySee(user, *r)
	if it.Mine {
		for _, a := range r.Attendees {
			it.Attendees = append(it.Attendees, FeedPerson{ID: a, Name: cat.users[a]})
		}
	}
}

// feedClock folds every row read into the feed's Last-Modified (see FeedLastModified)
// and the first moment after spec.Now at which the feed could change with no row
// changing: a row leaves the window or the rows read, a cancelled row expires, or the
// next row past the window enters it.
type feedClock struct {
	spec        FeedSpec
	last, until time.Time
}

func newFeedClock(spec FeedSpec) *feedClock {
	// No later than a whole window ahead.
	return &feedClock{spec: spec, until: spec.Now.Add(spec.To.Sub(spec.Now))}
}

func (c *feedClock) consider(t time.Time) {
	if t.After(c.spec.Now) && t.Before(c.until) {
		c.until = t
	}
}

func (c *feedClock) add(r *models.Reservation) {
	spec, now := &c.spec, c.spec.Now
	changed := feedChanged(r)
	c.last = feedModified(spec, r, changed, c.last)
	if changed.After(now) {
		// Stamped in the future (clock skew): Last-Modified moves with the clock.
		c.consider(now.Add(time.Second))
	}
	if r.Status == models.StatusCancelled && !changed.IsZero() {
		c.consider(changed.Add(spec.keep()))
	}
	past := now.Sub(spec.From)
	c.consider(r.End.Add(past))
	c.consider(r.End.Add(past + feedExitLookback))
	c.consider(r.Start.Add(-spec.To.Sub(now)))
}

// validUntil is the moment the feed expires, the next row past the window (starting at
// next) counted.
func (c *feedClock) validUntil(next time.Time, hasNext bool) time.Time {
	if hasNext {
		c.consider(feedMaxTime(next.Add(-c.spec.To.Sub(c.spec.Now)), c.spec.Now.Add(time.Second)))
	}
	return c.until
}
