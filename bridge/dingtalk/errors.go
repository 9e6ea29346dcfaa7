package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// DingTalk error codes the client acts on.
const (
	codeInvalidAuth    = "InvalidAuthentication"
	codeQuota          = "Forbidden.AccessDenied.ApiCountLimitForOrg"
	codeRoomBusy       = "meetingRoomNotAvailable"
	codeFlowLimit      = "flowLimit"
	codeIdemProcessing = "idempotencyProcessing"
	codeDuplicateToken = "invalidRequest.duplicateClientToken"
	codePermissionDeny = "permissionDeny"
	// codeSyncTokenExpired is what DingTalk answers an event listing whose syncToken it
	// no longer accepts. DingTalk documents neither the lifetime of a syncToken nor this
	// code; a 400 invalidParameter is the most plausible answer (the listing's only
	// parameter is the token), so it is the one constant to change once a real answer is
	// seen.
	codeSyncTokenExpired = "invalidParameter"
)

// ErrSyncTokenExpired marks an event listing refused because DingTalk no longer accepts
// its syncToken: drop the token and read the calendar in full.
var ErrSyncTokenExpired = errors.New("syncToken no longer accepted")

// errBadAnswer marks a 2xx answer the client cannot use.
var errBadAnswer = errors.New("malformed answer")

// apiError is one failed attempt, classified. Its text keeps DingTalk's code and request
// id; it unwraps to a models kind and, for transport failures, to the cause.
type apiError struct {
	status    int    // HTTP status; 0 if no answer arrived
	code      string // the new API's code, or the old API's errcode
	message   string
	requestID string
	old       bool // an old-API errcode answer
	// permission is the app permission DingTalk says is missing, for the admin.
	permission string

	kind      error // a models kind; nil when the caller's context was cancelled
	cause     error // why no usable answer arrived
	retry     bool  // worth another attempt
	auth      bool  // the token was rejected: refresh it and try once more
	unmetered bool  // does not count toward the monthly quota
	quota     bool  // a quota that will not recover soon
}

func (e *apiError) Error() string {
	if e.status == 0 && e.code == "" {
		return "no answer: " + e.cause.Error()
	}
	var b strings.Builder
	if e.old {
		fmt.Fprintf(&b, "errcode %s", e.code)
	} else {
		fmt.Fprintf(&b, "http %d", e.status)
		if e.code != "" {
			fmt.Fprintf(&b, " %s", e.code)
		}
	}
	if e.permission != "" {
		fmt.Fprintf(&b, ": the app lacks the permission %s (grant it in the DingTalk developer console)", e.permission)
	}
	if e.message != "" {
		fmt.Fprintf(&b, ": %s", e.message)
	}
	if e.requestID != "" {
		fmt.Fprintf(&b, " (requestid %s)", e.requestID)
	}
	if e.cause != nil {
		fmt.Fprintf(&b, ": %v", e.cause)
	}
	return b.String()
}

func (e *apiError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// IsQuotaExhausted reports whether err comes from a DingTalk limit that will not lift soon,
// so retrying before it resets only wastes calls: the org's monthly API quota
// (Forbidden.AccessDenied.ApiCountLimitForOrg, old API 90020) or the organiser's limit of
// 100 new events a day (flowLimit). Such errors also wrap models.ErrUnavailable.
func IsQuotaExhausted(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.quota
}

// MissingPermission returns the app permission DingTalk said is missing (errcode 88
// sub_code 60011, or 403 ...AccessTokenPermissionDenied), or "".
func MissingPermission(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.permission
	}
	return ""
}

// hasCode reports whether err carries the DingTalk code.
func hasCode(err error, code string) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.code == code
}

// classify turns what one attempt returned into an apiError, or nil for success.
func classify(err error) *apiError {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var sdk *tea.SDKError
	switch {
	case errors.As(err, &sdk):
		return fromSDK(sdk)
	case errors.Is(err, context.Canceled):
		return &apiError{cause: err, unmetered: true}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{cause: err, kind: models.ErrUnavailable, unmetered: true}
	case errors.Is(err, errBadAnswer):
		return &apiError{status: 200, cause: err, kind: models.ErrUnavailable, retry: true}
	}
	// Transport failures, including bodies the SDK could not parse (an HTML ban page).
	return &apiError{cause: err, kind: models.ErrUnavailable, retry: true, unmetered: true}
}

