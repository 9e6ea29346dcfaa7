package dingtalk_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

func TestUnionID(t *testing.T) {
	tests := []struct {
		name       string
		userID     string
		fault      *dingtalkfake.Fault
		want       string
		wantErr    error
		wantSleeps int
	}{
		{name: "known user", userID: "u-bob", want: "union-bob"},
		{name: "unknown user", userID: "u-ghost", wantErr: models.ErrNotFound},
		{name: "no user id", userID: "", wantErr: models.ErrInvalid},
		{
			name:       "old API throttled once",
			userID:     "u-alice",
			fault:      &dingtalkfake.Fault{Kind: dingtalkfake.FaultThrottle, API: dingtalkfake.APIGetUser, Times: 1},
			want:       "union-alice",
			wantSleeps: 1,
		},
		{
			name:       "old API busy once",
			userID:     "u-alice",
			fault:      &dingtalkfake.Fault{Kind: dingtalkfake.FaultBusy, API: dingtalkfake.APIGetUser, Times: 1},
			want:       "union-alice",
			wantSleeps: 1,
		},
		{
			name:    "permission missing (errcode 88, sub_code 60011)",
			userID:  "u-alice",
			fault:   &dingtalkfake.Fault{Kind: dingtalkfake.FaultPermissionDenied, API: dingtalkfake.APIGetUser, Times: 1},
			wantErr: models.ErrForbidden,
		},
		{
			name:   "token expired once",
			userID: "u-alice",
			fault:  &dingtalkfake.Fault{Kind: dingtalkfake.FaultTokenExpired, API: dingtalkfake.APIGetUser, Times: 1},
			want:   "union-alice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testRooms(1))
			if tt.fault != nil {
				e.fake.SetFault(*tt.fault)
			}
			got, err := e.client.UnionID(context.Background(), tt.userID)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("UnionID(%q) = %q, %v, want %q, %v", tt.userID, got, err, tt.want, tt.wantErr)
			}
			if sleeps := e.recordedSleeps(); len(sleeps) != tt.wantSleeps {
				t.Errorf("backoff sleeps = %v, want %d", sleeps, tt.wantSleeps)
			}
		})
	}
}

func TestUnionIDIsCached(t *testing.T) {
	e := newEnv(t, testRooms(1))
	for range 3 {
		if got, err := e.client.UnionID(context.Background(), "u-bob"); got != "union-bob" || err != nil {
			t.Fatalf("UnionID(u-bob) = %q, %v, want union-bob, nil", got, err)
		}
	}
	if calls := e.fake.Calls(dingtalkfake.APIGetUser); calls != 1 {
		t.Errorf("user lookups = %d, want 1", calls)
	}
}

// errcode 88 with sub_code 60011 names the missing permission for the admin.
func TestUnionIDPermissionNamed(t *testing.T) {
	e := newEnv(t, testRooms(1))
	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultPermissionDenied, API: dingtalkfake.APIGetUser, Permission: "qyapi_get_member"})
	_, err := e.client.UnionID(context.Background(), "u-alice")
	if got := dingtalk.MissingPermission(err); got != "qyapi_get_member" {
		t.Errorf("MissingPermission(%v) = %q, want qyapi_get_member", err, got)
	}
	if !strings.Contains(err.Error(), "qyapi_get_member") {
		t.Errorf("error %q does not name the permission", err)
	}
	if n := e.fake.Calls(dingtalkfake.APIGetUser); n != 1 {
		t.Errorf("user lookups = %d, want 1 (a missing permission is not retried)", n)
	}
}
