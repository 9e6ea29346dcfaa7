package models

import (
	"errors"
)

// Error kinds. Callers test for them with errors.Is; the web layer maps each kind to one
// HTTP status. Adapters wrap vendor failures in them so the bridge can decide what to do
// (retry on ErrUnavailable, reject on ErrConflict, and so on).
var (
	// ErrNotFound: the thing asked for does not exist (or the caller may not know it does).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request clashes with existing state, such as a room already taken.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is malformed or breaks a rule.
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrFrozen: the target system no longer accepts writes (the OA after its freeze).
	ErrFrozen = errors.New("frozen")
	// ErrUnavailable: a backend or the store is temporarily unreachable; try again later.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthorized: the caller is not signed in.
	ErrUnauthorized = errors.New("unauthorized")
)

// Error is an error the web layer can explain to a user. Kind is one of the Err* kinds
// above; Code a stable machine-readable code (the JSON API's error code, and the key of
// the text web shows for it); Field the form field it concerns (empty for the whole
// request); Args the named values the text needs (a room, times, a system); Err the
// underlying cause, for logs. Lower layers never carry sentences: web renders Code and
// Args in the reader's language from its catalog.
type Error struct {
	Kind  error
	Code  string
	Field string
	Args  Args
	Err   error
}

// E builds a user-facing error of the given kind. args are key, value pairs (an odd
// trailing key is ignored); use the Arg* keys and TimeArg for times.
func E(kind error, code, field string, args ...string) *Error {
	e := &Error{Kind: kind, Code: code, Field: field}
	if len(args) > 1 {
		e.Args = make(Args, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			e.Args[args[i]] = args[i+1]
		}
	}
	return e
}

// Wrap returns a copy of e that also carries cause, for logs.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

func (e *Error) Error() string {
	s := e.Code
	if len(e.Args) > 0 {
		s += " " + e.Args.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Reason returns the code and arguments of e, as stored with a reservation.
func (e *Error) Reason() Reason { return Reason{Code: e.Code, Args: e.Args} }

// UserError returns the first *Error in err's chain, or nil.
func UserError(err error) *Error {
	var ue *Error
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}

// UnknownUser is the error for a user id the catalog does not have (or no longer has):
// the request is refused, whether it came with a session, a header or a booking.
func UnknownUser(id string) *Error {
	return E(ErrForbidden, "unknown_user", "", ArgName, id)
}
