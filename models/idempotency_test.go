package models

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"", true},
		{"a1b2-c3", true},
		{"预订-1", true},
		{strings.Repeat("k", MaxIdempotencyKeyLen), true},
		{strings.Repeat("k", MaxIdempotencyKeyLen+1), false},
		{"k\xff\xfe", false},
		{"k\x00", false},
		{"k\x1b[0m", false},
	} {
		err := CheckIdempotencyKey(tc.key)
		if tc.ok != (err == nil) {
			t.Errorf("CheckIdempotencyKey(%q) = %v, want ok %v", tc.key, err, tc.ok)
		}
		if err != nil && (!errors.Is(err, ErrInvalid) || UserError(err).Code != "bad_idempotency_key") {
			t.Errorf("CheckIdempotencyKey(%q) = %v, want ErrInvalid bad_idempotency_key", tc.key, err)
		}
	}
}
