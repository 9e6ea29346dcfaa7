package bridge

import (
	"context"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"roombridge/models"
)

// A large feed is read and written in parts at once, one per core: the rows are cut by
// start time where the start time's index puts equal shares of them (models.FeedSplits),
// each part streams its rows on a read connection of its own and writes its events, and
// the parts are put together in order. Rows sharing a start are never cut apart, so the
// events come out as one build writes them. Every part writes into its own region of one
// buffer sized for the whole feed (feedArena), so putting them together moves bytes
// within that buffer rather than holding the feed twice.

// feedParallelRows is the fewest rows a build reads in parts: below it, the queries that
// cut the rows and check them cost more than a second core saves.
const feedParallelRows = 4000

// feedBuildParts is how many parts a build of rows rows is read in.
func feedBuildParts(rows int) int {
	if rows < feedParallelRows {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 4, rows/(feedParallelRows/2))
}

// feedRows is what a build collects from its rows, or from one part of them: the
// events, the clock, and the series the rows are occurrences of.
type feedRows struct {
	b          *feedBuilder
	clock      *feedClock
	seriesIDs  []string
	seenSeries map[string]bool
}

// newFeedRows starts part part of a build (0: the first, or the only one) whose parts
// share arena (nil: one part).
func newFeedRows(spec FeedSpec, part int, arena *feedArena) *feedRows {
	b := newFeedBuilder(spec, true)
	if part > 0 {
		b.buf, b.base = make([]byte, 0, 64<<10), 0
	}
	b.arena, b.part = arena, part
	return &feedRows{b: b, clock: newFeedClock(spec), seenSeries: map[string]bool{}}
}

func (p *feedRows) addSeries(id string) {
	if id != "" && !p.seenSeries[id] {
		p.seenSeries[id] = true
		p.seriesIDs = append(p.seriesIDs, id)
	}
}

// readFeedRows reads the rows of plan and writes the events user sees at spec.Now, in
// parts at once when there are many.
func (f *Feeds) readFeedRows(ctx context.Context, cat *feedCatalog, plan feedPlan, gone *models.Room, user string, scope models.FeedScope, spec FeedSpec) (*feedRows, error) {
	if plan.empty {
		return newFeedRows(spec, 0, nil), nil
	}
	from := spec.From.Add(-feedExitLookback)
	// The body is sized once for the rows counted (a large feed is most of a build's
	// memory; growing it by halves would hold it twice).
	count, err := f.Store.CountFeedRows(ctx, plan.rooms, from, spec.To)
	if err != nil {
		return nil, err
	}
	n := count.N
	parts := feedBuildParts
	if f.buildParts != nil {
		parts = f.buildParts
	}
	use := func(p *feedRows) func(*models.Reservation) error {
		return func(r *models.Reservation) error {
			// Every row read counts for Last-Modified: a booking the user just left
			// (removed from its attendees) leaves the me feed at its UpdatedAt.
			p.clock.add(r)
			p.b.seen++
			if !feedShows(&spec, r) {
				return nil
			}
			it := p.b.next()
			f.feedItem(it, cat, gone, user, r)
			if scope == models.FeedMe && !it.Mine {
				p.b.drop()
				return nil
			}
			p.addSeries(r.Series())
			return p.b.push()
		}
	}
	if k := parts(n); k > 1 {
		rows, err := f.readFeedParts(ctx, plan, spec, count, k, use)
		if err != nil || rows != nil {
			return rows, err
		}
		// The rows changed while the parts were read: read them again in one pass.
	}
	rows := newFeedRows(spec, 0, nil)
	rows.b.expect = n
	// Rows come in order of start; UIDs are unique in the table, so each is shown once.
	err = pipeRows(func(each func(models.Reservation) error) error {
		return f.Store.EachFeedReservation(ctx, plan.rooms, from, spec.To, each)
	}, use(rows))
	return rows, err
}

