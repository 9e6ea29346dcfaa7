package bridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	return assembleFeed(spec, shown, func(it FeedItem) ([]byte, error) { return appendEvent(nil, spec, it) })
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

// assembleFeed writes the calendar of the items shown (already picked and sorted by
// feedShown), taking each single booking's folded bytes from event. A series is written
// where its first shown occurrence sorts: its master event and overrides, encoded with
// go-ical (feedSeriesEvents).
func assembleFeed(spec FeedSpec, shown []FeedItem, event func(FeedItem) ([]byte, error)) ([]byte, error) {
	head, groups, err := feedHead(spec, shown)
	if err != nil {
		return nil, err
	}
	evs := make([][]byte, 0, len(shown))
	size := len(head) + len(feedTail)
	done := map[string]bool{}
	for _, it := range shown {
		var ev []byte
		if it.Series != nil {
			if done[it.Series.ID] {
				continue
			}
			done[it.Series.ID] = true
			if ev, err = feedSeriesBytes(spec, groups[it.Series.ID]); err != nil {
				return nil, err
			}
		} else if ev, err = event(it); err != nil {
			return nil, err
		}
		evs = append(evs, ev)
		size += len(ev)
	}
	out := make([]byte, 0, size)
	out = append(out, head...)
	for _, ev := range evs {
		out = append(out, ev...)
	}
	return append(out, feedTail...), nil
}

const feedTail = "END:VCALENDAR\r\n"

// feedHead is the folded calendar up to its first event: properties and the VTIMEZONE
// valid over the shown events (a series' whole pattern included). It also returns the
// shown series, by id.
func feedHead(spec FeedSpec, shown []FeedItem) ([]byte, map[string]*feedGroup, error) {
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

	lo, hi := spec.Now, spec.Now
	if len(shown) > 0 {
		lo, hi = shown[0].R.Start, shown[0].R.End
		for _, it := range shown {
			lo, hi = feedMinTime(lo, it.R.Start), feedMaxTime(hi, it.R.End)
		}
	}
	groups, err := feedSeriesGroups(spec, shown)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range groups {
		lo, hi = feedMinTime(lo, g.lo), feedMaxTime(hi, g.hi)
	}
	// The VTIMEZONE also keeps an empty calendar encodable (go-ical refuses one with no
	// child) and valid.
	cal.Children = append(cal.Children, icalTimezone(spec.Zone, lo, hi))
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, nil, fmt.Errorf("encode feed %q: %w", spec.Name, err)
	}
	head, ok := bytes.CutSuffix(foldICal(buf.Bytes()), []byte(feedTail))
	if !ok {
		return nil, nil, fmt.Errorf("encode feed %q: calendar does not end with END:VCALENDAR", spec.Name)
	}
	return head, groups, nil
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
	consider := func(t time.Time) {
		if !t.IsZero() && !t.After(spec.Now) && t.After(last) {
			last = t
		}
	}
	for _, it := range items {
		r := it.R
		changed := feedChanged(r)
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
	}
	return last.UTC().Truncate(time.Second)
}

