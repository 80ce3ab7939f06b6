package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
)

// factorVerifier is a fake verifier of its own method that passes only
// its own answer (form field "answer" = the method + "-ok"), so a test
// sees which verifier an answer reached. Health and Begin failures come
// from its fakeVerifier.
type factorVerifier struct {
	*fakeVerifier
	method string

	mu        sync.Mutex
	completes int
}

func newFactor(method string) *factorVerifier {
	return &factorVerifier{fakeVerifier: &fakeVerifier{}, method: method}
}

func (f *factorVerifier) Method() string { return f.method }

func (f *factorVerifier) Complete(r *http.Request, _ string, state string) error {
	f.mu.Lock()
	f.completes++
	f.mu.Unlock()
	if s := r.FormValue("state"); s != "" && s != state {
		return fmt.Errorf("%s: %w", f.method, mfa.ErrState)
	}
	if r.PostFormValue("answer") != f.method+"-ok" {
		return fmt.Errorf("%s: %w", f.method, mfa.ErrInvalid)
	}
	mfa.SetFactor(r, f.method)
	return nil
}

func (f *factorVerifier) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.completes
}

// checkedVerifier is a factorVerifier that can tell who is enrolled (an
// mfa.EnrollmentChecker, as totp.Verifier); its Begin refuses the others
// with ErrNotEnrolled, as a real one does.
type checkedVerifier struct {
	*factorVerifier
	users map[string]bool
	err   error // of Enrolled
}

func newChecked(method string, users ...string) *checkedVerifier {
	c := &checkedVerifier{factorVerifier: newFactor(method), users: map[string]bool{}}
	for _, u := range users {
		c.users[u] = true
	}
	return c
}

func (c *checkedVerifier) Enrolled(_ context.Context, userID string) (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	return c.users[userID], nil
}

func (c *checkedVerifier) Begin(ctx context.Context, userID, state string) (mfa.Prompt, error) {
	if !c.users[userID] && c.err == nil {
		return mfa.Prompt{}, fmt.Errorf("%s: %w", c.method, mfa.ErrNotEnrolled)
	}
	return c.fakeVerifier.Begin(ctx, userID, state)
}

// maybeVerifier cannot tell who is enrolled (as Duo): its Begin refuses
// the users it does not know.
type maybeVerifier struct {
	*factorVerifier
	users map[string]bool
}

func (m maybeVerifier) Begin(ctx context.Context, userID, state string) (mfa.Prompt, error) {
	if !m.users[userID] {
		return mfa.Prompt{}, fmt.Errorf("%s: %w", m.method, mfa.ErrNotEnrolled)
	}
	return m.fakeVerifier.Begin(ctx, userID, state)
}

// multiSite is a site whose gate has the verifiers vs, in that order.
func multiSite(t *testing.T, mod func(*mfa.Config), vs ...mfa.Verifier) *site {
	t.Helper()
	return newSite(t, vs[0], func(c *mfa.Config) {
		c.Verifiers = vs
		if mod != nil {
			mod(c)
		}
	})
}

// mfaEvents returns the gate's events since the last call (but
// mfa.required) as "name method [reason]".
func (st *site) mfaEvents() []string {
	var out []string
	for _, e := range st.events.Take() {
		if !strings.HasPrefix(e.Name, "mfa.") || e.Name == "mfa.required" {
			continue
		}
		s := e.Name + " " + e.Field("mfa_method")
		if r := e.Field("reason"); r != "" {
			s += " " + r
		}
		out = append(out, s)
	}
	return out
}

// begin sends GET /mfa (?method= when method is set) and checks the
// status and the Start the page got.
func (st *site) begin(method string, code int, wantMethod, wantAlternatives string) {
	st.t.Helper()
	target := "/mfa"
	if method != "" {
		target += "?method=" + method
	}
	w := st.do("GET", target, "")
	if w.Code != code || w.Header().Get("Mfa-Method") != wantMethod || w.Header().Get("Mfa-Alternatives") != wantAlternatives {
		st.t.Fatalf("GET %s: %d, method %q, alternatives %q; want %d, %q, %q (body %q)", target, w.Code,
			w.Header().Get("Mfa-Method"), w.Header().Get("Mfa-Alternatives"), code, wantMethod, wantAlternatives, w.Body)
	}
}

func wantEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: events %q, want %q", what, got, want)
	}
}

// TestBeginPrefersFirstEnrolled: Begin begins the first verifier the
// user is enrolled in, and lists the others they may switch to; a
// verifier that cannot tell is a maybe, listed and tried.
func TestBeginPrefersFirstEnrolled(t *testing.T) {
	for _, c := range []struct {
		name         string
		user         string
		code         int
		method, alts string
		events       []string
	}{
		{"both: the first", "alice", 200, "code", "key,push", []string{"mfa.challenge code"}},
		{"the second only", "bob", 200, "key", "push", []string{"mfa.challenge key"}},
		{"none but a maybe that knows them", "carol", 200, "push", "", []string{"mfa.challenge push"}},
		{"none at all", "dave", 403, "code", "", []string{"mfa.failure code not_enrolled"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, key := newChecked("code", "alice"), newChecked("key", "alice", "bob")
			push := maybeVerifier{newFactor("push"), map[string]bool{"carol": true}}
			st := multiSite(t, nil, code, key, push)
			for _, id := range []string{"carol", "dave"} {
				st.users[id] = identity.Basic{UserID: id, IsActive: true}
			}
			st.login(c.user)
			st.begin("", c.code, c.method, c.alts)
			wantEvents(t, "begin", st.mfaEvents(), c.events...)
			if c.code != 200 {
				if s := st.status(); s.State != mfa.None {
					t.Errorf("status after a refused Begin: %+v", s)
				}
				return
			}
			if s := st.status(); s.State != mfa.Pending || s.Method != c.method {
				t.Errorf("status %+v, want pending %s", s, c.method)
			}
			expect(t, "answer", st.do("POST", "/mfa", "answer="+c.method+"-ok"), 303, "/")
			if s := st.status(); s.State != mfa.Verified || s.Method != c.method {
				t.Errorf("status %+v, want verified by %s", s, c.method)
			}
			wantEvents(t, "complete", st.mfaEvents(), "mfa.success "+c.method)
		})
	}
}

// TestSwitchMethod: BeginMethod replaces the challenge under way; an
// unknown method or one the user does not have is an error and an event,
// and leaves the challenge under way as it was.
func TestSwitchMethod(t *testing.T) {
	for _, c := range []struct {
		name   string
		method string // ?method=
		code   int
		start  string // Start.Method
		alts   string // Start.Alternatives
		event  string
		passes string // the answer that passes afterwards
	}{
		{"switch", "key", 200, "key", "code,push", "mfa.challenge key", "key"},
		{"switch to the current one", "code", 200, "code", "key,push", "mfa.challenge code", "code"},
		{"unknown method", "sms", 403, "", "", "mfa.failure sms unknown_method", "code"},
		{"unknown method, escaped", "%0Akey", 403, "", "", "mfa.failure \\x0akey unknown_method", "code"},
		{"blank is unknown", "%20", 403, "", "", "mfa.failure   unknown_method", "code"},
		{"not enrolled", "other", 403, "other", "code,key,push", "mfa.failure other not_enrolled", "code"},
		{"a maybe that does not know the user", "push", 403, "push", "code,key", "mfa.failure push not_enrolled", "code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, key, other := newChecked("code", "alice"), newChecked("key", "alice"), newChecked("other", "bob")
			push := maybeVerifier{newFactor("push"), map[string]bool{"bob": true}}
			st := multiSite(t, nil, code, key, other, push)
			st.login("alice")
			st.do("GET", "/account?x=1", "") // the return path
			st.begin("", 200, "code", "key,push")
			st.mfaEvents()
			st.begin(c.method, c.code, c.start, c.alts)
			wantEvents(t, "switch", st.mfaEvents(), c.event)
			if s := st.status(); s.State != mfa.Pending || s.Method != c.passes {
				t.Fatalf("status %+v, want pending %s", s, c.passes)
			}
			// One challenge at a time: the other method's answer is refused
			// by the challenge's verifier and never reaches its own.
			for _, f := range []*checkedVerifier{code, key} {
				if f.method == c.passes {
					continue
				}
				expect(t, "the other method's answer", st.do("POST", "/mfa", "answer="+f.method+"-ok"), 403, "")
				if f.calls() != 0 {
					t.Errorf("%s's Complete called %d times for a challenge of %s", f.method, f.calls(), c.passes)
				}
				wantEvents(t, "other answer", st.mfaEvents(), "mfa.failure "+c.passes+" invalid")
			}
			expect(t, "the challenge's answer", st.do("POST", "/mfa", "answer="+c.passes+"-ok"), 303, "/account?x=1")
			expect(t, "in", st.do("GET", "/account", ""), 200, "")
		})
	}
}

