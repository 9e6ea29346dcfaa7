package dingtalkfake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Error codes the fake answers with, as DingTalk documents them.
const (
	codeInvalidAuth     = "InvalidAuthentication"
	codeQPS             = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
	codeQPSAPI          = "Forbidden.AccessDenied.QpsLimitForApi"
	codeQPM             = "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"
	codeQuota           = "Forbidden.AccessDenied.ApiCountLimitForOrg"
	codeBusy            = "system.busy"
	codeIdemProcessing  = "idempotencyProcessing"
	codeDuplicateToken  = "invalidRequest.duplicateClientToken"
	codeInvalidParam    = "invalidParameter"
	codeItemNotFound    = "itemNotFound"
	codeInstanceMissing = "instanceNotExist"
	codeRoomBusy        = "meetingRoomNotAvailable"
	codePermissionDeny  = "permissionDeny"
	codeFlowLimit       = "flowLimit"
	// codeSyncTokenExpired answers a listing with an expired syncToken. The real code is
	// not documented; the client treats any 4xx on a syncToken listing as "start over".
	codeSyncTokenExpired = codeInvalidParam
)

// FaultKind names a failure the fake can inject.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi
	// (old API: errcode 90018).
	FaultThrottle FaultKind = "throttle"
	// FaultBusy answers 429 system.busy (old API: errcode -1).
	FaultBusy FaultKind = "busy"
	// FaultServerError answers Fault.Status (default 500) with code systemError.
	FaultServerError FaultKind = "server_error"
	// FaultLatency delays the call by Fault.Delay, then answers it normally.
	FaultLatency FaultKind = "latency"
	// FaultHang never answers: the request waits until the client gives up or ClearFaults.
	FaultHang FaultKind = "hang"
	// FaultTokenExpired expires every access token and answers 400 InvalidAuthentication
	// (old API: errcode 42001).
	FaultTokenExpired FaultKind = "token_expired"
	// FaultQuotaExhausted answers 403 Forbidden.AccessDenied.ApiCountLimitForOrg, the
	// exhausted monthly quota (old API: errcode 90020).
	FaultQuotaExhausted FaultKind = "quota_exhausted"
	// FaultIdempotencyProcessing answers 400 idempotencyProcessing, as if a request with the
	// same x-client-token were still in flight.
	FaultIdempotencyProcessing FaultKind = "idempotency_processing"
	// FaultLostAnswer performs the call, then answers 500 as if the answer were lost on the
	// way back.
	FaultLostAnswer FaultKind = "lost_answer"
	// FaultPermissionDenied answers 403 Forbidden.AccessDenied.AccessTokenPermissionDenied
	// (old API: errcode 88, sub_code 60011) naming Fault.Permission (default
	// qyapi_get_member) as the missing permission.
	FaultPermissionDenied FaultKind = "permission_denied"
	// FaultRoomBusy answers 400 meetingRoomNotAvailable "room busy", which DingTalk
	// documents for the read-only room schedule query too.
	FaultRoomBusy FaultKind = "room_busy"
)

// Fault is an injected failure. It applies to the API named API (an API* constant; empty
// means every API, the token endpoints included) for the next Times calls, or until
// ClearFaults when Times is 0. When several faults match a call, the oldest applies.
type Fault struct {
	Kind   FaultKind
	API    string
	Times  int
	Delay  time.Duration // FaultLatency
	Status int           // FaultServerError; default 500
	// Permission is the permission FaultPermissionDenied names.
	Permission string
	// Rate, when between 0 and 1, makes the fault meet each matching call with that
	// probability (a flaky system); Times then counts only the calls it met.
	Rate float64
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultThrottle, FaultBusy, FaultServerError, FaultLatency, FaultHang, FaultTokenExpired,
		FaultQuotaExhausted, FaultIdempotencyProcessing, FaultLostAnswer, FaultPermissionDenied, FaultRoomBusy:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Times < 0 {
		return fmt.Errorf("fault times %d is negative", f.Times)
	}
	if f.Status != 0 && (f.Status < 500 || f.Status > 599) {
		return fmt.Errorf("fault status %d is not a 5xx", f.Status)
	}
	return nil
}

// SetFault injects f. It panics on an unknown kind, a negative Times or a Status outside
// 5xx, which are mistakes in the calling test; the admin endpoint answers 400 for them.
func (s *Server) SetFault(f Fault) {
	if err := f.validate(); err != nil {
		panic("dingtalkfake: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault and releases requests held by FaultHang.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	close(s.release)
	s.release = make(chan struct{})
}

// takeFault returns the fault that applies to the next call of api and uses it up. It runs
// with s.mu held.
func (s *Server) takeFault(api string) *Fault {
	for i, f := range s.faults {
		if f.API != "" && f.API != api {
			continue
		}
		if f.Rate > 0 && f.Rate < 1 && rand.Float64() >= f.Rate {
			continue
		}
		hit := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// faultReply is the answer of an error-type fault. It runs with s.mu held.
func (s *Server) faultReply(spec apiSpec, f *Fault) reply {
	if f.Kind == FaultTokenExpired {
		s.expireTokens()
	}
	if spec.old {
		// The old API wraps token, permission and throttling errors in errcode 88.
		switch f.Kind {
		case FaultThrottle:
			return oldWrapped(90018, "当前企业调用该接口的QPS超过限制")
		case FaultQuotaExhausted:
			return oldErr(90020, "当前企业调用接口次数已达上限")
		case FaultTokenExpired:
			return oldWrapped(40014, "不合法的access_token")
		case FaultPermissionDenied:
			return oldWrapped(60011, "没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/orgapp-server/add-api-permission，requiredScopes:["+f.permission()+"]")
		case FaultServerError:
			return reply{status: f.status(), body: oldBody{ErrCode: -1, ErrMsg: "系统错误"}}
		default:
			return oldErr(-1, "系统繁忙")
		}
	}
	switch f.Kind {
	case FaultThrottle:
		return apiErr(http.StatusForbidden, codeQPS, "当前应用调用该接口的QPS超过限制")
	case FaultBusy:
		return apiErr(http.StatusTooManyRequests, codeBusy, "system busy")
	case FaultTokenExpired:
		return apiErr(http.StatusBadRequest, codeInvalidAuth, "不合法的access_token (access_token is illegal or expired)")
	case FaultQuotaExhausted:
		return apiErr(http.StatusForbidden, codeQuota, "当前企业调用接口次数已达上限 (monthly API quota exhausted)")
	case FaultIdempotencyProcessing:
		return apiErr(http.StatusBadRequest, codeIdemProcessing, "request with the same x-client-token is being processed")
	case FaultPermissionDenied:
		return apiErr(http.StatusForbidden, "Forbidden.AccessDenied.AccessTokenPermissionDenied",
			"没有调用该接口的权限，requiredScopes:["+f.permission()+"]")
	case FaultRoomBusy:
		return apiErr(http.StatusBadRequest, codeRoomBusy, "room busy")
	default:
		return apiErr(f.status(), "systemError", "system error")
	}
}

func (f *Fault) permission() string {
	if f.Permission == "" {
		return "qyapi_get_member"
	}
	return f.Permission
}

func (f *Fault) status() int {
	if f.Status == 0 {
		return http.StatusInternalServerError
	}
	return f.Status
}