// FeedETag returns a strong HTTP ETag for a feed body: the quoted hex of the first 16
// bytes of its SHA-256.
func FeedETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

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
func feedChanged(r models.Reservation) time.Time {
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
		switch {
		case r.Status.Holds():
		case r.Status == models.StatusCancelled:
			if !spec.Now.Before(feedChanged(r).Add(spec.keep())) {
				continue
			}
		default:
			continue
		}
		if !spec.To.IsZero() && !r.Start.Before(spec.To) || !spec.From.IsZero() && !r.End.After(spec.From) {
			continue
		}
		if r.UID == "" {
			return nil, fmt.Errorf("%w: reservation %s has no UID", models.ErrInvalid, r.ID)
		}
		if feedChanged(r).IsZero() {
			return nil, fmt.Errorf("%w: reservation %s has no change time", models.ErrInvalid, r.ID)
		}
		if r.End.Before(r.Start) {
			return nil, fmt.Errorf("%w: reservation %s ends before it starts", models.ErrInvalid, r.ID)
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

// feedNewer reports whether a should win over b when two rows share a UID.
func feedNewer(a, b models.Reservation) bool {
	if a.Sequence != b.Sequence {
		return a.Sequence > b.Sequence
	}
	if ca, cb := feedChanged(a), feedChanged(b); !ca.Equal(cb) {
		return ca.After(cb)
	}
	return a.ID > b.ID
}

// appendEvent appends the folded VEVENT of it to dst. Properties come in name order, as
// go-ical writes them, so a feed reads the same whichever way its events were made.
func appendEvent(dst []byte, spec FeedSpec, it FeedItem) ([]byte, error) {
	r := it.R
	w := eventWriter{out: dst}
	w.line("BEGIN", "", "VEVENT")
	backend, origin := feedBackendName(r.Backend), feedOriginName(r.Origin)
	changed := feedChanged(r)
	source := "来源：" + backend + "（直接预订）"
	if r.Origin == models.OriginBridge {
		source = "来源：" + backend + "（经 roombridge 预订）"
	}
	room := it.Room.Name
	if room == "" {
		room = r.RoomID
	}
	summary, description, link := BusyTitle(room), source, ""
	if it.Details {
		summary = feedText(r.Title)
		if strings.TrimSpace(summary) == "" {
			summary = "（无主题）"
		}
		var desc []string
		if d := strings.TrimSpace(feedText(r.Description)); d != "" {
			desc = append(desc, d, "")
		}
		organizer := it.OrganizerName
		if organizer == "" {
			organizer = r.OrganizerName
		}
		if organizer = strings.TrimSpace(feedText(organizer)); organizer != "" {
			desc = append(desc, "预订人："+organizer)
		}
		if spec.URL != nil {
			if u := spec.URL(r.ID); u != "" {
				parsed, err := url.Parse(u)
				if err != nil || !parsed.IsAbs() || strings.ContainsAny(u, "\r\n\" ") {
					return nil, fmt.Errorf("%w: booking link %q for reservation %s is not an absolute URL", models.ErrInvalid, u, r.ID)
				}
				link = u
			}
		}
		if it.Mine {
			var names []string
			for _, a := range it.Attendees {
				name := strings.TrimSpace(feedText(a.Name))
				if name == "" {
					name = feedText(a.ID)
				}
				names = append(names, name)
				// A catalog user has no e-mail address here: the cal-address is a URN of
				// the user id. A parameter value may not hold a double quote (RFC 5545
				// §3.1); one holding ;:, is quoted, as go-ical does.
				cn := strings.ReplaceAll(name, `"`, "'")
				if strings.ContainsAny(cn, ";:,") {
					cn = `"` + cn + `"`
				}
				w.line("ATTENDEE", "CN="+cn+";ROLE=REQ-PARTICIPANT", "urn:x-roombridge:user:"+url.PathEscape(a.ID))
			}
			if len(names) > 0 {
				desc = append(desc, "参会人："+strings.Join(names, "、"))
			}
			// Many calendar apps do not show URL: the link goes into the text as well.
			if link != "" {
				desc = append(desc, "预订页面："+link)
			}
		}
		desc = append(desc, source)
		description = strings.Join(desc, "\n")
	}
	w.text("CATEGORIES", backend, origin)
	if !r.CreatedAt.IsZero() {
		w.utc("CREATED", r.CreatedAt)
	}
	w.text("DESCRIPTION", description)
	w.local("DTEND", r.End, spec.Zone)
	w.utc("DTSTAMP", changed)
	w.local("DTSTART", r.Start, spec.Zone)
	w.utc("LAST-MODIFIED", changed)
	if loc := feedLocation(it); loc != "" {
		w.text("LOCATION", loc)
	}
	w.line("SEQUENCE", "", strconv.Itoa(max(r.Sequence, 0)))
	switch r.Status {
	case models.StatusConfirmed:
		w.line("STATUS", "", "CONFIRMED")
	case models.StatusCancelled:
		w.line("STATUS", "", "CANCELLED")
	default:
		w.line("STATUS", "", "TENTATIVE")
	}
	w.text("SUMMARY", summary)
	transp := "TRANSPARENT"
	if it.Mine && r.Status.Holds() {
		transp = "OPAQUE"
	}
	w.line("TRANSP", "", transp)
	w.text("UID", feedText(r.UID))
	if link != "" {
		w.line("URL", "", link)
	}
	w.line("END", "", "VEVENT")
	return w.out, nil
}

// eventWriter writes content lines folded at 75 octets.
type eventWriter struct {
	out, buf []byte
}

// lineOf writes "name[;params]:value".
func (w *eventWriter) lineOf(name, params, value string) {
	l := append(w.buf[:0], name...)
	if params != "" {
		l = append(l, ';')
		l = append(l, params...)
	}
	l = append(l, ':')
	l = append(l, value...)
	w.buf = l
	w.out = foldLine(w.out, l)
}

func (w *eventWriter) line(name, params, value string) { w.lineOf(name, params, value) }

// text writes a TEXT value (a list when more than one), escaped as RFC 5545 §3.3.11 asks.
func (w *eventWriter) text(name string, values ...string) {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(icalEscape(v))
	}
	w.lineOf(name, "", b.String())
}

func (w *eventWriter) utc(name string, t time.Time) {
	w.lineOf(name, "", t.UTC().Format("20060102T150405Z"))
}

// local writes t as a wall clock with TZID=zone, or in UTC where the wall clock would
// name an earlier instant (see icalLocal).
func (w *eventWriter) local(name string, t time.Time, zone *time.Location) {
	l := t.In(zone)
	if zone == time.UTC || !icalFirstOccurrence(l) {
		w.utc(name, t)
		return
	}
	tz := zone.String()
	if strings.ContainsAny(tz, ";:,") {
		tz = `"` + tz + `"`
	}
	w.lineOf(name, "TZID="+tz, l.Format("20060102T150405"))
}

// icalEscape escapes a TEXT value: backslash, semicolon and comma get a backslash, a
// line feed becomes \n.
func icalEscape(s string) string {
	if !strings.ContainsAny(s, "\\;,\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ';', ',':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString("\\n")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
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
	room := it.Room.Name
	if room == "" {
		room = it.R.RoomID
	}
	var parts []string
	for _, s := range []string{it.Office.Name, it.Room.Floor, room} {
		if s = strings.TrimSpace(feedText(s)); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
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
