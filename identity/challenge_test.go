package identity

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// apiKey is a custom authenticator with no challenge of its own: it reads
// X-Api-Key and refuses every key but "good".
type apiKey struct{}

func (apiKey) Scheme() string { return "apikey" }

func (apiKey) Authenticate(r *http.Request) (User, error) {
	switch k := r.Header.Get("X-Api-Key"); k {
	case "":
		return nil, nil
	case "good":
		return alice, nil
	default:
		return nil, fmt.Errorf("%w: unknown api key", ErrInvalidCredentials)
	}
}

// TestRefusalChallengeIsTheFirstAvailable holds DRF's rule: a refused
// credential is a 401 with the challenge of the first authenticator that
// has one, whichever authenticator refused; with no challenge available it
// is a 403, never a 401 without WWW-Authenticate (RFC 9110 forbids it).
func TestRefusalChallengeIsTheFirstAvailable(t *testing.T) {
	noToken := func(context.Context, string) (User, error) { return nil, nil }
	bearer := &Bearer{Lookup: noToken}
	token := &Bearer{Keyword: "Token", Lookup: noToken}
	for _, tc := range []struct {
		name      string
		auths     []Authenticator
		header    string
		value     string
		status    int
		challenge string
	}{
		{"custom alone: 403", []Authenticator{apiKey{}}, "X-Api-Key", "bad", http.StatusForbidden, ""},
		{"custom then bearer: bearer's challenge", []Authenticator{apiKey{}, bearer}, "X-Api-Key", "bad", http.StatusUnauthorized, `Bearer realm="api"`},
		{"bearer refused, token first: token's challenge", []Authenticator{token, bearer}, "Authorization", "Bearer nope", http.StatusUnauthorized, `Token realm="api"`},
		{"token refused", []Authenticator{apiKey{}, token}, "Authorization", "Token nope", http.StatusUnauthorized, `Token realm="api"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, _ := testLogger(t)
			m, err := New(Config{Authenticators: tc.auths, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/api/me", nil)
			r.Header.Set(tc.header, tc.value)
			rec := httptest.NewRecorder()
			m.Handler(whoami).ServeHTTP(rec, r)
			if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.challenge {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tc.status, tc.challenge)
			}
		})
	}
}

// TestNilCustomAuthenticator: a nil pointer of a custom type is refused at
// construction, never called (its Scheme would panic), and FirstChallenge
// skips it.
func TestNilCustomAuthenticator(t *testing.T) {
	var nilKey *pointerKey
	if _, err := New(Config{Authenticators: []Authenticator{nilKey}}); err == nil || !strings.Contains(err.Error(), "Authenticators[0] is nil") {
		t.Errorf("New = %v, want an error naming Authenticators[0]", err)
	}
	if got := FirstChallenge([]Authenticator{nilKey, &BasicAuth{}}); got != `Basic realm="api", charset="UTF-8"` {
		t.Errorf("FirstChallenge = %q", got)
	}
}

// pointerKey is a custom Challenger with pointer methods that read its
// fields.
type pointerKey struct{ realm string }

func (p *pointerKey) Scheme() string                           { return "key-" + p.realm }
func (p *pointerKey) Challenge() string                        { return "Key realm=" + p.realm }
func (p *pointerKey) Authenticate(*http.Request) (User, error) { return nil, nil }

// TestRefusalGoesThroughTheResponder: the middleware's refusal is the
// given Responder's, so an application's own refusal page sees it too.
func TestRefusalGoesThroughTheResponder(t *testing.T) {
	rs, err := NewResponder(ResponderConfig{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref, _ := RefusalFromContext(r.Context())
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(ref.Code))
	})})
	if err != nil {
		t.Fatal(err)
	}
	log, _ := testLogger(t)
	m, err := New(Config{Authenticators: []Authenticator{apiKey{}}, Responder: rs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("X-Api-Key", "stolen")
	rec := httptest.NewRecorder()
	m.Handler(whoami).ServeHTTP(rec, r)
	if rec.Code != http.StatusTeapot || rec.Body.String() != "invalid_credentials" {
		t.Errorf("%d %q, want the Responder's handler with invalid_credentials", rec.Code, rec.Body.String())
	}
}
