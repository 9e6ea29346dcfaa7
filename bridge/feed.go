package bridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/emersion/go-ical"

	"roombridge/models"
)

// Feed constants shared with the HTTP layer.
const (
	// FeedProductID is the PRODID of every feed.
	FeedProductID = "-//roombridge//Room Bookings 1.0//ZH"
	// DefaultFeedRefresh is the refresh hint when FeedSpec.Refresh is zero.
	DefaultFeedRefresh = time.Hour
	// DefaultKeepCancelled is how long a cancelled booking stays in feeds (as
	// STATUS:CANCELLED) after its last change when FeedSpec.KeepCancelled is zero.
	DefaultKeepCancelled = 7 * 24 * time.Hour
	// BusySummary starts the SUMMARY of a booking whose details the subscriber may not
	// see; BusyTitle adds the room, so a feed of many rooms says which one is busy.
	BusySummary = "已占用"
)

// BusyTitle is the SUMMARY of someone else's booking of room: "已占用 · 多维缩放会议室".
func BusyTitle(room string) string {
	if room = strings.TrimSpace(feedText(room)); room == "" {
		return BusySummary
	}
	return BusySummary + " · " + room
}

// FeedItem is one reservation as a feed shows it: the row, its room and office, and
// whether the subscriber may see its title, description and organizer (Details).
// OrganizerName overrides R.OrganizerName when set.
type FeedItem struct {
	R             models.Reservation
	Room          models.Room
	Office        models.Office
	Details       bool
	OrganizerName string
	// Series is the series R is an occurrence of (nil for a single booking). A series is
	// one event in the feed: its UID with RRULE, EXDATE for every occurrence the feed
	// does not hold, and a RECURRENCE-ID override for every occurrence that differs.
	Series *models.Series
	// Mine marks a booking the subscriber organizes or attends: it is busy time in their
	// calendar (TRANSP:OPAQUE; everything else is TRANSPARENT), and it carries its
	// attendees and the link back to its booking page.
	Mine bool
	// Attendees are the booking's attendees (shown when Mine).
	Attendees []FeedPerson
}

// FeedPerson is an attendee: the catalog user id and name.
type FeedPerson struct {
	ID, Name string
}

// FeedSpec describes one calendar. Zone must be an IANA zone (not time.Local or a
// time.FixedZone); every local time in the feed carries TZID=<Zone> and the feed carries
// the matching VTIMEZONE. Now is the clock reading the feed is built for; it decides
// which cancelled bookings are still shown (KeepCancelled, default 7 days). From and To,
// when set, are the window: only bookings overlapping [From, To) are shown. URL, when
// set, gives the booking page linked from events the subscriber may see in detail.
type FeedSpec struct {
	Name          string
	Description   string
	Zone          *time.Location
	Refresh       time.Duration
	URL           func(id string) string
	Now           time.Time
	KeepCancelled time.Duration
	From, To      time.Time
}

func (spec FeedSpec) keep() time.Duration {
	if spec.KeepCancelled <= 0 {
		return DefaultKeepCancelled
	}
	return spec.KeepCancelled
}

// BuildFeed renders items as an RFC 5545 subscription calendar: no METHOD (clients would
// treat it as an invitation), one VTIMEZONE for spec.Zone, events sorted by start then
// UID, lines folded at 75 octets. The same spec and items always give the same bytes. Rejected
// bookings never appear; cancelled ones appear with STATUS:CANCELLED until KeepCancelled
// after their last change. Errors are ErrInvalid: a missing or non-IANA zone, a zero
// Now, or a row without UID, change time or with its end before its start.
func BuildFeed(spec FeedSpec, items []FeedItem) ([]byte, error) {
	if err := checkFeedSpec(spec); err != nil {
		return nil, err
	}
	shown, err := feedShown(spec, items)
	if err != nil {
		return nil, err
	}
	b := newFeedBuilder(spec, false)
	for i := range shown {
		if err := b.write(&shown[i]); err != nil {
			return nil, err
		}
	}
	return b.finish(nil)
}

func checkFeedSpec(spec FeedSpec) error {
	if err := checkFeedZone(spec.Zone); err != nil {
		return err
	}
	if spec.Now.IsZero() {
		return fmt.Errorf("%w: feed needs the current time", models.ErrInvalid)
	}
	return nil
}

// feedHeadRoom is the room a feedBuilder keeps before the events for the calendar's
// head, so that a feed written in order needs no second copy.
const feedHeadRoom = 4 << 10

// feedBuilder writes a feed from the items it shows, in the order they come: events go
// straight into the body, behind room for the head, which depends on every event (the
// VTIMEZONE covers them all) and is written last. When the items came in order (start,
// then UID) and no series is shown, the body is that buffer; otherwise the events are
// put in order in one more copy. A series is written where its first shown occurrence
// sorts: its master event and overrides, encoded with go-ical (feedSeriesBytes).
type feedBuilder struct {
	spec FeedSpec
	// lookup: an item with a series id and no Series is an occurrence whose series
	// finish is given; else only items with a Series are occurrences.
	lookup bool
	buf    []byte
	w      eventWriter // its out is buf while an event is written
	recs   []feedRecord
	sorted bool
	// group holds the items sharing the last start, written once a later one comes.
	group       []FeedItem
	order       []int
	occurrences []FeedItem
	lo, hi      time.Time
	shown       bool
	// expect is how many rows the feed is built from (an estimate; 0: unknown), seen
	// how many came so far (shown or not); sized tells that the buffer was sized from
	// them.
	expect, seen int
	sized        bool
	// base is where events start in buf: feedHeadRoom, or 0 in a part of a parallel
	// build after the first. A part sizes its buffer as a region of arena.
	base  int
	arena *feedArena
	part  int
	uids  stringArena
}

