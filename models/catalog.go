package models

import (
	_ "embed"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Office is a workplace (职场) with its rooms, e.g. 北京首开.
type Office struct {
	ID   string `gorm:"primaryKey" yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// NameEn is the English form of Name (empty: none), shown by the English UI.
	NameEn   string `gorm:"column:name_en" yaml:"name_en" json:"name_en,omitempty"`
	Position int    `yaml:"-" json:"-"`
	Rooms    []Room `gorm:"-" yaml:"rooms" json:"-"`
}

// Room is one physical meeting room and its ids in both backends.
type Room struct {
	ID             string `gorm:"primaryKey" yaml:"id" json:"id"`
	OfficeID       string `yaml:"-" json:"office_id"`
	Name           string `yaml:"name" json:"name"`
	NameEn         string `gorm:"column:name_en" yaml:"name_en" json:"name_en,omitempty"`
	Floor          string `yaml:"floor" json:"floor"`
	Capacity       int    `yaml:"capacity" json:"capacity"`
	OARoomID       string `gorm:"column:oa_room_id" yaml:"oa_room_id" json:"-"`
	DingTalkRoomID string `gorm:"column:dingtalk_room_id" yaml:"dingtalk_room_id" json:"-"`
	Position       int    `yaml:"-" json:"-"`
	BookingVersion int64  `yaml:"-" json:"-"`
}

// RemoteID returns the room's id in backend b, or "" when the room is not mapped there.
func (r Room) RemoteID(b Backend) string {
	switch b {
	case BackendOA:
		return r.OARoomID
	case BackendDingTalk:
		return r.DingTalkRoomID
	}
	return ""
}

// User is a member of staff as the catalog knows them.
type User struct {
	ID              string `gorm:"primaryKey" yaml:"id" json:"id"`
	Name            string `yaml:"name" json:"name"`
	OALogin         string `gorm:"column:oa_login" yaml:"oa_login" json:"-"`
	DingTalkUnionID string `gorm:"column:dingtalk_union_id" yaml:"dingtalk_union_id" json:"-"`
	DingTalkUserID  string `gorm:"column:dingtalk_user_id" yaml:"dingtalk_user_id" json:"-"`
	// Removed marks a user who is no longer in the catalog: kept for the reservations
	// that name them, refused everywhere else.
	Removed bool `gorm:"column:removed" yaml:"-" json:"-"`
}

// Catalog is the static configuration of offices, rooms and users (the YAML file named by
// ROOMBRIDGE_CATALOG, or the built-in demo catalog).
type Catalog struct {
	Offices []Office `yaml:"offices"`
	Users   []User   `yaml:"users"`
}

//go:embed demo_catalog.yaml
var demoCatalog []byte

// DemoCatalog returns the built-in catalog: four offices, their rooms and a few users.
func DemoCatalog() Catalog {
	c, err := ParseCatalog(demoCatalog)
	if err != nil {
		panic("built-in catalog: " + err.Error()) // embedded data; a test keeps it valid
	}
	return c
}

// LoadCatalog reads and validates a catalog file. Errors are ErrInvalid.
func LoadCatalog(path string) (Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Catalog{}, fmt.Errorf("read catalog %s: %w", path, err)
	}
	c, err := ParseCatalog(b)
	if err != nil {
		return Catalog{}, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog decodes YAML, fills in derived fields and validates. Errors are ErrInvalid.
func ParseCatalog(b []byte) (Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Catalog{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	for i := range c.Offices {
		c.Offices[i].Position = i
		for j := range c.Offices[i].Rooms {
			c.Offices[i].Rooms[j].OfficeID = c.Offices[i].ID
			c.Offices[i].Rooms[j].Position = j
		}
	}
	return c, c.Validate()
}

// Validate checks ids are present and unique and names are set. Errors are ErrInvalid.
func (c Catalog) Validate() error {
	if len(c.Offices) == 0 {
		return fmt.Errorf("%w: no offices", ErrInvalid)
	}
	offices, rooms, users := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, o := range c.Offices {
		if o.ID == "" || o.Name == "" {
			return fmt.Errorf("%w: an office needs id and name", ErrInvalid)
		}
		if offices[o.ID] {
			return fmt.Errorf("%w: office id %q appears twice", ErrInvalid, o.ID)
		}
		offices[o.ID] = true
		for _, r := range o.Rooms {
			if r.ID == "" || r.Name == "" {
				return fmt.Errorf("%w: a room of office %q needs id and name", ErrInvalid, o.ID)
			}
			if rooms[r.ID] {
				return fmt.Errorf("%w: room id %q appears twice", ErrInvalid, r.ID)
			}
			if len(r.ID) > 64 {
				return fmt.Errorf("%w: room id %q is longer than 64 characters", ErrInvalid, r.ID)
			}
			rooms[r.ID] = true
		}
	}
	for _, u := range c.Users {
		if u.ID == "" || u.Name == "" {
			return fmt.Errorf("%w: a user needs id and name", ErrInvalid)
		}
		if users[u.ID] {
			return fmt.Errorf("%w: user id %q appears twice", ErrInvalid, u.ID)
		}
		users[u.ID] = true
	}
	return nil
}

// Rooms returns every room of every office, in catalog order.
func (c Catalog) Rooms() []Room {
	var out []Room
	for _, o := range c.Offices {
		out = append(out, o.Rooms...)
	}
	return out
}
