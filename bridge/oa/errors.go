package oa

import (
	"errors"
	"fmt"
	"strings"

	"roombridge/models"
)

// Error describes one failed exchange with Seeyon. It unwraps to its Kind (one of
// the models error kinds) and to its cause, if any. Client methods return it
// inside a user-facing *models.Error, so errors.As finds both.
type Error struct {
	// Endpoint is the path below /seeyon/rest/, e.g. "meeting/execApp".
	Endpoint string
	// Status is the HTTP status, 0 if no answer arrived.
	Status int
	// Msg is Seeyon's own errorMsg text, verbatim; empty if Seeyon sent none.
	Msg string
	// Kind is models.ErrUnavailable, ErrConflict, ErrInvalid or ErrForbidden.
	Kind error
	// Err is the underlying cause (network, decoding), if any.
	Err error

	detail string
}

// Error returns the endpoint, the HTTP status, Seeyon's text and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Endpoint)
	if e.Status != 0 && e.Status != 200 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.Msg)
	}
	if e.detail != "" {
		fmt.Fprintf(&b, ": %s", e.detail)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// errTokenRejected marks an answer that says the token is no longer valid (HTTP 401
// or body code 1010). call refreshes the token once when it sees it.
var errTokenRejected = errors.New("token rejected")

// Seeyon answers business errors with localised text; the i18n keys show up when
// a bundle is missing. The zh_CN texts of A8 V7.1SP1 are: meeting.rest.canNotApply
// "不能申请这个会议室" and meeting.rest.hasNoCanApply "没有可以申请的会议室" (the user
// may not book the room), meeting.error.errorParams "传入参数错误" (bad parameters)
// and mr.alert.cannotapp "会议室在您申请的时间范围内有预定了" (the slot is taken; also
// spelt 预订). The lists also hold the keys and other phrasings seen elsewhere.
var (
	forbiddenHints = []string{"canNotApply", "hasNoCanApply", "不能申请", "没有可以申请", "无权", "没有权限", "没有可申请"}
	paramHints     = []string{"errorParams", "参数"}
	conflictHints  = []string{"cannotapp", "有预定", "有预订", "占用", "冲突", "已被预订", "已被预定", "conflict"}
)

// isParamMsg reports whether msg is Seeyon's "bad parameters" text.
func isParamMsg(msg string) bool {
	for _, h := range paramHints {
		if strings.Contains(msg, h) {
			return true
		}
	}
	return false
}

// kindOfMsg maps a Seeyon errorMsg text to an error kind.
func kindOfMsg(msg string) error {
	for _, h := range forbiddenHints {
		if strings.Contains(msg, h) {
			return models.ErrForbidden
		}
	}
	if isParamMsg(msg) {
		return models.ErrInvalid
	}
	for _, h := range conflictHints {
		if strings.Contains(msg, h) {
			return models.ErrConflict
		}
	}
	return models.ErrInvalid
}

// userError wraps e in the user-facing error for its kind.
func userError(e *Error) error {
	var u *models.Error
	switch {
	case errors.Is(e.Kind, models.ErrConflict):
		u = models.E(models.ErrConflict, models.CodeRoomTaken, "", models.ArgBackend, string(models.BackendOA))
	case errors.Is(e.Kind, models.ErrForbidden):
		u = models.E(models.ErrForbidden, "oa_forbidden", "")
	case errors.Is(e.Kind, models.ErrInvalid):
		// The OA's own message stays in the cause (for logs): it is in one language only.
		u = models.E(models.ErrInvalid, "oa_rejected", "")
	default:
		u = models.E(models.ErrUnavailable, "oa_unavailable", "")
	}
	return u.Wrap(e)
}

// unavailable is a shorthand for an ErrUnavailable failure with a description.
func unavailable(endpoint, detail string, cause error) error {
	return userError(&Error{Endpoint: endpoint, Kind: models.ErrUnavailable, detail: detail, Err: cause})
}