// stringArena copies strings into chunks of its own, one allocation for many.
type stringArena struct {
	chunk []byte
}

func (a *stringArena) clone(s string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]byte, 0, max(16<<10, len(s)))
	}
	n := len(a.chunk)
	// Bytes once written in a chunk never change: the string may share them.
	a.chunk = append(a.chunk, s...)
	return unsafe.String(&a.chunk[n], len(s))
}

// feedRecord is one event (buf[off:end]) or one series (series != "") and where it sorts.
type feedRecord struct {
	start    time.Time
	uid      string
	off, end int
	series   string
}

func newFeedBuilder(spec FeedSpec, lookup bool) *feedBuilder {
	return &feedBuilder{spec: spec, lookup: lookup, buf: make([]byte, feedHeadRoom, feedHeadRoom+64<<10), sorted: true, base: feedHeadRoom}
}

// add takes the next item shown, in order of start (a disorder costs a copy at the end).
func (b *feedBuilder) add(it FeedItem) error {
	*b.next() = it
	return b.push()
}

// next returns the place of the next item, to be filled and then taken by push or
// given back by drop: items are large, and each is copied once, into the group.
func (b *feedBuilder) next() *FeedItem {
	if len(b.group) < cap(b.group) {
		b.group = b.group[:len(b.group)+1]
		b.group[len(b.group)-1] = FeedItem{}
	} else {
		b.group = append(b.group, FeedItem{})
	}
	return &b.group[len(b.group)-1]
}

// drop gives back the place next returned.
func (b *feedBuilder) drop() { b.group = b.group[:len(b.group)-1] }

// push takes the item next returned (see add).
func (b *feedBuilder) push() error {
	n := len(b.group) - 1
	it := &b.group[n]
	if err := feedCheck(&it.R); err != nil {
		b.drop()
		return err
	}
	if n > 0 && !it.R.Start.Equal(b.group[0].R.Start) {
		// A later start: the group before it is complete.
		if err := b.flushFirst(n); err != nil {
			return err
		}
		b.group[0] = b.group[n]
		b.group = b.group[:1]
	}
	return nil
}

// flush writes the items of the group in UID order.
func (b *feedBuilder) flush() error {
	if err := b.flushFirst(len(b.group)); err != nil {
		return err
	}
	b.group = b.group[:0]
	return nil
}

// flushFirst writes the first n items of the group in UID order.
func (b *feedBuilder) flushFirst(n int) error {
	if n == 1 {
		return b.write(&b.group[0])
	}
	// Items are large: their indexes are sorted.
	b.order = b.order[:0]
	for i := range n {
		b.order = append(b.order, i)
	}
	slices.SortFunc(b.order, func(x, y int) int { return strings.Compare(b.group[x].R.UID, b.group[y].R.UID) })
	for _, i := range b.order {
		if err := b.write(&b.group[i]); err != nil {
			return err
		}
	}
	return nil
}

// write writes one item shown (an occurrence waits for finish).
func (b *feedBuilder) write(it *FeedItem) error {
	if !b.shown {
		b.lo, b.hi, b.shown = it.R.Start, it.R.End, true
	}
	b.lo, b.hi = feedMinTime(b.lo, it.R.Start), feedMaxTime(b.hi, it.R.End)
	if it.Series != nil || b.lookup && it.R.SeriesID != nil {
		b.occurrences = append(b.occurrences, *it)
		return nil
	}
	return b.event(it)
}

// grow makes room for more events: once enough are written to know their size, for as
// many as expected; else twice the room (append grows large slices by a quarter, which
// copies the body several times over).
func (b *feedBuilder) grow() {
	n, size := len(b.recs), 2*cap(b.buf)
	switch {
	case b.sized:
		size = cap(b.buf) + cap(b.buf)/4
	case b.expect > b.seen && b.seen > 0 && n >= 32:
		// The rows still to come, shown in the proportion seen so far.
		more := (b.expect - b.seen) * n / b.seen
		size = len(b.buf) + more*((len(b.buf)-b.base)/n)*9/8 + 16<<10
		b.sized = true
		// The records too, once (grown by a quarter at a time they would be copied over
		// and over).
		b.recs = slices.Grow(b.recs, more+more/8)
		if b.arena != nil {
			if r := b.arena.region(b.part, float64(len(b.buf)-b.base)/float64(b.seen)); cap(r) >= len(b.buf)+16<<10 {
				b.buf = append(r, b.buf...)
				return
			}
		}
	}
	buf := make([]byte, len(b.buf), size)
	copy(buf, b.buf)
	b.buf = buf
}

