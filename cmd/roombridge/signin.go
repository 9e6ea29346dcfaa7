package main

import (
	"context"
	"errors"
	"fmt"

	"roombridge/bridge/dingtalk"
	"roombridge/models"
)

// dingTalkSignIn maps DingTalk sign-in codes to catalog users (web.SignIn).
type dingTalkSignIn struct {
	client *dingtalk.Client
	store  *models.Store
}

// UserByAuthCode resolves a browser login's code to the catalog user with that unionId.
// Users whose unionId the catalog leaves empty are resolved from their userid through the
// directory once (not metered) and the answer is stored.
func (d dingTalkSignIn) UserByAuthCode(ctx context.Context, code string) (string, error) {
	unionID, err := d.client.UnionIDByAuthCode(ctx, code)
	if err != nil {
		return "", err
	}
	users, err := d.store.Users(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if u.DingTalkUnionID == unionID {
			return u.ID, nil
		}
	}
	for _, u := range users {
		if u.DingTalkUnionID != "" || u.DingTalkUserID == "" {
			continue
		}
		got, err := d.client.UnionID(ctx, u.DingTalkUserID)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("resolve unionId of %s: %w", u.ID, err)
		}
		if err := d.store.SetUnionID(ctx, u.ID, got); err != nil {
			return "", err
		}
		if got == unionID {
			return u.ID, nil
		}
	}
	return "", fmt.Errorf("dingtalk sign-in: unionId %s is not in the catalog: %w", unionID, models.ErrNotFound)
}

// UserByInAppCode resolves an in-app code to the catalog user with that userid.
func (d dingTalkSignIn) UserByInAppCode(ctx context.Context, code string) (string, error) {
	userID, err := d.client.UserIDByInAppCode(ctx, code)
	if err != nil {
		return "", err
	}
	users, err := d.store.Users(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if u.DingTalkUserID == userID {
			return u.ID, nil
		}
	}
	return "", fmt.Errorf("dingtalk in-app sign-in: userid %s is not in the catalog: %w", userID, models.ErrNotFound)
}
