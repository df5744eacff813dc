package auth

import (
	"fmt"
	"net/http"
	"time"
)

// oauthError is an OAuth2 error response (RFC 6749 §5.2) with Entra's
// AADSTS code in its description.
type oauthError struct {
	status      int
	code        string // "invalid_request", "invalid_client", ...
	aadsts      int
	description string
	retryAfter  time.Duration // > 0: sent as Retry-After
}

// failedSignIn reports whether the error refuses credentials a client
// presented (a secret, a password, an app or tenant that does not exist):
// those count against the client address's failure budget.
func (e *oauthError) failedSignIn() bool {
	switch e.aadsts {
	case 7000215, 700016, 90002, 50126, 50053:
		return true
	}
	return false
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func oauthErr(status int, code string, aadsts int, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, aadsts: aadsts, description: fmt.Sprintf(format, args...)}
}

func missingParam(name string) *oauthError {
	return oauthErr(http.StatusBadRequest, "invalid_request", 900144,
		"The request body must contain the following parameter: '%s'.", name)
}

// retrySeconds is d in whole seconds, rounded up, at least 1.
func retrySeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }
