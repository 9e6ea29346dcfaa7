package dingtalk

import (
	"context"
	"fmt"

	contact "github.com/alibabacloud-go/dingtalk/contact_1_0"
	oauth2 "github.com/alibabacloud-go/dingtalk/oauth2_1_0"
	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// API names of the sign-in calls (not metered: login and contacts are quota-exempt).
const (
	apiGetUserToken = "GetUserToken"
	apiGetMe        = "GetUser"
	apiGetUserInfo  = "topapi/v2/user/getuserinfo"
)

// UnionIDByAuthCode finishes a browser login: it exchanges the authCode DingTalk's login
// page sent back (POST /v1.0/oauth2/userAccessToken) for the person's token and reads
// their unionId (GET /v1.0/contact/users/me). Errors: models.ErrInvalid for a code that is
// unknown, used or expired, models.ErrForbidden when DingTalk refuses the app's
// credentials, models.ErrUnavailable when DingTalk cannot be reached.
func (c *Client) UnionIDByAuthCode(ctx context.Context, code string) (string, error) {
	const op = "dingtalk sign-in"
	if code == "" {
		return "", fmt.Errorf("%s: no authCode: %w", op, models.ErrInvalid)
	}
	var userToken string
	err := c.run(ctx, call{
		op: op + ": exchange code", api: apiGetUserToken, noToken: true,
		send: func(ctx context.Context, _ string) error {
			req := &oauth2.GetUserTokenRequest{ClientId: tea.String(c.cfg.AppKey), ClientSecret: tea.String(c.cfg.AppSecret),
				Code: tea.String(code), GrantType: tea.String("authorization_code")}
			resp, err := within(ctx, func() (*oauth2.GetUserTokenResponse, error) {
				return c.oauthSDK().GetUserTokenWithOptions(req, map[string]*string{}, c.runtime)
			})
			if err != nil {
				return err
			}
			if resp.Body == nil || tea.StringValue(resp.Body.AccessToken) == "" {
				return fmt.Errorf("%w: no accessToken", errBadAnswer)
			}
			userToken = tea.StringValue(resp.Body.AccessToken)
			return nil
		},
	})
	if err != nil {
		return "", err
	}
	var unionID string
	err = c.run(ctx, call{
		op: op + ": read user", api: apiGetMe, noToken: true,
		send: func(ctx context.Context, _ string) error {
			cl, err := contact.NewClient(c.sdkConfig())
			if err != nil {
				return err
			}
			h := &contact.GetUserHeaders{XAcsDingtalkAccessToken: tea.String(userToken)}
			resp, err := within(ctx, func() (*contact.GetUserResponse, error) {
				return cl.GetUserWithOptions(tea.String("me"), h, c.runtime)
			})
			if err != nil {
				return err
			}
			if resp.Body == nil || tea.StringValue(resp.Body.UnionId) == "" {
				return fmt.Errorf("%w: no unionId", errBadAnswer)
			}
			unionID = tea.StringValue(resp.Body.UnionId)
			return nil
		},
	})
	return unionID, err
}

// UserIDByInAppCode resolves the code the JSAPI requestAuthCode gave a page inside the
// DingTalk app (免登) to the person's org userId (POST oapi /topapi/v2/user/getuserinfo
// with the app's token). Errors: models.ErrInvalid for a code that is unknown, used or
// expired, models.ErrForbidden, models.ErrUnavailable.
func (c *Client) UserIDByInAppCode(ctx context.Context, code string) (string, error) {
	const op = "dingtalk in-app sign-in"
	if code == "" {
		return "", fmt.Errorf("%s: no code: %w", op, models.ErrInvalid)
	}
	var info struct {
		UserID string `json:"userid"`
	}
	err := c.run(ctx, call{
		op: op, api: apiGetUserInfo,
		send: func(ctx context.Context, token string) error {
			return c.postOld(ctx, "/topapi/v2/user/getuserinfo", token, map[string]string{"code": code}, &info)
		},
	})
	if err != nil {
		return "", err
	}
	if info.UserID == "" {
		return "", fmt.Errorf("%s: answer has no userid: %w", op, models.ErrUnavailable)
	}
	return info.UserID, nil
}
