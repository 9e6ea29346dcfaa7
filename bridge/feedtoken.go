package bridge

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"roombridge/models"
)

const (
	// feedTouchEvery spaces out the writes of a token's last use: clients poll often.
	feedTouchEvery = 10 * time.Minute
	// feedExitLookback is how far before the window Render still reads rows, so that a
	// booking that slid out of the window within it moves Last-Modified. One that left
	// earlier goes unnoticed; it was a past booking, left behind in a client's cache.
	feedExitLookback = 7 * 24 * time.Hour
)

// Default feed window.
const (
	DefaultFeedPast  = 30 * 24 * time.Hour
	DefaultFeedAhead = 180 * 24 * time.Hour
)

// feedTokenEncoding writes tokens in URL-safe lowercase base32 without padding.
var feedTokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const (
	feedTokenBytes = 20 // 160 bits
	feedTokenLen   = 32 // its base32 length
)

// Feeds serves the per-user iCalendar subscriptions: it issues, lists, rotates and
// revokes feed tokens and renders the feed a token opens. Store and Zone are required;
// Now defaults to time.Now, KeepCancelled to DefaultKeepCancelled, Past and Ahead (the
// window around now) to DefaultFeedPast and DefaultFeedAhead, Refresh to
// DefaultFeedRefresh.
//
// In the all, room and office feeds a subscriber sees the title, description and
// organizer of the bookings they organise or attend; admins (Access) see every booking in
// detail, and ShowTitles shows every booking in detail to everyone. All other bookings
// show as BusySummary. BookingURL, when set, links events shown in detail to their page.
type Feeds struct {
	Store         *models.Store
	Zone          *time.Location
	Now           func() time.Time
	KeepCancelled time.Duration
	Past, Ahead   time.Duration
	Refresh       time.Duration
	Access        models.Access
	ShowTitles    bool
	BookingURL    func(id string) string
	// MaxTokens caps the active feed tokens of one user (DefaultMaxFeedTokens when zero).
	MaxTokens int
}

// DefaultMaxFeedTokens is how many active feed tokens one user may hold: one per device
// and calendar app is a handful; hundreds would only serve someone guessing or scraping.
const DefaultMaxFeedTokens = 20

func (f *Feeds) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

func feedDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// CreateToken issues a new feed token for userID with an optional label and returns the
// token (shown to the user once; only its hash is stored) and its row. Errors: ErrInvalid
// for an empty user id or a label that is too long or multi-line, ErrConflict (code
// "feed_token_limit") when the user already holds MaxTokens active tokens, ErrUnavailable.
func (f *Feeds) CreateToken(ctx context.Context, userID, label string) (string, models.FeedToken, error) {
	token, row, err := newFeedToken(userID, label)
	if err != nil {
		return "", models.FeedToken{}, err
	}
	held, err := f.Store.FeedTokens(ctx, userID)
	if err != nil {
		return "", models.FeedToken{}, fmt.Errorf("create feed token for %s: %w", userID, err)
	}
	if max := cmp.Or(f.MaxTokens, DefaultMaxFeedTokens); len(held) >= max {
		return "", models.FeedToken{}, models.E(models.ErrConflict, "feed_token_limit", "", models.ArgLimit, strconv.Itoa(len(held)))
	}
	t, err := f.Store.CreateFeedToken(ctx, row)
	if err != nil {
		return "", models.FeedToken{}, fmt.Errorf("create feed token for %s: %w", userID, err)
	}
	return token, t, nil
}

// Rotate revokes token id of userID and issues its replacement with the same label, in
// one transaction; the old URLs stop working at once. Errors: ErrNotFound when userID has
// no such active token, ErrUnavailable.
func (f *Feeds) Rotate(ctx context.Context, userID, id string) (string, models.FeedToken, error) {
	token, row, err := newFeedToken(userID, "")
	if err != nil {
		return "", models.FeedToken{}, err
	}
	t, err := f.Store.RotateFeedToken(ctx, userID, id, row)
	if err != nil {
		return "", models.FeedToken{}, fmt.Errorf("rotate feed token %s of %s: %w", id, userID, err)
	}
	return token, t, nil
}

// Revoke revokes token id of userID. Errors: ErrNotFound when userID has no such active
// token (another user's token counts as unknown), ErrUnavailable.
func (f *Feeds) Revoke(ctx context.Context, userID, id string) error {
	if err := f.Store.RevokeFeedToken(ctx, userID, id); err != nil {
		return fmt.Errorf("revoke feed token %s of %s: %w", id, userID, err)
	}
	return nil
}