// readFeedParts reads the count.N rows of plan in k parts at once and puts them together. It
// returns nil and no error when a change was committed to the feed's scopes while the
// parts were read: each part reads its own snapshot, so together they may not show one
// state of the rows.
func (f *Feeds) readFeedParts(ctx context.Context, plan feedPlan, spec FeedSpec, count models.FeedCount, k int, use func(*feedRows) func(*models.Reservation) error) (*feedRows, error) {
	n := count.N
	from := spec.From.Add(-feedExitLookback)
	before, err := f.feedStampSum(ctx, plan.scopes)
	if err != nil {
		return nil, err
	}
	offsets := make([]int, k-1)
	for i := range offsets {
		offsets[i] = n * (i + 1) / k
	}
	cuts, err := f.Store.FeedSplitsAt(ctx, plan.rooms, from, spec.To, count, offsets)
	if err != nil {
		return nil, err
	}
	arena := &feedArena{rows: make([]int, len(cuts)+1)}
	for i := range arena.rows {
		arena.rows[i] = n / len(arena.rows)
	}
	parts := make([]*feedRows, len(cuts)+1)
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		p := newFeedRows(spec, i, arena)
		p.b.expect, parts[i] = arena.rows[i], p
		var starts, end time.Time
		if i > 0 {
			starts = cuts[i-1]
		}
		if i < len(cuts) {
			end = cuts[i]
		}
		g.Go(func() error {
			// Each part reads and writes on one goroutine: the parts keep the cores
			// busy, handing rows between goroutines would only cost switches.
			u := use(p)
			var row models.Reservation // one for every row: u's argument would escape
			err := f.Store.EachFeedReservationIn(gctx, plan.rooms, from, spec.To, starts, end, func(r models.Reservation) error {
				row = r
				return u(&row)
			})
			if err == nil {
				err = p.b.flush() // the rows sharing the part's last start
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	after, err := f.feedStampSum(ctx, plan.scopes)
	if err != nil || after != before {
		return nil, err
	}
	rows := parts[0]
	builders := make([]*feedBuilder, len(parts))
	for i, p := range parts {
		builders[i] = p.b
		if i > 0 {
			rows.clock.merge(p.clock)
			for _, id := range p.seriesIDs {
				rows.addSeries(id)
			}
		}
	}
	rows.b = mergeFeedParts(builders)
	return rows, nil
}

// feedStampSum is the sum of the change counters of scopes (of all when nil), which
// moves with every commit to the rows of a feed of those scopes.
func (f *Feeds) feedStampSum(ctx context.Context, scopes []string) (int64, error) {
	stamps, err := f.Store.FeedStamps(ctx, scopes)
	var sum int64
	for _, v := range stamps {
		sum += v
	}
	return sum, err
}

// merge folds the clock of another part of the rows into c.
func (c *feedClock) merge(o *feedClock) {
	c.last = feedMaxTime(c.last, o.last)
	c.until = feedMinTime(c.until, o.until)
}

// feedArena is the buffer the parts of a build write into, each in its own region
// (the first part's starts with the room for the head). It is made when the first part
// knows how large its events are, for every part's rows at that size and an eighth
// more; a part whose events outgrow its region goes on in a buffer of its own.
type feedArena struct {
	mu   sync.Mutex
	rows []int // rows expected in each part
	buf  []byte
	at   []int // part i's region is buf[at[i]:at[i+1]]
}

// region returns part's region, empty, making the arena at perRow bytes a row if need be.
func (a *feedArena) region(part int, perRow float64) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buf == nil {
		a.at = make([]int, len(a.rows)+1)
		for i, n := range a.rows {
			size := int(float64(n)*perRow*9/8) + 16<<10
			if i == 0 {
				size += feedHeadRoom
			}
			a.at[i+1] = a.at[i] + size
		}
		a.buf = make([]byte, a.at[len(a.rows)])
	}
	return a.buf[a.at[part]:a.at[part]:a.at[part+1]]
}

// holds reports whether p's events are in its region of the arena.
func (a *feedArena) holds(p *feedBuilder) bool {
	return a != nil && a.buf != nil && len(p.buf) > 0 && &p.buf[0] == &a.buf[a.at[p.part]]
}

// mergeFeedParts puts the events of the parts (each flushed) behind one another, in
// order, and returns the first part's builder holding them all. The events move down
// within the arena where every part still writes in its region; from the first part
// that does not fit, the rest are copied into one new buffer.
func mergeFeedParts(parts []*feedBuilder) *feedBuilder {
	m, a := parts[0], parts[0].arena
	inArena := a != nil && a.buf != nil
	var out []byte
	if inArena {
		out = a.buf[:0]
	}
	// The records only serve to sort the events when they are not in order, or to
	// place series among them; in order, with no series, they are let go.
	recs, keep := 0, false
	var last *feedRecord
	for _, p := range parts {
		recs += len(p.recs)
		keep = keep || !p.sorted || len(p.occurrences) > 0
		if len(p.recs) > 0 {
			keep = keep || last != nil && feedRecordLess(p.recs[0], *last)
			last = &p.recs[len(p.recs)-1]
		}
	}
	var merged []feedRecord
	if keep {
		merged = make([]feedRecord, 0, recs)
	}
	for k, p := range parts {
		n, limit := len(out), cap(out)
		if inArena {
			// Up to the next part still to move.
			for _, q := range parts[k+1:] {
				if a.holds(q) {
					limit = a.at[q.part]
					break
				}
			}
		}
		if n+len(p.buf) > limit {
			rest := 0
			for _, q := range parts[k:] {
				rest += len(q.buf)
			}
			buf := make([]byte, n, n+rest+16<<10)
			copy(buf, out)
			out, inArena = buf, false
		}
		out = out[:n+len(p.buf)]
		if len(p.buf) > 0 && &out[n] != &p.buf[0] {
			copy(out[n:], p.buf)
		}
		for _, r := range p.recs {
			if !keep {
				break
			}
			r.off, r.end = r.off+n, r.end+n
			if len(merged) > 0 && feedRecordLess(r, merged[len(merged)-1]) {
				m.sorted = false
			}
			merged = append(merged, r)
		}
		m.sorted = m.sorted && p.sorted
		if p != m {
			m.occurrences = append(m.occurrences, p.occurrences...)
			if p.shown {
				if !m.shown {
					m.lo, m.hi, m.shown = p.lo, p.hi, true
				}
				m.lo, m.hi = feedMinTime(m.lo, p.lo), feedMaxTime(m.hi, p.hi)
			}
		}
	}
	m.buf, m.recs = out, merged
	return m
}
