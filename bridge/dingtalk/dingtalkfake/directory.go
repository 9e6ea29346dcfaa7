package dingtalkfake

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// issueToken returns the current token, extending it, or a new one once it has expired,
// as DingTalk does. It runs with s.mu held.
func (s *Server) issueToken() string {
	now := s.now()
	if exp, valid := s.tokens[s.current]; !valid || !now.Before(exp) {
		s.current = s.newID("token")
	}
	s.tokens[s.current] = now.Add(s.tokenTTL)
	return s.current
}

func (s *Server) getAccessToken(_ *http.Request, body []byte) reply {
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	if req.AppKey != s.appKey || req.AppSecret != s.appSecret {
		return apiErr(http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
	}
	return ok(map[string]any{"accessToken": s.issueToken(), "expireIn": int64(s.tokenTTL.Seconds())})
}

func (s *Server) getTokenOld(r *http.Request, _ []byte) reply {
	q := r.URL.Query()
	if q.Get("appkey") != s.appKey || q.Get("appsecret") != s.appSecret {
		return oldErr(40089, "不合法的corpid或corpsecret")
	}
	return ok(map[string]any{
		"errcode": 0, "errmsg": "ok",
		"access_token": s.issueToken(), "expires_in": int64(s.tokenTTL.Seconds()),
	})
}

func (s *Server) getUser(_ *http.Request, body []byte) reply {
	var req struct {
		UserID string `json:"userid"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.UserID == "" {
		return oldErr(33012, "无效的USERID")
	}
	for _, u := range s.users {
		if u.UserID == req.UserID {
			return ok(oldBody{ErrMsg: "ok", Result: map[string]any{
				"userid": u.UserID, "unionid": u.UnionID, "name": u.Name, "active": true,
			}})
		}
	}
	return oldErr(60121, "找不到该用户")
}

func (s *Server) roomList(r *http.Request, _ []byte) reply {
	q := r.URL.Query()
	uid := q.Get("unionId")
	if uid == "" {
		return apiErr(http.StatusBadRequest, "param.error", "unionId is required")
	}
	if _, known := s.userByUnion(uid); !known {
		return apiErr(http.StatusBadRequest, "user.not.employee", "user is not an employee of the org")
	}
	size := 20
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return apiErr(http.StatusBadRequest, "param.error", "maxResults must be between 1 and 100")
		}
		size = n
	}
	var from int
	if v := q.Get("nextToken"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return apiErr(http.StatusBadRequest, "param.error", "nextToken invalid")
		}
		from = int(min(n, int64(len(s.rooms))))
	}
	type roomJSON struct {
		RoomID       string `json:"roomId"`
		RoomName     string `json:"roomName"`
		RoomCapacity int    `json:"roomCapacity"`
		RoomStatus   int    `json:"roomStatus"`
		CorpID       string `json:"corpId"`
	}
	out := struct {
		HasMore   bool       `json:"hasMore"`
		NextToken *int64     `json:"nextToken,omitempty"`
		Result    []roomJSON `json:"result"`
	}{Result: []roomJSON{}}
	to := min(from+size, len(s.rooms))
	for _, rm := range s.rooms[from:to] {
		out.Result = append(out.Result, roomJSON{RoomID: rm.ID, RoomName: rm.Name, RoomCapacity: rm.Capacity, CorpID: "dingfakecorp"})
	}
	if to < len(s.rooms) {
		next := int64(to)
		out.HasMore, out.NextToken = true, &next
	}
	return ok(out)
}
