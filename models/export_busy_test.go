package models

// SetMaxOpenMembers sets how many reservations in open conflicts RoomBusy keeps, until
// the function it returns puts the default back.
func SetMaxOpenMembers(n int) (restore func()) {
	old := maxOpenMembers
	maxOpenMembers = n
	return func() { maxOpenMembers = old }
}
