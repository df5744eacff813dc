package openatp

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error. The HTTP API maps each kind to one status code in
// one table; the zero value is Internal.
type Kind uint8

// The error kinds. Append only.
const (
	Internal         Kind = iota // unexpected failure; details are logged, never shown
	Invalid                      // malformed or invalid input
	Unauthenticated              // no credentials or bad credentials
	Forbidden                    // valid credentials, insufficient permission
	NotFound                     // the thing asked for does not exist (or is not visible)
	Conflict                     // the thing to create exists already
	TooManyRequests              // a rate limit was reached
	Unavailable                  // a dependency (the store) cannot be reached
	Canceled                     // the caller went away: its context was canceled
	MethodNotAllowed             // the resource exists but not for this method
	RequestTimeout               // the request (its body) was not received in time
	TooLarge                     // the request (its body) is larger than accepted
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case TooManyRequests:
		return "too many requests"
	case Unavailable:
		return "unavailable"
	case Canceled:
		return "canceled"
	case MethodNotAllowed:
		return "method not allowed"
	case RequestTimeout:
		return "request timeout"
	case TooLarge:
		return "too large"
	}
	return "internal"
}

// Error is an error with a kind, an optional MDE error code (such as
// "ResourceNotFound") and a message that is safe to show to the caller.
// Err, when set, is the underlying cause; it is logged, never shown.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		// A cause that only restates the message (a *FieldError, the
		// typed form of "field: reason") is not repeated.
		if cause := e.Err.Error(); !strings.HasSuffix(e.Message, cause) {
			return e.Message + ": " + cause
		}
		return e.Message
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// CodedErrorf is Errorf with an explicit MDE error code.
func CodedErrorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error in err's chain; else
// Canceled for a bare context.Canceled, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	return Internal
}

// FieldError is a validation failure of one field of an input record: the
// typed form of an Invalid error whose message is "field: reason". It is
// the Err of such an *Error (Machine.Normalize, Logon.Normalize, the
// stores' batch errors under an *ItemError), so that a caller that names
// the field (the importer) reads it with errors.As instead of parsing text.
type FieldError struct {
	Field  string // the property, such as "lastSeen" or "ipAddresses.ipAddress"; "" if none
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// InvalidField returns the Invalid error (code InvalidInput) of a field:
// message "field: reason", with the *FieldError as its cause.
func InvalidField(field, format string, args ...any) *Error {
	fe := &FieldError{Field: field, Reason: sprintf(format, args...)}
	return &Error{Kind: Invalid, Code: "InvalidInput", Message: fe.Error(), Err: fe}
}

// IsKind reports whether err carries the given kind.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