// TestAnswerForAnotherMethod: an answer that names another method than the
// challenge's (mfa.MethodField) is ErrState, reaches no verifier and
// leaves the challenge under way.
func TestAnswerForAnotherMethod(t *testing.T) {
	for _, c := range []struct {
		name, body string
		code       int
		event      string
	}{
		{"another method's answer", "mfa_method=key&answer=key-ok", 403, "mfa.state_mismatch code other_method"},
		{"another method, in the query", "answer=code-ok", 403, "mfa.state_mismatch code other_method"},
		{"an unknown method", "mfa_method=sms&answer=code-ok", 403, "mfa.state_mismatch code other_method"},
		{"its own method", "mfa_method=code&answer=code-ok", 303, "mfa.success code"},
		{"no method named", "answer=code-ok", 303, "mfa.success code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, key := newChecked("code", "alice"), newChecked("key", "alice")
			st := multiSite(t, nil, code, key)
			st.login("alice")
			st.begin("", 200, "code", "key")
			st.mfaEvents()
			target := "/mfa"
			if c.name == "another method, in the query" {
				target += "?mfa_method=key"
			}
			w := st.do("POST", target, c.body)
			if w.Code != c.code {
				t.Fatalf("POST: %d %q, want %d", w.Code, w.Body, c.code)
			}
			wantEvents(t, "answer", st.mfaEvents(), c.event)
			if key.calls() != 0 {
				t.Errorf("key's Complete called %d times", key.calls())
			}
			if c.code == 303 {
				return
			}
			if !strings.Contains(w.Body.String(), mfa.ErrState.Error()) || code.calls() != 0 {
				t.Errorf("refusal %q, code's Complete called %d times", w.Body, code.calls())
			}
			expect(t, "the challenge stays", st.do("POST", "/mfa", "answer=code-ok"), 303, "/")
		})
	}
}

// TestStepUpWithEitherMethod: a step-up route counts the last factor
// passed, whichever method it was.
func TestStepUpWithEitherMethod(t *testing.T) {
	for _, first := range []string{"code", "key"} {
		t.Run(first, func(t *testing.T) {
			st := multiSite(t, nil, newChecked("code", "alice"), newChecked("key", "alice"))
			st.login("alice")
			st.begin("", 200, "code", "key")
			if first == "key" {
				st.begin("key", 200, "key", "code")
			}
			expect(t, "pass", st.do("POST", "/mfa", "answer="+first+"-ok"), 303, "/")
			expect(t, "recent", st.do("GET", "/settings", ""), 200, "")
			st.clock.Add(5 * time.Minute)
			expect(t, "too old", st.do("GET", "/settings", ""), 303, "/mfa")
			other := map[string]string{"code": "key", "key": "code"}[first]
			st.begin(other, 200, other, first)
			expect(t, "step up with the other", st.do("POST", "/mfa", "answer="+other+"-ok"), 303, "/settings")
			expect(t, "recent again", st.do("GET", "/settings", ""), 200, "")
			if s := st.status(); s.Method != other {
				t.Errorf("status %+v, want verified by %s", s, other)
			}
		})
	}
}