func (b *feedBuilder) event(it *FeedItem) error {
	if cap(b.buf)-len(b.buf) < 8<<10 {
		b.grow()
	}
	off := len(b.buf)
	b.w.out = b.buf
	err := b.w.event(&b.spec, it)
	b.buf, b.w.out = b.w.out, nil
	if err != nil {
		return err
	}
	if b.recs == nil && b.expect > 0 {
		b.recs = make([]feedRecord, 0, min(b.expect, 1024))
	}
	// The UID is copied: the row's strings share one text read from the store, which
	// the record would otherwise keep alive until the feed is done.
	rec := feedRecord{start: it.R.Start, uid: b.uids.clone(it.R.UID), off: off, end: len(b.buf)}
	if n := len(b.recs); n > 0 && feedRecordLess(rec, b.recs[n-1]) {
		b.sorted = false
	}
	b.recs = append(b.recs, rec)
	return nil
}

func feedRecordLess(a, b feedRecord) bool {
	if !a.start.Equal(b.start) {
		return a.start.Before(b.start)
	}
	return a.uid < b.uid
}

// finish writes the series (series gives those of occurrences that came without one;
// an occurrence of none of them is a single booking) and returns the body.
func (b *feedBuilder) finish(series map[string]models.Series) ([]byte, error) {
	if err := b.flush(); err != nil {
		return nil, err
	}
	var occ []FeedItem
	for _, it := range b.occurrences {
		if it.Series == nil {
			ser, ok := series[it.R.Series()]
			if !ok {
				if err := b.event(&it); err != nil {
					return nil, err
				}
				continue
			}
			it.Series = &ser
		}
		occ = append(occ, it)
	}
	groups, err := feedSeriesGroups(b.spec, occ)
	if err != nil {
		return nil, err
	}
	lo, hi := b.spec.Now, b.spec.Now
	if b.shown {
		lo, hi = b.lo, b.hi
	}
	for _, it := range occ {
		rec := feedRecord{start: it.R.Start, uid: it.R.UID, series: it.Series.ID}
		if g := groups[rec.series]; g.first.series == "" || feedRecordLess(rec, g.first) {
			g.first = rec
		}
	}
	blocks := map[string][]byte{}
	size := len(feedTail)
	for id, g := range groups {
		lo, hi = feedMinTime(lo, g.lo), feedMaxTime(hi, g.hi)
		if blocks[id], err = feedSeriesBytes(b.spec, g); err != nil {
			return nil, err
		}
		b.recs = append(b.recs, g.first)
		b.sorted = false
		size += len(blocks[id])
	}
	head, err := feedHead(b.spec, lo, hi)
	if err != nil {
		return nil, err
	}
	if b.sorted && len(head) > feedHeadRoom {
		// In order already (the records may be gone, see mergeFeedParts), but the
		// head does not fit before the events.
		out := make([]byte, 0, len(head)+len(b.buf)-feedHeadRoom+len(feedTail))
		out = append(append(out, head...), b.buf[feedHeadRoom:]...)
		return append(out, feedTail...), nil
	}
	if b.sorted {
		at := feedHeadRoom - len(head)
		copy(b.buf[at:], head)
		body := append(b.buf[at:], feedTail...)
		if cap(body)-len(body) <= len(body)/8+4<<10 {
			return body, nil
		}
		// Sized for more than came: the cache keeps only what the feed needs.
		return append(make([]byte, 0, len(body)), body...), nil
	}
	slices.SortStableFunc(b.recs, func(x, y feedRecord) int {
		if feedRecordLess(x, y) {
			return -1
		}
		if feedRecordLess(y, x) {
			return 1
		}
		return 0
	})
	size += len(head) + len(b.buf) - feedHeadRoom
	out := make([]byte, 0, size)
	out = append(out, head...)
	for _, rec := range b.recs {
		if rec.series != "" {
			out = append(out, blocks[rec.series]...)
		} else {
			out = append(out, b.buf[rec.off:rec.end]...)
		}
	}
	return append(out, feedTail...), nil
}

const feedTail = "END:VCALENDAR\r\n"

// feedHead is the folded calendar up to its first event: properties and the VTIMEZONE
// valid over [lo, hi] (the shown events, a series' whole pattern included).
func feedHead(spec FeedSpec, lo, hi time.Time) ([]byte, error) {
	cal := ical.NewCalendar()
	cal.Props.Set(icalRaw(ical.PropVersion, "2.0"))
	cal.Props.Set(icalRaw(ical.PropProductID, FeedProductID))
	cal.Props.Set(icalRaw(ical.PropCalendarScale, "GREGORIAN"))
	name := feedText(spec.Name)
	cal.Props.Set(icalText(ical.PropName, name))
	cal.Props.Set(icalText("X-WR-CALNAME", name))
	cal.Props.Set(icalText("X-WR-TIMEZONE", spec.Zone.String()))
	if d := feedText(spec.Description); d != "" {
		cal.Props.Set(icalText(ical.PropDescription, d))
		cal.Props.Set(icalText("X-WR-CALDESC", d))
	}
	refresh := spec.Refresh
	if refresh <= 0 {
		refresh = DefaultFeedRefresh
	}
	ri := icalRaw(ical.PropRefreshInterval, icalDuration(refresh))
	ri.Params.Set(ical.ParamValue, "DURATION")
	cal.Props.Set(ri)
	cal.Props.Set(icalRaw("X-PUBLISHED-TTL", icalDuration(refresh)))
	// The VTIMEZONE also keeps an empty calendar encodable (go-ical refuses one with no
	// child) and valid.
	cal.Children = append(cal.Children, icalTimezone(spec.Zone, lo, hi))
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode feed %q: %w", spec.Name, err)
	}
	head, ok := bytes.CutSuffix(foldICal(buf.Bytes()), []byte(feedTail))
	if !ok {
		return nil, fmt.Errorf("encode feed %q: calendar does not end with END:VCALENDAR", spec.Name)
	}
	return head, nil
}

