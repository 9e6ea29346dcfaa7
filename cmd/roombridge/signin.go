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
	// What is resolved on the way is stored in one transaction.
	found := map[string]string{}
	for _, u := range users {
		if u.DingTalkUnionID != "" || u.DingTalkUserID == "" {
			continue
		}
		got, err := d.client.UnionID(ctx, u.DingTalkUserID)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			_ = d.store.SetUnionIDs(ctx, found) // keep what was resolved; the error is the directory's
			return "", fmt.Errorf("resolve unionId of %s: %w", u.ID, err)
		}
		found[u.ID] = got
		if got == unionID {
			if err := d.store.SetUnionIDs(ctx, found); err != nil {
				return "", err
			}
			return u.ID, nil
		}
	}
	if err := d.store.SetUnionIDs(ctx, found); err != nil {
		return "", err
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
