package web

import (
	"maps"
	"strings"
	"time"

	"roombridge/models"
)

// message is one catalog entry in both UI languages.
type message struct {
	ZH string
	EN string
}

// in returns the message in l (Chinese when the English text is missing).
func (m message) in(l lang) string {
	if l == langEN && m.EN != "" {
		return m.EN
	}
	return m.ZH
}

// Codes and arguments become text here, and only here. The text of error or reason code
// C is the catalog entry "err.C"; when the arguments hold ArgDetail D and "err.C.D"
// exists, that refines it (one API code, several explanations). In the text, {key} is
// replaced by argument key as people read it: a backend by its name, an origin by how
// the booking was made, times in the zone and language of the page, a cause by the text
// of that code; {when} is the span and origin of the booking holding a slot, or nothing.
//
// To add a code: return models.E(kind, "my_code", field, key, value...) (or store a
// models.Reason{Code: "my_code"}) and add "err.my_code" in Chinese and English to
// messages. TestEveryCodeHasText finds a code missing from the catalog.

// argDetail refines a code's text: "err.<code>.<detail>" when it exists.
const argDetail = "detail"

// say renders code with args in l; ok is false when the catalog has no text for code.
func (s *server) say(l lang, code string, args models.Args) (text string, ok bool) {
	key := "err." + code
	if d := args[argDetail]; d != "" && hasMessage(key+"."+d) {
		key += "." + d
	}
	m, ok := messages[key]
	if !ok {
		return "", false
	}
	text = m.in(l)
	if !strings.Contains(text, "{") {
		return text, true
	}
	shown := make(map[string]string, len(args)+1)
	for k, v := range args {
		shown[k] = s.arg(l, k, v, args)
	}
	shown["when"] = ""
	if start, end := parseArgTime(args[models.ArgStart]), parseArgTime(args[models.ArgEnd]); !start.IsZero() && !end.IsZero() {
		how := l.T("origin." + args[models.ArgOrigin])
		if !hasMessage("origin." + args[models.ArgOrigin]) {
			how = l.T("origin.bridge")
		}
		shown["when"] = l.Tf("err.when", s.span(l, start, end), how)
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		j := strings.IndexByte(text[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(text)
			return b.String(), true
		}
		b.WriteString(text[:i])
		b.WriteString(shown[text[i+1:i+1+j]])
		text = text[i+2+j:]
	}
}

// arg shows one argument value for people.
func (s *server) arg(l lang, key, v string, all models.Args) string {
	switch key {
	case models.ArgBackend:
		return backendName(l, models.Backend(v))
	case models.ArgOrigin:
		if hasMessage("origin." + v) {
			return l.T("origin." + v)
		}
	case models.ArgAt:
		if t := parseArgTime(v); !t.IsZero() {
			return t.In(s.zone).Format("2006-01-02 15:04")
		}
	case models.ArgDay, models.ArgStart, models.ArgEnd:
		if t := parseArgTime(v); !t.IsZero() {
			return t.In(s.zone).Format(time.DateOnly)
		}
	case models.ArgTimes:
		var out []string
		for p := range strings.SplitSeq(v, ",") {
			if t := parseArgTime(p); !t.IsZero() {
				out = append(out, t.In(s.zone).Format("2006-01-02 15:04"))
			}
		}
		return strings.Join(out, l.T("list.sep"))
	case models.ArgCause:
		inner := maps.Clone(all)
		delete(inner, models.ArgCause)
		if text, ok := s.say(l, v, inner); ok {
			return text
		}
		return l.T("err.unknown_reason")
	}
	return v
}

func parseArgTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// reasonText is why r was rejected or put back, in l: its coded reason from the catalog,
// else the free text of a row written before reasons had codes (shown as it is), else "".
func (s *server) reasonText(l lang, r models.Reservation) string {
	if r.ReasonCode != "" {
		if text, ok := s.say(l, r.ReasonCode, r.ReasonArgs); ok {
			return text
		}
		return l.T("err.unknown_reason")
	}
	return r.LegacyReason
}

// backendName is a backend's name in l ("oa" → OA（致远）), or the raw name when unknown.
func backendName(l lang, b models.Backend) string {
	if hasMessage("backend." + string(b)) {
		return l.T("backend." + string(b))
	}
	return string(b)
}