// TestFailModePerVerifier: each provider's health is its own (cached per
// verifier); a challenge begins with the user's next factor while one is
// down, chosen or not; the fail mode applies only when none of the user's
// factors can begin.
func TestFailModePerVerifier(t *testing.T) {
	for _, c := range []struct {
		name     string
		open     bool
		user     string // alice has code and key, bob code only, carol key only
		down     string // "code", "key", "both"
		beginErr bool   // the down verifier's Begin fails, not its health
		method   string // ?method=
		code     int
		start    string // Start.Method
		events   []string
		state    mfa.State
	}{
		{"closed, first down: the next", false, "alice", "code", false, "", 200, "key",
			[]string{"mfa.unavailable code", "mfa.challenge key"}, mfa.Pending},
		{"open, first down: the next, no bypass", true, "alice", "code", false, "", 200, "key",
			[]string{"mfa.unavailable code", "mfa.challenge key"}, mfa.Pending},
		{"open, first's Begin fails: the next", true, "alice", "code", true, "", 200, "key",
			[]string{"mfa.unavailable code", "mfa.challenge key"}, mfa.Pending},
		{"open, the chosen one down: the next, no bypass", true, "alice", "code", false, "code", 200, "key",
			[]string{"mfa.unavailable code", "mfa.challenge key"}, mfa.Pending},
		{"closed, the only one down", false, "bob", "code", false, "", 503, "code",
			[]string{"mfa.unavailable code"}, mfa.None},
		{"open, the only one down: bypass", true, "bob", "code", false, "", 303, "code",
			[]string{"mfa.bypassed code"}, mfa.Bypassed},
		{"closed, both down", false, "alice", "both", false, "", 503, "code",
			[]string{"mfa.unavailable code"}, mfa.None},
		{"open, both down: bypass", true, "alice", "both", false, "key", 303, "key",
			[]string{"mfa.bypassed key"}, mfa.Bypassed},
		{"closed, another's outage is not mine", false, "bob", "key", false, "", 200, "code",
			[]string{"mfa.challenge code"}, mfa.Pending},
		{"open, another's outage is not mine", true, "carol", "code", false, "", 200, "key",
			[]string{"mfa.challenge key"}, mfa.Pending},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, key := newChecked("code", "alice", "bob"), newChecked("key", "alice", "carol")
			for _, f := range []*checkedVerifier{code, key} {
				if c.down == f.method || c.down == "both" {
					f.set(func(fv *fakeVerifier) {
						if c.beginErr {
							fv.beginErr = errProvider
						} else {
							fv.health = errProvider
						}
					})
				}
			}
			st := multiSite(t, func(cfg *mfa.Config) {
				if c.open {
					cfg.FailMode = mfa.Open
				}
			}, code, key)
			st.users["carol"] = identity.Basic{UserID: "carol", IsActive: true}
			st.login(c.user)
			target := "/mfa"
			if c.method != "" {
				target += "?method=" + c.method
			}
			w := st.do("GET", target, "")
			if w.Code != c.code || w.Header().Get("Mfa-Method") != c.start {
				t.Fatalf("GET %s: %d %q, want %d %q", target, w.Code, w.Header().Get("Mfa-Method"), c.code, c.start)
			}
			wantEvents(t, "begin", st.mfaEvents(), c.events...)
			if s := st.status(); s.State != c.state {
				t.Errorf("state %v, want %v", s.State, c.state)
			}
			if c.code == 503 && c.down == "both" && !strings.Contains(w.Body.String(), "unavailable") {
				t.Errorf("503 body %q", w.Body)
			}
			// Health is cached per verifier: a second Begin within
			// HealthTTL asks neither again.
			st.do("GET", "/mfa", "")
			for _, f := range []*checkedVerifier{code, key} {
				if f.healthCalls > 1 {
					t.Errorf("%s's health asked %d times within HealthTTL", f.method, f.healthCalls)
				}
			}
		})
	}
}

