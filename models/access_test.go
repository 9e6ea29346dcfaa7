package models

import "testing"

func TestAccess(t *testing.T) {
	policy := NewAccess("admin")
	r := Reservation{ID: "r1", OrganizerID: "zhangsan", Attendees: StringList{"lisi"}}
	tests := []struct {
		who                 string
		user                string
		see, change, cancel bool
		admin               bool
	}{
		{"organizer", "zhangsan", true, true, true, false},
		{"attendee", "lisi", true, false, false, false},
		{"other staff", "wangwu", false, false, false, false},
		{"admin", "admin", true, true, true, true},
		{"anonymous", "", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			if got := policy.MaySee(tt.user, r); got != tt.see {
				t.Errorf("MaySee(%q) = %v, want %v", tt.user, got, tt.see)
			}
			if got := policy.MayChange(tt.user, r); got != tt.change {
				t.Errorf("MayChange(%q) = %v, want %v", tt.user, got, tt.change)
			}
			if got := policy.MayCancel(tt.user, r); got != tt.cancel {
				t.Errorf("MayCancel(%q) = %v, want %v", tt.user, got, tt.cancel)
			}
			if got := policy.IsAdmin(tt.user); got != tt.admin {
				t.Errorf("IsAdmin(%q) = %v, want %v", tt.user, got, tt.admin)
			}
			if err := policy.CheckChange(tt.user, r); (err == nil) != tt.change || (err != nil && UserError(err).Code != "not_organizer") {
				t.Errorf("CheckChange(%q) = %v, want allowed %v or not_organizer", tt.user, err, tt.change)
			}
			if err := policy.CheckCancel(tt.user, r); (err == nil) != tt.cancel {
				t.Errorf("CheckCancel(%q) = %v, want allowed %v", tt.user, err, tt.cancel)
			}
		})
	}
	if (Access{}).IsAdmin("admin") || (Access{}).MaySee("admin", r) {
		t.Error("the zero Access has an admin")
	}
}
