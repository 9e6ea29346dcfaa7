package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxFeedTokenLabelRunes is the longest label a feed token may carry.
const MaxFeedTokenLabelRunes = 100

// FeedToken is a per-user secret that opens that user's calendar feeds. The token itself
// is shown once when it is made; only its hash (FeedTokenHash) is stored.
type FeedToken struct {
	ID         string     `gorm:"primaryKey" json:"id"`
	UserID     string     `json:"user_id"`
	TokenHash  string     `json:"-"`
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the token still opens feeds.
func (t FeedToken) Active() bool { return t.RevokedAt == nil }

// FeedTokenHash returns the stored form of a feed token: the lowercase hex SHA-256 of it.
func FeedTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Validate checks a token row before it is stored. Errors are ErrInvalid.
func (t FeedToken) Validate() error {
	switch {
	case t.UserID == "" || len(t.UserID) > 64:
		return fmt.Errorf("%w: feed token needs a user id of 1 to 64 bytes", ErrInvalid)
	case !isLowerHex(t.TokenHash, 64):
		return fmt.Errorf("%w: feed token hash must be 64 lowercase hex digits", ErrInvalid)
	case !utf8.ValidString(t.Label) || utf8.RuneCountInString(t.Label) > MaxFeedTokenLabelRunes:
		return E(ErrInvalid, "label_too_long", "label", ArgLimit, strconv.Itoa(MaxFeedTokenLabelRunes))
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