// TestEnrolledErrorIsMaybe: a verifier whose Enrolled fails is tried, and
// its Begin decides (here: its store is down, so the next factor begins).
func TestEnrolledErrorIsMaybe(t *testing.T) {
	code, key := newChecked("code", "alice"), newChecked("key", "alice")
	code.err = errProvider
	st := multiSite(t, nil, code, key)
	st.login("alice")
	st.begin("", 200, "code", "key")
	code.set(func(f *fakeVerifier) { f.beginErr = errProvider })
	st.begin("", 200, "key", "code")
}

// TestAnyEnrolled: Required for "enrolled in any", failing closed.
func TestAnyEnrolled(t *testing.T) {
	alice := identity.Basic{UserID: "alice"}
	failing := newChecked("broken")
	failing.err = errProvider
	for _, c := range []struct {
		name    string
		vs      []mfa.Verifier
		want    bool
		wantErr bool
	}{
		{"enrolled in the second", []mfa.Verifier{newChecked("code"), newChecked("key", "alice")}, true, false},
		{"enrolled in none", []mfa.Verifier{newChecked("code"), newChecked("key")}, false, false},
		{"one cannot tell: everyone", []mfa.Verifier{newChecked("code"), newFactor("push")}, true, false},
		{"a nil one: everyone", []mfa.Verifier{newChecked("code"), nil}, true, false},
		{"a failing check and no yes: the error", []mfa.Verifier{failing, newChecked("key")}, false, true},
		{"a failing check and a yes", []mfa.Verifier{failing, newChecked("key", "alice")}, true, false},
		{"none", nil, false, false},
	} {
		got, err := mfa.AnyEnrolled(c.vs...)(context.Background(), alice)
		if got != c.want || (err != nil) != c.wantErr || (err != nil && !errors.Is(err, errProvider)) {
			t.Errorf("%s: %v, %v; want %v, error %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}

// TestAnyEnrolledAsRequired: through the gate, a user with no factor is
// not asked; one with either is.
func TestAnyEnrolledAsRequired(t *testing.T) {
	code, key := newChecked("code", "alice"), newChecked("key", "bob")
	st := multiSite(t, func(c *mfa.Config) { c.Required = mfa.AnyEnrolled(c.Verifiers...) }, code, key)
	st.users["dave"] = identity.Basic{UserID: "dave", IsActive: true}
	for user, want := range map[string]int{"alice": 303, "bob": 303, "dave": 200} {
		st.cookie = nil
		st.login(user)
		expect(t, user, st.do("GET", "/account", ""), want, map[int]string{303: "/mfa", 200: ""}[want])
	}
}

// TestBeginMethodEdges: a request without a session of its user is
// ErrNoSession before its method is judged; "" is no method.
func TestBeginMethodEdges(t *testing.T) {
	st := multiSite(t, nil, newChecked("code", "alice"), newChecked("key", "alice"))
	if _, err := st.gate.BeginMethod(nil, st.reqWithCookie("/mfa"), "sms"); !errors.Is(err, mfa.ErrNoSession) {
		t.Errorf("anonymous BeginMethod: %v, want ErrNoSession", err)
	}
	wantEvents(t, "anonymous", st.mfaEvents())
	st.login("alice")
	start, err := st.gate.BeginMethod(nil, st.reqWithCookie("/mfa"), "")
	if !errors.Is(err, mfa.ErrUnknownMethod) || start.Method != "" || start.Alternatives != nil {
		t.Errorf(`BeginMethod(""): %+v, %v; want ErrUnknownMethod`, start, err)
	}
	wantEvents(t, "empty", st.mfaEvents(), "mfa.failure  unknown_method")
}
