package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// feedTokenJSON is a feed token in GET /api/v1/feed-tokens (never the token itself).
type feedTokenJSON struct {
	ID         string  `json:"id"`
	Label      string  `json:"label"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

// newFeedTokenJSON answers the creation or rotation of a feed token: the only time the
// token and its links are shown.
type newFeedTokenJSON struct {
	ID    string   `json:"id"`
	Label string   `json:"label"`
	Token string   `json:"token"`
	URLs  feedURLs `json:"urls"`
}

// feedTokenBody is the optional body of POST /api/v1/feed-tokens.
type feedTokenBody struct {
	Label string `json:"label"`
}

func (s *server) feedTokenJSON(t models.FeedToken) feedTokenJSON {
	out := feedTokenJSON{ID: t.ID, Label: t.Label, CreatedAt: s.rfc3339(t.CreatedAt)}
	if t.LastUsedAt != nil {
		v := s.rfc3339(*t.LastUsedAt)
		out.LastUsedAt = &v
	}
	return out
}

// listFeedTokensAPI handles GET /api/v1/feed-tokens: the caller's active tokens.
func (s *server) listFeedTokensAPI(c echo.Context) error {
	ts, err := s.feeds.Tokens(c.Request().Context(), user(c).ID)
	if err != nil {
		return err
	}
	out := make([]feedTokenJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.feedTokenJSON(t))
	}
	return c.JSON(http.StatusOK, out)
}

// createFeedTokenAPI handles POST /api/v1/feed-tokens with an optional {"label"}: 201
// with the token and the links of every feed it opens.
func (s *server) createFeedTokenAPI(c echo.Context) error {
	var body feedTokenBody
	if err := decodeOptionalJSON(c.Request().Body, &body); err != nil {
		return err
	}
	token, t, err := s.feeds.CreateToken(c.Request().Context(), user(c).ID, body.Label)
	if err != nil {
		return err
	}
	return s.newFeedTokenAnswer(c, token, t)
}

// rotateFeedTokenAPI handles POST /api/v1/feed-tokens/{id}/rotate: the old token stops
// working and a new one with the same label is answered as by create (201).
func (s *server) rotateFeedTokenAPI(c echo.Context) error {
	token, t, err := s.feeds.Rotate(c.Request().Context(), user(c).ID, c.Param("id"))
	if err != nil {
		return feedTokenErr(err)
	}
	return s.newFeedTokenAnswer(c, token, t)
}

// revokeFeedTokenAPI handles DELETE /api/v1/feed-tokens/{id}: 204.
func (s *server) revokeFeedTokenAPI(c echo.Context) error {
	if err := s.feeds.Revoke(c.Request().Context(), user(c).ID, c.Param("id")); err != nil {
		return feedTokenErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) newFeedTokenAnswer(c echo.Context, token string, t models.FeedToken) error {
	offices, err := s.store.Offices(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newFeedTokenJSON{ID: t.ID, Label: t.Label, Token: token, URLs: s.feedURLs(c, offices, token)})
}

// feedTokenErr gives an unknown token id (or someone else's) its own message.
func feedTokenErr(err error) error {
	if models.UserError(err) == nil && errors.Is(err, models.ErrNotFound) {
		return models.E(models.ErrNotFound, "feed_token_not_found", "").Wrap(err)
	}
	return err
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an empty body leaves
// v as it is.
func decodeOptionalJSON(body io.Reader, v any) error {
	b, err := io.ReadAll(body)
	switch {
	case tooLarge(err):
		return err
	case err != nil:
		return badRequest("", "body")
	case len(bytes.TrimSpace(b)) == 0:
		return nil
	}
	return decodeJSON(bytes.NewReader(b), v)
}