func fromSDK(sdk *tea.SDKError) *apiError {
	ae := &apiError{status: tea.IntValue(sdk.StatusCode), code: tea.StringValue(sdk.Code)}
	var body map[string]any
	if json.Unmarshal([]byte(tea.StringValue(sdk.Data)), &body) == nil {
		ae.message = firstString(body, "message", "Message")
		ae.requestID = firstString(body, "requestid", "RequestId", "requestId")
	}
	if ae.status == 0 {
		// Raised by the SDK before sending, e.g. a request that fails its own validation.
		ae.message = tea.StringValue(sdk.Message)
		ae.kind, ae.unmetered = models.ErrInvalid, true
		return ae
	}
	switch c := ae.code; {
	case c == "invalidClientIdOrSecret":
		ae.kind = models.ErrForbidden
	case c == codeInvalidAuth || ae.status == 401:
		ae.kind, ae.auth, ae.unmetered = models.ErrForbidden, true, true
	case ae.status == 429 || c == "system.busy" || c == "systemBusy":
		ae.kind, ae.retry, ae.unmetered = models.ErrUnavailable, true, true
	case c == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
		c == "Forbidden.AccessDenied.QpsLimitForApi",
		c == "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi":
		ae.kind, ae.retry, ae.unmetered = models.ErrUnavailable, true, true
	case c == codeQuota:
		ae.kind, ae.quota, ae.unmetered = models.ErrUnavailable, true, true
	case c == codeFlowLimit:
		ae.kind, ae.quota = models.ErrUnavailable, true
	case c == codeIdemProcessing:
		ae.kind, ae.retry = models.ErrUnavailable, true
	case c == codeRoomBusy:
		ae.kind = models.ErrConflict
	case c == codeDuplicateToken:
		ae.kind = models.ErrInvalid
	case ae.status >= 500:
		ae.kind, ae.retry = models.ErrUnavailable, true
	case ae.status == 404:
		ae.kind = models.ErrNotFound
	case ae.status == 403 || c == codePermissionDeny || strings.HasPrefix(c, "Forbidden."):
		ae.kind = models.ErrForbidden
		if m := scopeRe.FindStringSubmatch(ae.message); m != nil {
			ae.permission = m[1]
		}
	case ae.status == 409:
		ae.kind = models.ErrConflict
	default:
		ae.kind = models.ErrInvalid
	}
	return ae
}

// fromOld classifies an old-API answer: an HTTP status other than 200, or an errcode.
func fromOld(status, errcode int, msg, requestID string) *apiError {
	ae := &apiError{status: status, message: msg, requestID: requestID, old: status == 200}
	if ae.old || errcode != 0 {
		ae.code = strconv.Itoa(errcode)
	}
	classifyOld(ae, status, errcode)
	return ae
}

// codeOldWrapped is the old API's errcode 88, whose sub_code carries the real error.
const codeOldWrapped = 88

// subCodeRe finds the sub code inside errmsg ("ding talk error[subcode=40014,...]") for
// answers that carry no sub_code field.
var subCodeRe = regexp.MustCompile(`subcode=(-?\d+)`)

// subCode reads sub_code, a JSON string or number, falling back to the one in errmsg;
// 0 when there is none.
func subCode(raw json.RawMessage, errmsg string) int {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = strings.TrimSpace(string(raw))
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return n
	}
	if m := subCodeRe.FindStringSubmatch(errmsg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// scopeRe finds the permission DingTalk names in a permission error
// ("requiredScopes:[qyapi_get_member]").
var scopeRe = regexp.MustCompile(`requiredScopes[^\[]*\[([^\]]+)\]`)

// fromOldWrapped classifies errcode 88 by its sub_code: 40014 (and the other token codes)
// a dead token, 60011 a missing permission, 90018/90002 throttling, and so on, exactly as
// if the sub code had come as the errcode.
func fromOldWrapped(sub int, subMsg, errmsg, requestID string) *apiError {
	msg := subMsg
	if msg == "" {
		msg = errmsg
	}
	ae := &apiError{status: 200, message: msg, requestID: requestID, old: true,
		code: fmt.Sprintf("%d/%d", codeOldWrapped, sub)}
	if sub == 60011 {
		ae.kind = models.ErrForbidden
		if m := scopeRe.FindStringSubmatch(msg); m != nil {
			ae.permission = m[1]
		} else {
			ae.permission = "unknown (see the message)"
		}
		return ae
	}
	classifyOld(ae, 200, sub)
	return ae
}

// classifyOld sets ae's kind and flags from an old-API errcode.
func classifyOld(ae *apiError, status, errcode int) {
	switch {
	case status >= 500:
		ae.kind, ae.retry = models.ErrUnavailable, true
	case status != 200:
		ae.kind = models.ErrInvalid
	case errcode == 40001 || errcode == 40014 || errcode == 42001:
		ae.kind, ae.auth, ae.unmetered = models.ErrForbidden, true, true
	case errcode == -1:
		ae.kind, ae.retry = models.ErrUnavailable, true
	case errcode == 90018 || errcode == 90002:
		ae.kind, ae.retry, ae.unmetered = models.ErrUnavailable, true, true
	case errcode == 90020:
		ae.kind, ae.quota, ae.unmetered = models.ErrUnavailable, true, true
	case errcode == 33012 || errcode == 60121:
		ae.kind = models.ErrNotFound
	case errcode == 60011:
		ae.kind = models.ErrForbidden
	default:
		ae.kind = models.ErrInvalid
	}
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, isString := m[k].(string); isString && s != "" {
			return s
		}
	}
	return ""
}
