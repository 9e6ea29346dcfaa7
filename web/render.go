package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames lists the page templates; each is parsed together with layout.html.
var pageNames = []string{"login.html", "login_inapp.html", "signedout.html", "form.html", "booking.html", "bookings.html", "cancel.html", "error.html", "subscribe.html", "admin.html",
	"conflicts.html", "conflict.html", "cutover.html", "outbox.html", "audit.html", "rooms.html", "find.html", "grid.html"}

// clockField is a 24-hour time input (the "clock" partial): a text field rather than
// <input type=time>, whose display follows the browser's locale (AM/PM in English).
type clockField struct{ Name, ID, Value, Error string }

// templateFuncs are the functions every template may call.
var templateFuncs = template.FuncMap{
	"clockInput": func(name, id, value, errText string) clockField {
		return clockField{Name: name, ID: id, Value: value, Error: errText}
	},
	// clockTimes are the half hours the clock inputs suggest.
	"clockTimes": func() []string {
		var out []string
		for m := 7 * 60; m <= 22*60; m += 30 {
			out = append(out, fmt.Sprintf("%02d:%02d", m/60, m%60))
		}
		return out
	},
}

// pages holds every page template, parsed once at start.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses layout.html with each page of fsys. Any error (a missing file, a
// syntax error, a page without a "content" block) is returned, so New fails.
func parsePages(fsys fs.FS) (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(fsys, "templates/layout.html", "templates/partials.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return nil, fmt.Errorf("parse template %s: want blocks \"layout\" and \"content\"", name)
		}
		p.byName[name] = t
	}
	return p, nil
}

// render executes page name into a buffer first, so a failing template never sends half
// a page.
func (s *server) render(c echo.Context, status int, name string, data any) error {
	t, ok := s.pages.byName[name]
	if !ok {
		return fmt.Errorf("render: no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// page is what the layout needs; every page's view model embeds it.
type page struct {
	Lang      lang
	Title     string
	User      *models.User
	Admin     bool
	Demo      bool
	DemoLogin bool
	// SignOut shows the sign-out button (sessions: demo and dingtalk mode).
	SignOut bool
	CSRF    string
	// Here is the URL to come back to after switching language.
	Here    string
	Version string
	// Subscribe and AdminPage show the nav links to /subscribe and /admin.
	Subscribe bool
	AdminPage bool
}

// page builds the layout's part of a view model, titled with the message titleKey.
func (s *server) page(c echo.Context, titleKey string) page {
	l := langOf(c)
	p := page{
		Lang: l, Title: l.T(titleKey), Demo: s.demo, DemoLogin: s.auth == AuthDemo, SignOut: s.auth != AuthHeader,
		CSRF: csrfToken(c), Here: "/", Version: s.version,
	}
	if u, ok := CurrentUser(c); ok {
		p.User, p.Admin = &u, s.access.IsAdmin(u.ID)
		p.Subscribe, p.AdminPage = s.feeds != nil, s.admin != nil && p.Admin
	}
	if r := c.Request(); r.Method == http.MethodGet {
		p.Here = r.URL.RequestURI()
	}
	return p
}

// T translates a catalog key into the page's language.
func (p page) T(key string) string { return p.Lang.T(key) }

// Tf translates a catalog key and formats args into it.
func (p page) Tf(key string, args ...any) string { return p.Lang.Tf(key, args...) }

// HTMLLang is the value of <html lang>.
func (p page) HTMLLang() string { return p.Lang.Tag() }

// Other is the language the switch link offers.
func (p page) Other() lang {
	if p.Lang == langEN {
		return langZH
	}
	return langEN
}

// SwitchURL switches to the other language and comes back here.
func (p page) SwitchURL() string {
	return "/lang?" + url.Values{"to": {string(p.Other())}, "next": {p.Here}}.Encode()
}

// span formats [start, end) in the zone: "2023-04-17 周一 09:00–10:00", with the end's
// date only when it is another day.
func (s *server) span(l lang, start, end time.Time) string {
	a, b := start.In(s.zone), end.In(s.zone)
	day := a.Format("2006-01-02") + " " + weekday(l, a)
	if l == langEN {
		day = weekday(l, a) + " " + a.Format("2006-01-02")
	}
	if b.Format(time.DateOnly) != a.Format(time.DateOnly) {
		return day + " " + a.Format("15:04") + " – " + b.Format("2006-01-02 15:04")
	}
	return day + " " + a.Format("15:04") + "–" + b.Format("15:04")
}

// clock formats t in the zone to the minute: "2023-04-17 09:00".
func (s *server) clock(t time.Time) string { return t.In(s.zone).Format("2006-01-02 15:04") }

var zhWeekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

func weekday(l lang, t time.Time) string {
	if l == langEN {
		return t.Weekday().String()[:3]
	}
	return zhWeekdays[t.Weekday()]
}