// FeedLastModified returns the newest moment at which the feed built from spec and items
// could have changed, deletions included, never after spec.Now: a row's last change, the
// moment a cancelled row fell out after KeepCancelled, and, when the window is set, the
// moment a row entered the window (To slid past its start) or left it (From slid past its
// end). Pass every row that could have been in the feed, including rejected, cancelled
// and recently past ones, not only those BuildFeed shows. It is the zero time when items
// is empty.
func FeedLastModified(spec FeedSpec, items []FeedItem) time.Time {
	var last time.Time
	for i := range items {
		last = feedModified(&spec, &items[i].R, feedChanged(&items[i].R), last)
	}
	return last.UTC().Truncate(time.Second)
}

// feedModified is FeedLastModified's step: last moved forward by row r, changed at
// changed (feedChanged).
func feedModified(spec *FeedSpec, r *models.Reservation, changed, last time.Time) time.Time {
	consider := func(t time.Time) {
		if !t.IsZero() && !t.After(spec.Now) && t.After(last) {
			last = t
		}
	}
	// A change stamped after now (clock skew between hosts) has happened all the same.
	consider(feedMinTime(changed, spec.Now))
	if r.Status == models.StatusCancelled && !changed.IsZero() {
		consider(changed.Add(spec.keep()))
	}
	if !spec.To.IsZero() {
		consider(r.Start.Add(-spec.To.Sub(spec.Now)))
	}
	if !spec.From.IsZero() {
		consider(r.End.Add(spec.Now.Sub(spec.From)))
	}
	return last
}

// FeedETag returns a strong HTTP ETag for a feed body: the quoted hex of the first 16
// bytes of its SHA-256 or, for a body over feedETagWhole, of the SHA-256 of its length
// and the SHA-256 of each feedETagChunk of it, hashed on every core at once (a large
// feed is built in parts at once, its hash would be all one core's).
func FeedETag(body []byte) string {
	if len(body) <= feedETagWhole {
		sum := sha256.Sum256(body)
		return `"` + hex.EncodeToString(sum[:16]) + `"`
	}
	n := (len(body) + feedETagChunk - 1) / feedETagChunk
	sums := make([]byte, 8, 8+n*sha256.Size)
	binary.BigEndian.PutUint64(sums, uint64(len(body)))
	sums = sums[:cap(sums)]
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				sum := sha256.Sum256(body[i*feedETagChunk : min((i+1)*feedETagChunk, len(body))])
				copy(sums[8+i*sha256.Size:], sum[:])
			}
		})
	}
	wg.Wait()
	sum := sha256.Sum256(sums)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// A body over feedETagWhole is hashed by feedETagChunk (FeedETag).
const (
	feedETagWhole = 2 << 20
	feedETagChunk = 1 << 20
)

func checkFeedZone(zone *time.Location) error {
	if zone == nil {
		return fmt.Errorf("%w: feed needs a time zone", models.ErrInvalid)
	}
	name := zone.String()
	if name == "Local" || name == "" {
		return fmt.Errorf("%w: feed time zone %q is not an IANA zone", models.ErrInvalid, name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("%w: feed time zone %q is not an IANA zone: %v", models.ErrInvalid, name, err)
	}
	return nil
}

// feedChanged is the row's last change, in UTC whole seconds.
func feedChanged(r *models.Reservation) time.Time {
	t := r.UpdatedAt
	if t.IsZero() {
		t = r.CreatedAt
	}
	return t.UTC().Truncate(time.Second)
}

// feedShown picks the items the feed shows, one per UID, sorted by start then UID.
func feedShown(spec FeedSpec, items []FeedItem) ([]FeedItem, error) {
	byUID := map[string]FeedItem{}
	for _, it := range items {
		r := it.R
		if !feedShows(&spec, &r) {
			continue
		}
		if err := feedCheck(&r); err != nil {
			return nil, err
		}
		if prev, ok := byUID[r.UID]; ok && !feedNewer(r, prev.R) {
			continue
		}
		byUID[r.UID] = it
	}
	out := make([]FeedItem, 0, len(byUID))
	for _, it := range byUID {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].R, out[j].R
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.UID < b.UID
	})
	return out, nil
}