// Tokens lists the active feed tokens of userID, oldest first. Errors: ErrUnavailable.
func (f *Feeds) Tokens(ctx context.Context, userID string) ([]models.FeedToken, error) {
	ts, err := f.Store.FeedTokens(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list feed tokens of %s: %w", userID, err)
	}
	return ts, nil
}

func newFeedToken(userID, label string) (string, models.FeedToken, error) {
	if strings.TrimSpace(userID) == "" {
		return "", models.FeedToken{}, fmt.Errorf("%w: feed token needs a user", models.ErrInvalid)
	}
	label = strings.TrimSpace(label)
	if strings.ContainsAny(label, "\r\n") || !utf8.ValidString(label) {
		return "", models.FeedToken{}, models.E(models.ErrInvalid, "label_multiline", "label")
	}
	var b [feedTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", models.FeedToken{}, fmt.Errorf("draw feed token: %w", err)
	}
	token := feedTokenEncoding.EncodeToString(b[:])
	row := models.FeedToken{ID: models.NewID(), UserID: userID, TokenHash: models.FeedTokenHash(token), Label: label}
	if err := row.Validate(); err != nil {
		return "", models.FeedToken{}, err
	}
	return token, row, nil
}

// Render builds the feed that token opens for scope (models.FeedAll, FeedMe, FeedRooms
// or FeedOffices) and id (the room or office id; empty otherwise). Errors: ErrNotFound for an
// unknown or revoked token, an unknown scope, room or office, ErrForbidden for a token
// whose owner left the catalog, ErrInvalid for a bad configuration, ErrUnavailable. The
// error never contains the token.
func (f *Feeds) Render(ctx context.Context, token string, scope models.FeedScope, id string) (models.Feed, error) {
	tok, err := f.lookup(ctx, token)
	if err != nil {
		return models.Feed{}, err
	}
	now := f.now().UTC().Truncate(time.Second)
	offices, err := f.Store.Offices(ctx)
	if err != nil {
		return models.Feed{}, fmt.Errorf("render feed: %w", err)
	}
	officeByID, roomByID := map[string]models.Office{}, map[string]models.Room{}
	for _, o := range offices {
		officeByID[o.ID] = o
		for _, r := range o.Rooms {
			roomByID[r.ID] = r
		}
	}

	user := tok.UserID
	spec := FeedSpec{
		Zone: f.Zone, Now: now, Refresh: f.Refresh, URL: f.BookingURL,
		KeepCancelled: feedDuration(f.KeepCancelled, DefaultKeepCancelled),
		From:          now.Add(-feedDuration(f.Past, DefaultFeedPast)),
		To:            now.Add(feedDuration(f.Ahead, DefaultFeedAhead)),
	}
	filter := models.Filter{From: spec.From.Add(-feedExitLookback), To: spec.To}
	var filename string
	switch {
	case scope == models.FeedAll && id == "":
		spec.Name, spec.Description, filename = "roombridge · 全部会议室", "所有职场会议室的预订（OA 与钉钉）", "all.ics"
	case scope == models.FeedMe && id == "":
		spec.Name, spec.Description, filename = "roombridge · 我的预订", "我预订或参加的会议室预订（OA 与钉钉）", "me.ics"
	case scope == models.FeedRooms && id != "":
		room, ok := roomByID[id]
		if !ok {
			if room, err = f.Store.Room(ctx, id); err != nil {
				return models.Feed{}, fmt.Errorf("render room feed: %w", err)
			}
		}
		o := officeByID[room.OfficeID]
		spec.Name = "roombridge · " + strings.TrimSpace(o.Name+" "+room.Name)
		spec.Description = feedLocation(FeedItem{Room: room, Office: o}) + " 的预订（OA 与钉钉）"
		filename = "room-" + feedFileName(room.ID) + ".ics"
		filter.RoomIDs = []string{room.ID}
		roomByID[room.ID] = room
	case scope == models.FeedOffices && id != "":
		o, ok := officeByID[id]
		if !ok {
			return models.Feed{}, fmt.Errorf("render office feed: office %s: %w", id, models.ErrNotFound)
		}
		spec.Name, spec.Description = "roombridge · "+o.Name, o.Name+"所有会议室的预订（OA 与钉钉）"
		filename = "office-" + feedFileName(o.ID) + ".ics"
		for _, r := range o.Rooms {
			filter.RoomIDs = append(filter.RoomIDs, r.ID)
		}
	default:
		return models.Feed{}, fmt.Errorf("render feed: scope %q: %w", scope, models.ErrNotFound)
	}

	var rows []models.Reservation
	if scope != models.FeedOffices || len(filter.RoomIDs) > 0 {
		if rows, err = f.Store.Reservations(ctx, filter); err != nil {
			return models.Feed{}, fmt.Errorf("render feed %s: %w", filename, err)
		}
	}
	us, err := f.Store.Users(ctx)
	if err != nil {
		return models.Feed{}, fmt.Errorf("render feed %s: %w", filename, err)
	}
	users := map[string]string{}
	for _, u := range us {
		users[u.ID] = u.Name
	}
	series, err := f.seriesOf(ctx, rows)
	if err != nil {
		return models.Feed{}, fmt.Errorf("render feed %s: %w", filename, err)
	}

	var all, shown []FeedItem
	for _, r := range rows {
		room, ok := roomByID[r.RoomID]
		if !ok {
			room = models.Room{ID: r.RoomID, Name: r.RoomID}
		}
		it := FeedItem{R: r, Room: room, Office: officeByID[room.OfficeID], OrganizerName: users[r.OrganizerID],
			Details: f.ShowTitles || f.Access.MaySee(user, r)}
		if r.OrganizerName != "" {
			it.OrganizerName = r.OrganizerName
		}
		if ser, ok := series[r.Series()]; ok {
			it.Series = &ser
		}
		if it.Mine = r.Involves(user); it.Mine {
			for _, a := range r.Attendees {
				it.Attendees = append(it.Attendees, FeedPerson{ID: a, Name: users[a]})
			}
		}
		// Every row read counts for Last-Modified: a booking the user just left (removed
		// from its attendees) leaves the me feed at its UpdatedAt.
		all = append(all, it)
		if scope == models.FeedMe && !r.Involves(user) {
			continue
		}
		shown = append(shown, it)
	}
	body, err := BuildFeed(spec, shown)
	if err != nil {
		return models.Feed{}, fmt.Errorf("render feed %s: %w", filename, err)
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= feedTouchEvery {
		if err := f.Store.TouchFeedToken(ctx, tok.ID, now); err != nil {
			return models.Feed{}, fmt.Errorf("render feed %s: %w", filename, err)
		}
	}
	return models.Feed{Body: body, ETag: FeedETag(body), LastModified: FeedLastModified(spec, all), Filename: filename}, nil
}

// seriesOf loads the series the rows are occurrences of, by id.
func (f *Feeds) seriesOf(ctx context.Context, rows []models.Reservation) (map[string]models.Series, error) {
	var ids []string
	for _, r := range rows {
		if id := r.Series(); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return f.Store.SeriesByIDs(ctx, ids)
}

// lookup finds the active token. Only the token's hash reaches the database.
func (f *Feeds) lookup(ctx context.Context, token string) (models.FeedToken, error) {
	if len(token) != feedTokenLen {
		return models.FeedToken{}, fmt.Errorf("find feed token: %w", models.ErrNotFound)
	}
	if _, err := feedTokenEncoding.DecodeString(token); err != nil {
		return models.FeedToken{}, fmt.Errorf("find feed token: %w", models.ErrNotFound)
	}
	hash := models.FeedTokenHash(token)
	t, err := f.Store.FeedTokenByHash(ctx, hash)
	if err != nil {
		return models.FeedToken{}, fmt.Errorf("find feed token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(t.TokenHash), []byte(hash)) != 1 || !t.Active() {
		return models.FeedToken{}, fmt.Errorf("find feed token: %w", models.ErrNotFound)
	}
	if _, err := f.Store.ActiveUser(ctx, t.UserID); errors.Is(err, models.ErrNotFound) {
		return models.FeedToken{}, models.E(models.ErrForbidden, "feed_owner_removed", "").Wrap(err)
	} else if err != nil {
		return models.FeedToken{}, fmt.Errorf("find feed token owner: %w", err)
	}
	return t, nil
}

// feedFileName keeps the characters of id that are safe in a Content-Disposition
// filename.
func feedFileName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, id)
}
