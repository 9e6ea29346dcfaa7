package web

import (
	"context"
	"errors"

	"roombridge/models"
)

// roomJSON is one room in GET /api/v1/rooms.
type roomJSON struct {
	ID       string `json:"id"`
	OfficeID string `json:"office_id"`
	Office   string `json:"office"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en,omitempty"`
	Floor    string `json:"floor"`
	Capacity int    `json:"capacity"`
}

// roomJSON is a room as the API shows it.
func (s *server) roomJSON(l lang, o models.Office, r models.Room) roomJSON {
	return roomJSON{ID: r.ID, OfficeID: o.ID, Office: o.Name, Name: r.Name, NameEn: r.NameEn, Floor: r.Floor, Capacity: r.Capacity}
}

// place is a room with the name of its office.
type place struct {
	Room   models.Room
	Office models.Office
}

// places indexes every room by id, with its office's name.
func (s *server) places(ctx context.Context) (map[string]place, error) {
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]place{}
	for _, o := range offices {
		for _, r := range o.Rooms {
			out[r.ID] = place{Room: r, Office: o}
		}
	}
	return out, nil
}

// checkRoom returns a 404 user error (field room_id) when a room id is given but does not
// exist. An empty id is left to the booking rules ("choose a room").
func (s *server) checkRoom(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := s.store.Room(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return models.E(models.ErrNotFound, "unknown_room", "room_id").Wrap(err)
	}
	return err
}

// roomName is the room's name in l: its English form in the English UI when the catalog
// gives one.
func roomName(l lang, r models.Room) string {
	if l == langEN && r.NameEn != "" {
		return r.NameEn
	}
	return r.Name
}

// officeTitle is the office's name in l, like roomName.
func officeTitle(l lang, o models.Office) string {
	if l == langEN && o.NameEn != "" {
		return o.NameEn
	}
	return o.Name
}