// feedShows reports whether the feed shows r: it holds its room, or was cancelled less
// than KeepCancelled ago, and it overlaps the window.
func feedShows(spec *FeedSpec, r *models.Reservation) bool {
	switch {
	case r.Status.Holds():
	case r.Status == models.StatusCancelled:
		if !spec.Now.Before(feedChanged(r).Add(spec.keep())) {
			return false
		}
	default:
		return false
	}
	return (spec.To.IsZero() || r.Start.Before(spec.To)) && (spec.From.IsZero() || r.End.After(spec.From))
}

// feedCheck refuses a row a feed cannot show (ErrInvalid).
func feedCheck(r *models.Reservation) error {
	switch {
	case r.UID == "":
		return fmt.Errorf("%w: reservation %s has no UID", models.ErrInvalid, r.ID)
	case feedChanged(r).IsZero():
		return fmt.Errorf("%w: reservation %s has no change time", models.ErrInvalid, r.ID)
	case r.End.Before(r.Start):
		return fmt.Errorf("%w: reservation %s ends before it starts", models.ErrInvalid, r.ID)
	}
	return nil
}

// feedNewer reports whether a should win over b when two rows share a UID.
func feedNewer(a, b models.Reservation) bool {
	if a.Sequence != b.Sequence {
		return a.Sequence > b.Sequence
	}
	if ca, cb := feedChanged(&a), feedChanged(&b); !ca.Equal(cb) {
		return ca.After(cb)
	}
	return a.ID > b.ID
}

// appendEvent appends the folded VEVENT of it to dst. Properties come in name order, as
// go-ical writes them, so a feed reads the same whichever way its events were made.
// Values are escaped and folded as they are written, from their parts, without
// building a string for any of them.
func appendEvent(dst []byte, spec FeedSpec, it FeedItem) ([]byte, error) {
	w := eventWriter{out: dst}
	err := w.event(&spec, &it)
	return w.out, err
}

// event writes the VEVENT of it (see appendEvent).
func (w *eventWriter) event(spec *FeedSpec, it *FeedItem) error {
	r := &it.R
	w.line("BEGIN", "VEVENT")
	backend, origin := feedBackendName(r.Backend), feedOriginName(r.Origin)
	changed := feedChanged(r)
	how := "（直接预订）"
	if r.Origin == models.OriginBridge {
		how = "（经 roombridge 预订）"
	}
	var link, organizer, desc string
	if it.Details {
		if spec.URL != nil {
			if u := spec.URL(r.ID); u != "" {
				parsed, err := url.Parse(u)
				if err != nil || !parsed.IsAbs() || strings.ContainsAny(u, "\r\n\" ") {
					return fmt.Errorf("%w: booking link %q for reservation %s is not an absolute URL", models.ErrInvalid, u, r.ID)
				}
				link = u
			}
		}
		desc = strings.TrimSpace(feedText(r.Description))
		organizer = it.OrganizerName
		if organizer == "" {
			organizer = r.OrganizerName
		}
		organizer = strings.TrimSpace(feedText(organizer))
		if it.Mine {
			for _, a := range it.Attendees {
				// A catalog user has no e-mail address here: the cal-address is a URN of
				// the user id. A parameter value may not hold a double quote (RFC 5545
				// §3.1); one holding ;:, is quoted, as go-ical does.
				cn := strings.ReplaceAll(attendeeName(a), `"`, "'")
				w.begin("ATTENDEE")
				w.raw(";CN=")
				if strings.ContainsAny(cn, ";:,") {
					w.raw(`"`)
					w.raw(cn)
					w.raw(`"`)
				} else {
					w.raw(cn)
				}
				w.raw(";ROLE=REQ-PARTICIPANT:urn:x-roombridge:user:")
				w.raw(url.PathEscape(a.ID))
				w.end()
			}
		}
	}
	w.begin("CATEGORIES")
	w.raw(":")
	w.text(backend)
	w.raw(",")
	w.text(origin)
	w.end()
	if !r.CreatedAt.IsZero() {
		w.utc("CREATED", r.CreatedAt)
	}
	w.begin("DESCRIPTION")
	w.raw(":")
	if it.Details {
		// The parts, one per line: the description and an empty line, the organizer,
		// for the subscriber's own bookings the attendees and the booking page (many
		// calendar apps do not show URL), and the source.
		if desc != "" {
			w.text(desc)
			w.raw(`\n\n`)
		}
		if organizer != "" {
			w.text("预订人：")
			w.text(organizer)
			w.raw(`\n`)
		}
		if it.Mine {
			for i, a := range it.Attendees {
				if i == 0 {
					w.text("参会人：")
				} else {
					w.text("、")
				}
				w.text(attendeeName(a))
			}
			if len(it.Attendees) > 0 {
				w.raw(`\n`)
			}
			if link != "" {
				w.text("预订页面：")
				w.text(link)
				w.raw(`\n`)
			}
		}
	}
	w.text("来源：")
	w.text(backend)
	w.text(how)
	w.end()
	w.local("DTEND", r.End, spec.Zone)
	w.utc("DTSTAMP", changed)
	w.local("DTSTART", r.Start, spec.Zone)
	w.utc("LAST-MODIFIED", changed)
	loc := w.location(it)
	if office, floor, room := loc[0], loc[1], loc[2]; office != "" || floor != "" || room != "" {
		w.begin("LOCATION")
		w.raw(":")
		sep := false
		for _, part := range [3]string{office, floor, room} {
			if part != "" {
				if sep {
					w.raw(" ")
				}
				w.text(part)
				sep = true
			}
		}
		w.end()
	}
	w.begin("SEQUENCE")
	w.raw(":")
	w.out = strconv.AppendInt(w.out, int64(max(r.Sequence, 0)), 10)
	w.end()
	switch r.Status {
	case models.StatusConfirmed:
		w.line("STATUS", "CONFIRMED")
	case models.StatusCancelled:
		w.line("STATUS", "CANCELLED")
	default:
		w.line("STATUS", "TENTATIVE")
	}
	w.begin("SUMMARY")
	w.raw(":")
	if it.Details {
		if summary := feedText(r.Title); strings.TrimSpace(summary) != "" {
			w.text(summary)
		} else {
			w.text("（无主题）")
		}
	} else {
		w.text(BusySummary)
		if room := loc[2]; room != "" {
			w.text(" · ")
			w.text(room)
		}
	}
	w.end()
	if it.Mine && r.Status.Holds() {
		w.line("TRANSP", "OPAQUE")
	} else {
		w.line("TRANSP", "TRANSPARENT")
	}
	w.begin("UID")
	w.raw(":")
	w.text(feedText(r.UID))
	w.end()
	if link != "" {
		w.line("URL", link)
	}
	w.line("END", "VEVENT")
	return nil
}

