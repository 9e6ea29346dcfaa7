package web

import (
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// subscribePage is the view model of subscribe.html: the user's feed tokens, the form
// to make one, and the links of a token just made (shown this once).
type subscribePage struct {
	page
	Tokens []feedTokenView
	New    *newFeedView
	// Label and LabelError re-show a refused label.
	Label      string
	LabelError string
	MaxLabel   int
	Notice     string
}

// feedTokenView is one active token in the list.
type feedTokenView struct {
	ID       string
	Label    string
	Created  string
	LastUsed string
	// Fresh marks the token whose links the page shows.
	Fresh bool
}

// newFeedView holds the links of a token just created or rotated.
type newFeedView struct {
	Rotated bool
	Groups  []feedGroup
}

// feedGroup is the feeds of the whole catalog (no heading) or of one office.
type feedGroup struct {
	Heading string
	Feeds   []feedLinkView
}

// feedLinkView is one feed in its three forms.
type feedLinkView struct {
	Name  string
	HTTPS string
	// Webcal is typed as a URL: html/template would otherwise refuse the webcal scheme.
	Webcal template.URL
	Google string
}

// newLinksCookie carries a token just made from the POST that made it to the page that
// shows its links (post/redirect/get: reloading that page makes no second token). It
// lives a few minutes, only under /subscribe, and is cleared when read, so the links
// show once.
const newLinksCookie = "rb_new_feed"

// subscribePage handles GET /subscribe: the list, and the links of a token just made
// (once).
func (s *server) subscribePage(c echo.Context) error {
	pg := subscribePage{}
	if c.QueryParam("done") == "revoked" {
		pg.Notice = langOf(c).T("subscribe.revoked")
	}
	if ck, err := c.Cookie(newLinksCookie); err == nil {
		c.SetCookie(&http.Cookie{Name: newLinksCookie, Path: "/subscribe", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
		kind, rest, _ := strings.Cut(ck.Value, ".")
		id, token, ok := strings.Cut(rest, ".")
		if ok && (kind == "new" || kind == "rotated") {
			// Only a token of this user that is still active shows.
			ts, err := s.feeds.Tokens(c.Request().Context(), user(c).ID)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(ts, func(t models.FeedToken) bool { return t.ID == id }) {
				return s.renderNewToken(c, token, id, kind == "rotated")
			}
		}
	}
	return s.renderSubscribe(c, http.StatusOK, pg, "")
}

// showNewLinks answers a POST that made a token: 303 to /subscribe, which shows its links.
func (s *server) showNewLinks(c echo.Context, kind, id, token string) error {
	c.SetCookie(&http.Cookie{Name: newLinksCookie, Value: kind + "." + id + "." + token, Path: "/subscribe", MaxAge: 300,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return redirect(c, "/subscribe#new-links")
}

// createFeedTokenForm handles POST /subscribe: a new token, whose links the answer
// shows. A refused label re-renders the form with the message at the field.
func (s *server) createFeedTokenForm(c echo.Context) error {
	label := c.FormValue("label")
	token, t, err := s.feeds.CreateToken(c.Request().Context(), user(c).ID, label)
	if err != nil {
		if p := s.explain(err, langOf(c)); p.Specific && p.Status == http.StatusUnprocessableEntity {
			return s.renderSubscribe(c, p.Status, subscribePage{Label: label, LabelError: p.Message}, "")
		}
		return err
	}
	return s.showNewLinks(c, "new", t.ID, token)
}

// rotateFeedTokenForm handles POST /subscribe/{id}/rotate: the old links stop working
// and the answer shows the new ones.
func (s *server) rotateFeedTokenForm(c echo.Context) error {
	token, t, err := s.feeds.Rotate(c.Request().Context(), user(c).ID, c.Param("id"))
	if err != nil {
		return feedTokenErr(err)
	}
	return s.showNewLinks(c, "rotated", t.ID, token)
}

// revokeFeedTokenForm handles POST /subscribe/{id}/revoke, then goes back to the list.
func (s *server) revokeFeedTokenForm(c echo.Context) error {
	if err := s.feeds.Revoke(c.Request().Context(), user(c).ID, c.Param("id")); err != nil {
		return feedTokenErr(err)
	}
	s.log.Info("feed token revoked", "user", user(c).ID, "token_id", c.Param("id"))
	return redirect(c, "/subscribe?done=revoked")
}

func (s *server) renderNewToken(c echo.Context, token, id string, rotated bool) error {
	l := langOf(c)
	offices, err := s.store.Offices(c.Request().Context())
	if err != nil {
		return err
	}
	u := s.feedURLs(c, offices, token)
	link := func(name, https string) feedLinkView {
		return feedLinkView{Name: name, HTTPS: https, Webcal: template.URL(webcalURL(https)), Google: googleURL(https)}
	}
	nv := &newFeedView{Rotated: rotated, Groups: []feedGroup{{Feeds: []feedLinkView{
		link(l.T("subscribe.feed_all"), u.All),
		link(l.T("subscribe.feed_me"), u.Me),
	}}}}
	for _, o := range offices {
		g := feedGroup{Heading: officeTitle(l, o), Feeds: []feedLinkView{link(l.Tf("subscribe.feed_office", officeTitle(l, o)), u.Offices[o.ID])}}
		for _, r := range o.Rooms {
			name := roomName(l, r)
			if r.Floor != "" {
				name += " · " + r.Floor
			}
			g.Feeds = append(g.Feeds, link(name, u.Rooms[r.ID]))
		}
		nv.Groups = append(nv.Groups, g)
	}
	return s.renderSubscribe(c, http.StatusOK, subscribePage{New: nv}, id)
}

// renderSubscribe completes pg with the user's tokens (fresh marks the one just made)
// and renders it.
func (s *server) renderSubscribe(c echo.Context, status int, pg subscribePage, fresh string) error {
	l := langOf(c)
	ts, err := s.feeds.Tokens(c.Request().Context(), user(c).ID)
	if err != nil {
		return err
	}
	for _, t := range ts {
		v := feedTokenView{ID: t.ID, Label: t.Label, Created: s.clock(t.CreatedAt), LastUsed: l.T("subscribe.never_used"), Fresh: t.ID == fresh}
		if v.Label == "" {
			v.Label = l.T("subscribe.unnamed")
		}
		if t.LastUsedAt != nil {
			v.LastUsed = l.Tf("subscribe.last_used", s.clock(*t.LastUsedAt))
		}
		pg.Tokens = append(pg.Tokens, v)
	}
	pg.page, pg.MaxLabel = s.page(c, "subscribe.title"), models.MaxFeedTokenLabelRunes
	return s.render(c, status, "subscribe.html", pg)
}
