package totp_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/mfa"
)

// completeFrom posts code as the form field "code" from the client at
// remote (host:port) and returns Complete's error.
func (e *env) completeFrom(remote, user, code string) error {
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader(form(code)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = remote
	return e.v.Complete(r, user, "state")
}

// TestOwnerCodeAcceptedAfterStrangerGuesses: someone who knows alice's
// password guesses codes from another client until they are refused; alice's
// right code from her own client is still accepted (issue #14, item 5).
func TestOwnerCodeAcceptedAfterStrangerGuesses(t *testing.T) {
	e := newEnv(t, nil)
	wrong := "000000"
	if wrong == e.code(0) || wrong == e.code(1) || wrong == e.code(-1) {
		wrong = "111111"
	}
	const stranger, owner = "203.0.113.66:40000", "198.51.100.7:50000"
	for range 5 {
		wantErr(t, "stranger's wrong code", e.completeFrom(stranger, "alice", wrong), mfa.ErrInvalid)
	}
	wantErr(t, "stranger's sixth code", e.completeFrom(stranger, "alice", wrong), mfa.ErrLocked)
	wantErr(t, "owner's right code from her client", e.completeFrom(owner, "alice", e.code(0)), nil)
}