// attendeeName is how an attendee is named: the catalog name, else the id.
func attendeeName(a FeedPerson) string {
	if name := strings.TrimSpace(feedText(a.Name)); name != "" {
		return name
	}
	return feedText(a.ID)
}

// eventWriter writes content lines straight into out, each folded at 75 octets once it
// is complete.
type eventWriter struct {
	out []byte
	// start is where the line being written begins; tmp holds a long line while it is
	// folded.
	start int
	tmp   []byte
	// Times are written from Unix seconds. date is "YYYYMMDDT" of day (days since
	// 1970), the last date written.
	day     int64
	date    [9]byte
	hasDate bool
	// stamp is the text of stampSec, the last UTC time written (rows' change times are
	// written thrice).
	stampSec int64
	stamp    [15]byte
	hasStamp bool
	// zone's offset is off over [from, to) (Unix seconds), where every wall clock names
	// one instant only (see icalFirstOccurrence); tzid is its TZID parameter.
	zone     *time.Location
	from, to int64
	off      int64
	tzid     string
	// locs are the location parts of the rooms written (see feedLocationParts).
	locs map[string]*feedLoc
}

// feedLoc is the location of events in one room: the parts and what they came from.
type feedLoc struct {
	roomID, room, floor, office string
	parts                       [3]string
}

// location returns feedLocationParts of it, made once per room.
func (w *eventWriter) location(it *FeedItem) [3]string {
	l := w.locs[it.R.RoomID]
	if l == nil || l.roomID != it.R.RoomID || l.room != it.Room.Name || l.floor != it.Room.Floor || l.office != it.Office.Name {
		l = &feedLoc{roomID: it.R.RoomID, room: it.Room.Name, floor: it.Room.Floor, office: it.Office.Name}
		l.parts[0], l.parts[1], l.parts[2] = feedLocationParts(*it)
		if w.locs == nil {
			w.locs = map[string]*feedLoc{}
		}
		w.locs[it.R.RoomID] = l
	}
	return l.parts
}

// begin starts a line with its name; the caller writes parameters, ":" and the value.
func (w *eventWriter) begin(name string) {
	w.start = len(w.out)
	w.out = append(w.out, name...)
}

func (w *eventWriter) raw(s string) { w.out = append(w.out, s...) }

// text writes s as TEXT, escaped as RFC 5545 §3.3.11 asks: backslash, semicolon and
// comma get a backslash, a line feed becomes \n.
func (w *eventWriter) text(s string) {
	for {
		i := 0
		for i < len(s) && !icalSpecial[s[i]] {
			i++
		}
		w.out = append(w.out, s[:i]...)
		if i == len(s) {
			return
		}
		if c := s[i]; c == '\n' {
			w.out = append(w.out, '\\', 'n')
		} else {
			w.out = append(w.out, '\\', c)
		}
		s = s[i+1:]
	}
}

// icalSpecial marks the bytes a TEXT value escapes.
var icalSpecial = [256]bool{'\\': true, ';': true, ',': true, '\n': true}

// end folds the line and ends it with CRLF.
func (w *eventWriter) end() {
	if len(w.out)-w.start <= 75 {
		w.out = append(w.out, "\r\n"...)
		return
	}
	w.tmp = append(w.tmp[:0], w.out[w.start:]...)
	w.out = foldLine(w.out[:w.start], w.tmp)
}

// line writes "name:value".
func (w *eventWriter) line(name, value string) {
	w.begin(name)
	w.raw(":")
	w.raw(value)
	w.end()
}

