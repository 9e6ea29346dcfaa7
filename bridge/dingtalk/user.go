package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"roombridge/models"
)

// UnionID returns the unionId of the employee with the given org userId, which every
// calendar call needs. Answers are cached for the life of the Client. It returns an error
// wrapping models.ErrNotFound if DingTalk knows no such user, models.ErrForbidden if the
// app may not read the directory, and models.ErrUnavailable when DingTalk cannot be
// reached.
func (c *Client) UnionID(ctx context.Context, userID string) (string, error) {
	op := fmt.Sprintf("dingtalk look up user %s", userID)
	if userID == "" {
		return "", fmt.Errorf("%s: userId is required: %w", op, models.ErrInvalid)
	}
	c.mu.Lock()
	cached, found := c.unionIDs[userID]
	c.mu.Unlock()
	if found {
		return cached, nil
	}
	var user struct {
		UserID  string `json:"userid"`
		UnionID string `json:"unionid"`
	}
	err := c.run(ctx, call{
		op:  op,
		api: apiGetUser,
		send: func(ctx context.Context, token string) error {
			return c.postOld(ctx, "/topapi/v2/user/get", token, map[string]string{"userid": userID, "language": "zh_CN"}, &user)
		},
	})
	if err != nil {
		return "", err
	}
	if user.UnionID == "" {
		return "", fmt.Errorf("%s: user has no unionId: %w", op, models.ErrNotFound)
	}
	c.mu.Lock()
	c.unionIDs[userID] = user.UnionID
	c.mu.Unlock()
	return user.UnionID, nil
}

// postOld calls an old-API endpoint and decodes its result into out. Failures come back as
// *apiError, or as transport errors.
func (c *Client) postOld(ctx context.Context, path, token string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	u := c.oapi + path + "?access_token=" + url.QueryEscape(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var env struct {
		ErrCode   int             `json:"errcode"`
		ErrMsg    string          `json:"errmsg"`
		SubCode   json.RawMessage `json:"sub_code"`
		SubMsg    string          `json:"sub_msg"`
		RequestID string          `json:"request_id"`
		Result    json.RawMessage `json:"result"`
	}
	jerr := json.Unmarshal(raw, &env)
	if resp.StatusCode != http.StatusOK {
		return fromOld(resp.StatusCode, env.ErrCode, env.ErrMsg, env.RequestID)
	}
	if jerr != nil {
		return fmt.Errorf("%w: %v", errBadAnswer, jerr)
	}
	if env.ErrCode == codeOldWrapped {
		return fromOldWrapped(subCode(env.SubCode, env.ErrMsg), env.SubMsg, env.ErrMsg, env.RequestID)
	}
	if env.ErrCode != 0 {
		return fromOld(resp.StatusCode, env.ErrCode, env.ErrMsg, env.RequestID)
	}
	if len(env.Result) == 0 {
		env.Result = raw // calls that answer at the top level (task_id)
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		return fmt.Errorf("%w: result: %v", errBadAnswer, err)
	}
	return nil
}
