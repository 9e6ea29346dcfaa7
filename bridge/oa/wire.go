package oa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
)

// Wire layouts. Request parameters are Seeyon-local strings without a zone.
const (
	layoutSecond = "2006-01-02 15:04:05"
	layoutMinute = "2006-01-02 15:04"
	layoutDay    = "2006-01-02"
)

// id is a Seeyon id (a Java long) as it appears on the wire: a JSON number or a
// JSON string. It is kept as its decimal text, so it never passes through float64.
type id string

func (v *id) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return fmt.Errorf("seeyon id %s: %w", b, err)
	}
	if s == "" {
		*v = ""
		return nil
	}
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return fmt.Errorf("seeyon id %s is not a 64-bit integer", b)
	}
	*v = id(s)
	return nil
}

// num is an integer that Seeyon may send as a number or as a string.
type num int64

func (v *num) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return fmt.Errorf("seeyon number %s: %w", b, err)
	}
	if s == "" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("seeyon number %s is not an integer", b)
	}
	*v = num(n)
	return nil
}

// flag is a boolean that Seeyon may send as true/false, "true"/"false" or 1/0.
type flag bool

func (v *flag) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return fmt.Errorf("seeyon flag %s: %w", b, err)
	}
	switch strings.ToLower(s) {
	case "true", "1":
		*v = true
	case "false", "0", "":
		*v = false
	default:
		return fmt.Errorf("seeyon flag %s is not a boolean", b)
	}
	return nil
}

// wireTime is a point in time as Seeyon writes it: epoch milliseconds (a number or
// a string of digits) or a local "yyyy-MM-dd HH:mm[:ss]" string. The zone is only
// known to the client, so conversion happens in in.
type wireTime struct {
	text string
}

func (v *wireTime) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return fmt.Errorf("seeyon time %s: %w", b, err)
	}
	v.text = s
	return nil
}

// in returns the time in zone; the zero time if Seeyon sent nothing.
func (v wireTime) in(zone *time.Location) (time.Time, error) {
	s := strings.TrimSpace(v.text)
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).In(zone), nil
	}
	for _, layout := range []string{layoutSecond, layoutMinute, layoutSecond + ".0", layoutDay} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("seeyon time %q has no known layout", s)
}

// scalarText returns the text of a JSON string, number, boolean or null ("" for
// null). Numbers keep their exact digits.
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return strings.TrimSpace(s), nil
	case b[0] == '{' || b[0] == '[':
		return "", fmt.Errorf("want a scalar, got %.20s", b)
	default:
		return string(b), nil
	}
}

// validID reports whether s is a Seeyon id (a signed 64-bit decimal).
func validID(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// lineBreaks turns the OA's HTML line breaks and spaces back into text.
var lineBreaks = strings.NewReplacer("<br/>", "\n", "<br />", "\n", "<br>", "\n", "&nbsp;", " ")

// plainText undoes the HTML escaping Seeyon applies to descriptions in some answers.
func plainText(s string) string {
	return html.UnescapeString(lineBreaks.Replace(s))
}

// dayStart returns local midnight of the day t falls on in zone.
func dayStart(t time.Time, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}