func (w *eventWriter) utc(name string, t time.Time) {
	w.begin(name)
	w.raw(":")
	if sec := t.Unix(); w.hasStamp && sec == w.stampSec {
		w.out = append(w.out, w.stamp[:]...)
	} else {
		n := len(w.out)
		w.wall(sec)
		if w.hasStamp = len(w.out)-n == len(w.stamp); w.hasStamp {
			w.stampSec = sec
			copy(w.stamp[:], w.out[n:])
		}
	}
	w.out = append(w.out, 'Z')
	w.end()
}

// local writes t as a wall clock with TZID=zone, or in UTC where the wall clock would
// name an earlier instant (see icalLocal).
func (w *eventWriter) local(name string, t time.Time, zone *time.Location) {
	sec := t.Unix()
	if zone != w.zone || sec < w.from || sec >= w.to {
		l := t.In(zone)
		if zone == time.UTC || !icalFirstOccurrence(l) {
			w.utc(name, t)
			return
		}
		w.setZone(l)
	}
	w.begin(name)
	w.raw(";TZID=")
	w.raw(w.tzid)
	w.raw(":")
	w.wall(sec + w.off)
	w.end()
}

// setZone keeps the span around l over which its zone's offset holds and every wall
// clock is a first occurrence (l's is).
func (w *eventWriter) setZone(l time.Time) {
	if zone := l.Location(); zone != w.zone {
		w.zone, w.tzid = zone, zone.String()
		if strings.ContainsAny(w.tzid, ";:,") {
			w.tzid = `"` + w.tzid + `"`
		}
	}
	start, end := l.ZoneBounds()
	_, off := l.Zone()
	w.off, w.from, w.to = int64(off), math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		// After a change back, the first prev-off seconds name wall clocks that came
		// before.
		_, prev := start.Add(-time.Second).Zone()
		w.from = start.Unix() + int64(max(prev-off, 0))
	}
	if !end.IsZero() {
		w.to = end.Unix()
	}
}

// wall appends the wall clock sec (seconds since 1970-01-01 00:00 on that clock) as
// 20060102T150405.
func (w *eventWriter) wall(sec int64) {
	day := sec / 86400
	if sec%86400 < 0 {
		day--
	}
	if !w.hasDate || day != w.day {
		y, mo, d := time.Unix(day*86400, 0).UTC().Date()
		if y < 0 || y > 9999 {
			w.out = appendICalTime(w.out, time.Unix(sec, 0).UTC())
			return
		}
		w.date = [9]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10),
			byte('0' + int(mo)/10), byte('0' + int(mo)%10), byte('0' + d/10), byte('0' + d%10), 'T'}
		w.day, w.hasDate = day, true
	}
	s := sec - day*86400
	h, mi := s/3600, s/60%60
	s %= 60
	w.out = append(append(w.out, w.date[:]...), byte('0'+h/10), byte('0'+h%10), byte('0'+mi/10), byte('0'+mi%10), byte('0'+s/10), byte('0'+s%10))
}

// appendICalTime appends t's wall clock as 20060102T150405.
func appendICalTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, "20060102T150405")
	}
	return append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), byte('0'+mi/10), byte('0'+mi%10), byte('0'+s/10), byte('0'+s%10))
}

// foldLine appends one content line to dst folded at 75 octets (RFC 5545 §3.1) without
// cutting a UTF-8 sequence, then CRLF; a continuation line starts with a space, which
// counts toward its 75.
func foldLine(dst, l []byte) []byte {
	for limit := 75; len(l) > limit; limit = 74 {
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		dst = append(dst, l[:cut]...)
		dst = append(dst, "\r\n "...)
		l = l[cut:]
	}
	dst = append(dst, l...)
	return append(dst, "\r\n"...)
}

// feedLocation is "office floor room", e.g. "北京首开 1F 多维缩放会议室".
func feedLocation(it FeedItem) string {
	var parts []string
	office, floor, room := feedLocationParts(it)
	for _, s := range []string{office, floor, room} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// feedLocationParts are the parts of feedLocation, each trimmed (empty ones left out).
func feedLocationParts(it FeedItem) (office, floor, room string) {
	room = it.Room.Name
	if room == "" {
		room = it.R.RoomID
	}
	return strings.TrimSpace(feedText(it.Office.Name)), strings.TrimSpace(feedText(it.Room.Floor)), strings.TrimSpace(feedText(room))
}

func feedBackendName(b models.Backend) string {
	switch b {
	case models.BackendOA:
		return "OA"
	case models.BackendDingTalk:
		return "钉钉"
	}
	return feedText(string(b))
}

func feedOriginName(o models.Origin) string {
	if o == models.OriginBridge {
		return "roombridge"
	}
	return "直接预订"
}

// feedText makes s storable as an iCalendar TEXT value: valid UTF-8 without U+FFFD,
// CRLF and lone CR turned into LF, and no other control characters than tab and LF.
func feedText(s string) string {
	if feedTextClean(s) {
		return s
	}
	return feedTextCleaned(s)
}

// feedTextCleaned is feedText's work on a string that needs it.
func feedTextCleaned(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r', r == utf8.RuneError:
			return -1
		case r == '\t', r == '\n':
			return r
		case r < 0x20, r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// feedTextClean reports whether feedText would leave s as it is.
func feedTextClean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError {
			return false
		}
		i += n
	}
	return true
}

