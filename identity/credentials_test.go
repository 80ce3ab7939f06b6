package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Mutation testing (gremlins unleash ./identity) kills every mutant it runs
// in this package; there is no equivalent mutant to list. Gremlins reports
// seven mutants as NOT COVERED: the comparisons in switch case expressions
// (auth.go:109:12, 109:24, 111:12; responder.go:184:12, 184:33, 186:12;
// sessions.go:237:27), which Go's cover profile puts in no block. Each was
// applied by hand and is killed: TestBearerAndBasic (auth.go),
// TestResponderKind and TestResponderKindSkipsMalformedAcceptParts
// (responder.go), TestSessionsLoginLogout and TestLogoutEverywhere
// (sessions.go). Mutants it reports TIMED OUT on a loaded machine (auth.go:63,
// 68; credentials.go:70; sessions.go:96) fail in under a second when applied
// by hand.

// anyToken is a Bearer that knows every well-formed token as alice's, so a
// test sees only the parser's verdict.
var anyToken = &Bearer{Lookup: func(context.Context, string) (User, error) { return alice, nil }}

func bearerVerdict(t *testing.T, authorization string) error {
	t.Helper()
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", authorization)
	u, err := anyToken.Authenticate(r)
	if err == nil && (u == nil || u.ID() != "alice") {
		t.Fatalf("Authenticate(%q) = %v, nil: want alice or an error", authorization, u)
	}
	if err != nil && !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("Authenticate(%q) = %v, want ErrInvalidCredentials", authorization, err)
	}
	return err
}

// TestBearerTokenIsExactlyToken68 walks the edges of RFC 9110's token68
// grammar (ALPHA / DIGIT / "-" "." "_" "~" "+" "/", then "=" padding only)
// through Bearer.Authenticate: the byte on each side of every character
// range, each punctuation mark, and padding in and out of place.
func TestBearerTokenIsExactlyToken68(t *testing.T) {
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{"a", true}, {"z", true}, {"A", true}, {"Z", true}, {"0", true}, {"9", true},
		{"-", true}, {".", true}, {"_", true}, {"~", true}, {"+", true}, {"/", true},
		{"`", false}, {"{", false}, {"@", false}, {"[", false}, {":", false}, {",", false},
		{"abc=", true}, {"abc==", true}, {"=", true},
		{"ab=c", false}, {"abc=a", false}, {"a=b=", false}, {"abc=\x7f", false},
		{"tok\x80", false}, {"tok!", false}, {"tok\"", false},
	} {
		err := bearerVerdict(t, "Bearer "+tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("token %q: err %v, want accepted=%v", tc.token, err, tc.ok)
		}
	}
}

// TestAuthorizationHeaderLengthLimitIsInclusive proves that a header of
// exactly MaxAuthorizationLen bytes is read and one byte more is refused.
func TestAuthorizationHeaderLengthLimitIsInclusive(t *testing.T) {
	header := func(n int) string { return "Bearer " + strings.Repeat("a", n-len("Bearer ")) }
	if err := bearerVerdict(t, header(MaxAuthorizationLen)); err != nil {
		t.Errorf("header of MaxAuthorizationLen bytes refused: %v", err)
	}
	if err := bearerVerdict(t, header(MaxAuthorizationLen+1)); err == nil {
		t.Error("header of MaxAuthorizationLen+1 bytes accepted")
	}
}

// TestIdentifyAnonymousNamesNoAuthenticator proves that a request no
// authenticator attempted reports index -1, not the index of one of them.
func TestIdentifyAnonymousNamesNoAuthenticator(t *testing.T) {
	m, err := New(Config{Authenticators: []Authenticator{anyToken, anyToken}})
	if err != nil {
		t.Fatal(err)
	}
	for _, authorization := range []string{"", "Digest username=x"} {
		r := httptest.NewRequest("GET", "/", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		u, which, err := m.Identify(r)
		if u != nil || which != -1 || err != nil {
			t.Errorf("Identify(%q) = %v, %d, %v; want nil, -1, nil", authorization, u, which, err)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer t")
	if u, which, err := m.Identify(r); u == nil || which != 0 || err != nil {
		t.Errorf("Identify(bearer) = %v, %d, %v; want alice, 0, nil", u, which, err)
	}
}

// TestResponderKindSkipsMalformedAcceptParts proves that an unparseable
// part of Accept neither counts as JSON nor hides the parts after it.
func TestResponderKindSkipsMalformedAcceptParts(t *testing.T) {
	rs := DefaultResponder()
	for _, tc := range []struct {
		accept string
		want   Kind
	}{
		{"application/json;=x", Navigation},
		{"application/json;=x, application/json", API},
		{"/, application/json", API},
		{"application/json, /, text/html", Navigation},
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Accept", tc.accept)
		if got := rs.Kind(r); got != tc.want {
			t.Errorf("Accept %q: Kind = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// TestDefaultResponderIsTheZeroConfig proves DefaultResponder is built (it
// must not panic) and answers as NewResponder(ResponderConfig{}) does.
func TestDefaultResponderIsTheZeroConfig(t *testing.T) {
	rs := DefaultResponder()
	if rs != DefaultResponder() {
		t.Error("DefaultResponder built twice")
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Accept", "application/json")
	rs.Refuse(rec, r, loginRequired)
	if rec.Code != http.StatusForbidden || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("zero-config API refusal: %d, challenge %q; want 403 without challenge", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}
