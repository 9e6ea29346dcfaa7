package dingtalkfake

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"roombridge/models"
)

// CorpID is the organisation id the fake answers with (userAccessToken's corpId, and the
// corpId its JSAPI stand-in accepts).
const CorpID = "dingfakecorp"

// API names of the sign-in endpoints.
const (
	APIGetUserToken   = "GetUserToken"               // POST /v1.0/oauth2/userAccessToken
	APIGetContactUser = "GetUser"                    // GET /v1.0/contact/users/me
	APIGetUserInfo    = "topapi/v2/user/getuserinfo" // old API, in-app (免登) codes
)

// AuthCodeTTL is how long a sign-in code may be exchanged; each works once.
const AuthCodeTTL = 5 * time.Minute

// authCode is a pending sign-in code: whose it is, which flow issued it, until when.
type authCode struct {
	userID  string
	inApp   bool
	expires time.Time
}

// userToken is a personal access token from userAccessToken: it opens contact/users/me
// and nothing that needs the app's token.
type userToken struct {
	unionID string
	expires time.Time
}

func (s *Server) loginRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /oauth2/auth", s.authorizePage)
	m.HandleFunc("POST /oauth2/auth", s.authorize)
	m.HandleFunc("POST /v1.0/oauth2/userAccessToken", s.api(apiSpec{name: APIGetUserToken}, s.getUserToken))
	m.HandleFunc("GET /v1.0/contact/users/{uid}", s.contactUser)
	m.HandleFunc("POST /topapi/v2/user/getuserinfo", s.api(apiSpec{name: APIGetUserInfo, old: true, auth: true}, s.getUserInfo))
	m.HandleFunc("GET /jsapi/dingtalk.open.js", s.jsapi)
	m.HandleFunc("POST /_fake/inapp/code", s.inAppCode)
	m.HandleFunc("OPTIONS /_fake/inapp/code", s.inAppCode)
	m.HandleFunc("POST /_fake/inapp/user", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID string `json:"userId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			adminResult(w, 0, nil, fmt.Errorf("body: %w", models.ErrInvalid))
			return
		}
		adminResult(w, http.StatusNoContent, nil, s.SetInAppUser(req.UserID))
	})
	m.HandleFunc("POST /_fake/authcodes", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID string `json:"userId"`
			InApp  bool   `json:"inApp"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			adminResult(w, 0, nil, fmt.Errorf("body: %w", models.ErrInvalid))
			return
		}
		code, err := s.AuthCode(req.UserID, req.InApp)
		adminResult(w, http.StatusOK, map[string]string{"code": code}, err)
	})
}

// AuthCode issues a sign-in code for the employee with the given org userId, as DingTalk
// does after a browser login (inApp false: exchanged through userAccessToken) or for the
// JSAPI requestAuthCode inside the app (inApp true: resolved by getuserinfo). Errors:
// models.ErrNotFound for an unknown user.
func (s *Server) AuthCode(userID string, inApp bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCode(userID, inApp)
}

func (s *Server) issueCode(userID string, inApp bool) (string, error) {
	if _, found := s.userByID(userID); !found {
		return "", fmt.Errorf("auth code for %s: %w", userID, models.ErrNotFound)
	}
	code := s.newID("code")
	s.codes[code] = authCode{userID: userID, inApp: inApp, expires: s.now().Add(AuthCodeTTL)}
	return code, nil
}

// SetInAppUser sets who holds the phone: the user the JSAPI stand-in issues codes for
// (the first user until set). Errors: models.ErrNotFound for an unknown user.
func (s *Server) SetInAppUser(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, found := s.userByID(userID); !found {
		return fmt.Errorf("in-app user %s: %w", userID, models.ErrNotFound)
	}
	s.inAppUser = userID
	return nil
}

// takeCode consumes code if it is valid for the flow. It runs with s.mu held.
func (s *Server) takeCode(code string, inApp bool) (User, bool) {
	c, found := s.codes[code]
	if !found || c.inApp != inApp {
		return User{}, false
	}
	delete(s.codes, code)
	if !s.now().Before(c.expires) {
		return User{}, false
	}
	return s.userByID(c.userID)
}

func (s *Server) userByID(userID string) (User, bool) {
	for _, u := range s.users {
		if u.UserID == userID {
			return u, true
		}
	}
	return User{}, false
}