func icalRaw(name, value string) *ical.Prop {
	p := ical.NewProp(name)
	p.Value = value
	return p
}

// icalText sets an escaped TEXT value without the VALUE=TEXT that go-ical adds to
// properties it does not know as TEXT (every X- name).
func icalText(name, text string) *ical.Prop {
	p := ical.NewProp(name)
	p.SetText(text)
	p.Params.Del(ical.ParamValue)
	return p
}

func icalUTC(name string, t time.Time) *ical.Prop {
	return icalRaw(name, t.UTC().Format("20060102T150405Z"))
}

// icalLocal writes t as a wall clock with TZID=zone. RFC 5545 reads a wall clock that
// occurs twice (when clocks go back) as its first occurrence, so an instant in the second
// occurrence is written in UTC instead.
func icalLocal(name string, t time.Time, zone *time.Location) *ical.Prop {
	l := t.In(zone)
	if zone == time.UTC || !icalFirstOccurrence(l) {
		return icalUTC(name, t)
	}
	p := icalRaw(name, l.Format("20060102T150405"))
	p.Params.Set(ical.ParamTimezoneID, zone.String())
	return p
}

// firstOccurrence reports whether t's wall clock does not also name an earlier instant.
func icalFirstOccurrence(t time.Time) bool {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return true
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Second).Zone()
	return prev <= off || t.Sub(start) >= time.Duration(prev-off)*time.Second
}

// icalTimezone returns the VTIMEZONE of zone valid for every instant in [lo, hi]: one
// observance per offset in effect there. A zone with one offset throughout (Asia/Shanghai
// since 1991) gets the fixed block from 1970 on.
func icalTimezone(zone *time.Location, lo, hi time.Time) *ical.Component {
	type observance struct {
		onset    time.Time // zero: in effect before lo
		from, to int
		name     string
		dst      bool
	}
	t := lo.In(zone)
	start, end := t.ZoneBounds()
	name, off := t.Zone()
	obs := []observance{{onset: start, to: off, name: name, dst: t.IsDST()}}
	if !start.IsZero() {
		_, obs[0].from = start.Add(-time.Second).In(zone).Zone()
	}
	for i := 0; !end.IsZero() && !end.After(hi) && i < 1000; i++ {
		prev := obs[len(obs)-1].to
		t = end.In(zone)
		name, off = t.Zone()
		obs = append(obs, observance{onset: end, from: prev, to: off, name: name, dst: t.IsDST()})
		_, end = t.ZoneBounds()
	}
	if len(obs) == 1 || obs[0].onset.IsZero() || obs[0].onset.Year() < 1970 {
		obs[0].onset, obs[0].from = time.Time{}, obs[0].to
	}

	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.Set(icalText(ical.PropTimezoneID, zone.String()))
	for _, o := range obs {
		kind := ical.CompTimezoneStandard
		if o.dst {
			kind = ical.CompTimezoneDaylight
		}
		c := ical.NewComponent(kind)
		onset := "19700101T000000"
		if !o.onset.IsZero() {
			// DTSTART of an observance is the wall clock of its onset in the offset before it.
			onset = o.onset.UTC().Add(time.Duration(o.from) * time.Second).Format("20060102T150405")
		}
		c.Props.Set(icalRaw(ical.PropDateTimeStart, onset))
		c.Props.Set(icalRaw(ical.PropTimezoneOffsetFrom, icalOffset(o.from)))
		c.Props.Set(icalRaw(ical.PropTimezoneOffsetTo, icalOffset(o.to)))
		if n := feedText(o.name); n != "" {
			c.Props.Set(icalText(ical.PropTimezoneName, n))
		}
		tz.Children = append(tz.Children, c)
	}
	return tz
}

// icalOffset formats seconds east of UTC as an RFC 5545 UTC-OFFSET (+0800, -0330, +054517).
func icalOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// icalDuration formats a positive duration as an RFC 5545 DURATION (PT1H, P1D, PT1H30M).
func icalDuration(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	if sec <= 0 {
		sec = 1
	}
	var b strings.Builder
	b.WriteString("P")
	if days := sec / 86400; days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if rest := sec % 86400; rest > 0 {
		b.WriteString("T")
		if h := rest / 3600; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m := rest / 60 % 60; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if s := rest % 60; s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}

// foldICal folds encoded lines at 75 octets (RFC 5545 §3.1) without cutting a UTF-8
// sequence; a continuation line starts with a space, which counts toward its 75.
func foldICal(in []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(in) + len(in)/64*3)
	for _, l := range strings.SplitAfter(string(in), "\r\n") {
		if l = strings.TrimSuffix(l, "\r\n"); l == "" {
			continue
		}
		for limit := 75; len(l) > limit; limit = 74 {
			cut := limit
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			out.WriteString(l[:cut])
			out.WriteString("\r\n ")
			l = l[cut:]
		}
		out.WriteString(l)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

func feedMinTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func feedMaxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
