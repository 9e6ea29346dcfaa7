package bridge

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
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

	cache feedCache
	// buildParts says how many parts a build of that many rows is read in
	// (feedBuildParts when nil).
	buildParts func(rows int) int
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
	if models.HasControl(label, "") {
		return "", models.FeedToken{}, models.E(models.ErrInvalid, "control_characters", "label")
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

// feedTokenHash checks the form of a token and returns its hash: only the hash reaches
// the database. A malformed token is ErrNotFound like an unknown one.
func feedTokenHash(token string) (string, error) {
	if len(token) != feedTokenLen {
		return "", fmt.Errorf("find feed token: %w", models.ErrNotFound)
	}
	if _, err := feedTokenEncoding.DecodeString(token); err != nil {
		return "", fmt.Errorf("find feed token: %w", models.ErrNotFound)
	}
	return models.FeedTokenHash(token), nil
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