var authorizeTmpl = template.Must(template.New("auth").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>钉钉登录（模拟）</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:2rem auto">
<h1>钉钉登录（模拟）</h1>
<p>选择要登录的钉钉账号。 / Pick the DingTalk account to sign in as.</p>
<form method="post" action="/oauth2/auth">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}{{range .Users}}<p><button type="submit" name="userId" value="{{.UserID}}" id="dt-user-{{.UserID}}">{{.Name}}（{{.UserID}}）</button></p>
{{end}}</form></body></html>`))

// checkAuthorize validates the query of the authorize page; it returns the redirect URI.
func (s *Server) checkAuthorize(q url.Values) (*url.URL, string) {
	switch {
	case q.Get("client_id") != s.appKey:
		return nil, "unknown client_id"
	case q.Get("response_type") != "code":
		return nil, "response_type must be code"
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		return nil, "scope must include openid"
	}
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "redirect_uri is not an http(s) URL"
	}
	return u, ""
}

func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, msg := s.checkAuthorize(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	users := append([]User(nil), s.users...)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = authorizeTmpl.Execute(w, map[string]any{"Query": q, "Users": users})
}

// authorize is the user's choice on the authorize page: back to redirect_uri with a
// fresh authCode and the caller's state.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	back, msg := s.checkAuthorize(r.PostForm)
	if msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	code, err := s.AuthCode(r.PostForm.Get("userId"), false)
	if err != nil {
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	q := back.Query()
	q.Set("authCode", code)
	q.Set("state", r.PostForm.Get("state"))
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) getUserToken(_ *http.Request, body []byte) reply {
	var req struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		Code         string `json:"code"`
		GrantType    string `json:"grantType"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	if req.ClientID != s.appKey || req.ClientSecret != s.appSecret {
		return apiErr(http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
	}
	if req.GrantType != "authorization_code" {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "grantType must be authorization_code")
	}
	u, valid := s.takeCode(req.Code, false)
	if !valid {
		return apiErr(http.StatusBadRequest, "invalidAuthCode", "不合法的临时授权码")
	}
	tok := s.newID("usertoken")
	s.userTokens[tok] = userToken{unionID: u.UnionID, expires: s.now().Add(s.tokenTTL)}
	return ok(map[string]any{"accessToken": tok, "refreshToken": s.newID("refresh"), "expireIn": int64(s.tokenTTL.Seconds()), "corpId": CorpID})
}

// contactUser answers GET /v1.0/contact/users/me for a personal token; the app's token
// is refused there, as DingTalk does.
func (s *Server) contactUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[APIGetContactUser]++
	t, known := s.userTokens[r.Header.Get("x-acs-dingtalk-access-token")]
	u, found := s.userByUnion(t.unionID)
	s.mu.Unlock()
	switch {
	case !known || !s.now().Before(t.expires):
		s.write(w, apiErr(http.StatusBadRequest, codeInvalidAuth, "不合法的access_token (access_token is illegal or expired)"))
	case r.PathValue("uid") != "me" && r.PathValue("uid") != t.unionID:
		s.write(w, apiErr(http.StatusForbidden, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "a personal token reads only its own user"))
	case !found:
		s.write(w, apiErr(http.StatusNotFound, "user.not.found", "no such user"))
	default:
		s.write(w, ok(map[string]any{"nick": u.Name, "unionId": u.UnionID, "openId": "open-" + u.UnionID, "stateCode": "86", "visitor": false}))
	}
}

func (s *Server) getUserInfo(_ *http.Request, body []byte) reply {
	var req struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Code == "" {
		return oldErr(40078, "不存在的临时授权码")
	}
	u, valid := s.takeCode(req.Code, true)
	if !valid {
		return oldErr(40078, "不存在的临时授权码")
	}
	return ok(oldBody{ErrMsg: "ok", Result: map[string]any{
		"userid": u.UserID, "unionid": u.UnionID, "name": u.Name, "device_id": "fake-device", "sys": false, "sys_level": 0,
	}})
}

// jsapi serves a stand-in for DingTalk's JSAPI (dingtalk.open.js): requestAuthCode
// asks this fake for an in-app code for the user holding the phone (SetInAppUser).
func (s *Server) jsapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	origin := "http://" + r.Host
	fmt.Fprintf(w, `(function () {
  var base = %q;
  function requestAuthCode(opts) {
    fetch(base + "/_fake/inapp/code", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({corpId: opts.corpId || ""})})
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw j; } return j; }); })
      .then(function (j) { if (opts.onSuccess) { opts.onSuccess({code: j.code}); } })
      .catch(function (e) { if (opts.onFail) { opts.onFail(e); } });
  }
  window.dd = {env: {platform: "fake"}, ready: function (f) { f(); }, error: function () {},
    runtime: {permission: {requestAuthCode: requestAuthCode}}};
})();
`, origin)
}

// inAppCode issues an in-app code for the user holding the phone, if corpId is the fake's.
func (s *Server) inAppCode(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var req struct {
		CorpID string `json:"corpId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.CorpID != CorpID {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorCode": "7", "errorMessage": "corpId is not this organisation's"})
		return
	}
	s.mu.Lock()
	user := s.inAppUser
	if user == "" && len(s.users) > 0 {
		user = s.users[0].UserID
	}
	code, err := s.issueCode(user, true)
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorCode": "3", "errorMessage": "no user on this device"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": code})
}
