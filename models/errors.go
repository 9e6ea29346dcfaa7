package models

import (
	"errors"
	"fmt"
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

// Message is a text shown to people, in both UI languages.
type Message struct {
	ZH string
	EN string
}

// In returns the message in lang ("en" for English; anything else gives Chinese).
func (m Message) In(lang string) string {
	if lang == "en" && m.EN != "" {
		return m.EN
	}
	if m.ZH == "" {
		return m.EN
	}
	return m.ZH
}

// Error is an error that is safe to show to a user. Kind is one of the Err* kinds above,
// Code a stable machine-readable code for the JSON API (e.g. "oa_frozen"), Field the form
// field it concerns (empty for the whole request), and Err the underlying cause for logs.
type Error struct {
	Kind  error
	Code  string
	Field string
	Msg   Message
	// Args are the values the reader's catalog puts into the message of Code, for an
	// error built with Coded (which carries no sentence of its own).
	Args []string
	Err  error
}

// Coded builds a user-facing error of the given kind that carries only its code and the
// arguments of its message; the web layer renders the text from its catalog.
func Coded(kind error, code, field string, args ...string) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Args: args}
}

// E builds a user-facing error of the given kind.
func E(kind error, code, field, zh, en string) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Msg: Message{ZH: zh, EN: en}}
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
		s += fmt.Sprintf(" %q", e.Args)
	}
	if e.Msg.EN != "" {
		s = fmt.Sprintf("%s: %s", e.Code, e.Msg.EN)
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

// UserError returns the first *Error in err's chain, or nil.
func UserError(err error) *Error {
	var ue *Error
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}
