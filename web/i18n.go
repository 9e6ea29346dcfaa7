package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// lang is a UI language: Chinese (zh-CN, the default) or English.
type lang string

// The two UI languages.
const (
	langZH lang = "zh"
	langEN lang = "en"
)

const (
	langCookie = "lang"
	langKey    = "roombridge.lang" // echo context key
)

// Tag is the BCP 47 tag for <html lang>.
func (l lang) Tag() string {
	if l == langEN {
		return "en"
	}
	return "zh-CN"
}

// T returns the catalog message key in l (the key itself if it is missing, which a test
// rules out for every key the templates and code use).
func (l lang) T(key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	return m.in(l)
}

// Tf is T with fmt.Sprintf arguments.
func (l lang) Tf(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

func hasMessage(key string) bool {
	_, ok := messages[key]
	return ok
}

func langOf(c echo.Context) lang {
	if l, ok := c.Get(langKey).(lang); ok {
		return l
	}
	return detectLanguage(c.Request())
}

// language stores the request's language in the context: the lang cookie set by the
// switch link, else the first of zh/en in Accept-Language, else Chinese.
func (s *server) language(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(langKey, detectLanguage(c.Request()))
		return next(c)
	}
}

func detectLanguage(r *http.Request) lang {
	if ck, err := r.Cookie(langCookie); err == nil {
		switch lang(ck.Value) {
		case langEN:
			return langEN
		case langZH:
			return langZH
		}
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// fromAcceptLanguage picks zh or en from an Accept-Language header by quality.
func fromAcceptLanguage(h string) lang {
	type choice struct {
		l lang
		q float64
	}
	var choices []choice
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch primary {
		case "en":
			choices = append(choices, choice{langEN, q})
		case "zh":
			choices = append(choices, choice{langZH, q})
		}
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	if len(choices) > 0 && choices[0].q > 0 {
		return choices[0].l
	}
	return langZH
}

// switchLanguage handles GET /lang?to=en&next=/path: it remembers the choice in a cookie
// and goes back to next (a local path only).
func (s *server) switchLanguage(c echo.Context) error {
	to := lang(c.QueryParam("to"))
	if to != langEN && to != langZH {
		return badRequest("to", "lang")
	}
	c.SetCookie(&http.Cookie{
		Name: langCookie, Value: string(to), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	return redirect(c, localPath(c.QueryParam("next")))
}

// localPath returns p if it is a path on this site, else "/" (no open redirects).
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return p
}
