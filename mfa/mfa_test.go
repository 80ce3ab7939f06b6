package mfa_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"go.uber.org/zap/zapcore"
)

func TestNewErrors(t *testing.T) {
	sm, v := scs.New(), &fakeVerifier{}
	for _, c := range []struct {
		name string
		cfg  mfa.Config
		want string
	}{
		{"no sessions", mfa.Config{Verifiers: []mfa.Verifier{v}}, "Config.Sessions"},
		{"no verifier", mfa.Config{Sessions: sm}, "Config.Verifiers is empty"},
		{"empty verifiers", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{}}, "Config.Verifiers is empty"},
		{"nil verifier", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v, nil}}, "Config.Verifiers[1] is nil"},
		{"typed nil verifier", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{(*fakeVerifier)(nil)}}, "Config.Verifiers[0] is nil"},
		{"same method twice", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v, namedVerifier{&fakeVerifier{}, "other"}, &fakeVerifier{}}}, `Config.Verifiers[0] and Config.Verifiers[2] both have method "fake"`},
		{"bad method", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v, badMethod{v}}}, "Config.Verifiers[1].Method()"},
		{"fail mode 2", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, FailMode: 2}, "Config.FailMode"},
		{"fail mode 255", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, FailMode: 255}, "Config.FailMode"},
		{"negative HealthTTL", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, HealthTTL: -1}, "Config.HealthTTL"},
		{"negative HealthTimeout", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, HealthTimeout: -time.Second}, "Config.HealthTimeout"},
		{"negative BypassFor", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, BypassFor: -time.Second}, "Config.BypassFor"},
		{"relative ChallengeURL", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, ChallengeURL: "mfa"}, "ChallengeURL"},
		{"bad CallbackURL", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, CallbackURL: "cb"}, "CallbackURL"},
		{"bad Exempt", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, Exempt: []string{"/a/{x"}}, "Exempt"},
		{"unsafe DefaultNext", mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, DefaultNext: "//evil.example"}, "DefaultNext"},
	} {
		_, err := mfa.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if _, err := mfa.New(mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}, FailMode: mfa.Open}); err != nil {
		t.Errorf("Open: %v", err)
	}
	m, _ := mfa.New(mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{v}})
	for _, d := range []time.Duration{0, -time.Minute} {
		if _, err := m.RequireRecent(d); err == nil {
			t.Errorf("RequireRecent(%v) = nil error", d)
		}
	}
}

type badMethod struct{ *fakeVerifier }

func (badMethod) Method() string { return "Bad|Method" }

func TestParseFailMode(t *testing.T) {
	for in, want := range map[string]mfa.FailMode{"closed": mfa.Closed, "CLOSED": mfa.Closed, "open": mfa.Open, "Open": mfa.Open} {
		if got, err := mfa.ParseFailMode(in); err != nil || got != want {
			t.Errorf("ParseFailMode(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "opn", "OPEN ", " closed", "fail-open", "true", "0", "open\n"} {
		if got, err := mfa.ParseFailMode(in); err == nil || got != mfa.Closed {
			t.Errorf("ParseFailMode(%q) = %v, %v; want Closed and an error", in, got, err)
		}
	}
	if mfa.FailMode(7).String() != "FailMode(7)" || mfa.Open.String() != "open" {
		t.Error("FailMode.String")
	}
}

// TestGate: a logged-in user without a second factor, for each kind of
// client and route.
func TestGate(t *testing.T) {
	nav := []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}
	js := []string{"Accept", "application/json"}
	htmx := []string{"HX-Request", "true"}
	for _, c := range []struct {
		name         string
		method, path string
		hdr          []string
		code         int
		location     string
	}{
		{"page", "GET", "/account?tab=2", nav, 303, "/mfa"},
		{"root", "GET", "/", nil, 303, "/mfa"},
		{"POST", "POST", "/account", nil, 303, "/mfa"},
		{"API: 403 JSON", "GET", "/api/me", js, 403, ""},
		{"htmx", "GET", "/account", htmx, 204, ""},
		{"challenge GET", "GET", "/mfa", nav, 200, ""},
		{"challenge with query", "GET", "/mfa?x=1", nav, 200, ""},
		{"challenge, trailing slash: not exempt", "GET", "/mfa/", nav, 303, "/mfa"},
		{"challenge, other case: not exempt", "GET", "/MFA", nav, 303, "/mfa"},
		{"logout", "POST", "/logout", nil, 200, ""},
		{"login", "GET", "/login", nil, 400, ""},
		{"static", "GET", "/static/app.css", nil, 200, ""},
		{"static dot-dot: not exempt", "GET", "/static/%2e%2e/account", nav, 303, "/mfa"},
		{"static, double slash: not exempt", "GET", "//static/app.css", nav, 303, "/mfa"},
		{"step-up route", "GET", "/settings", nav, 303, "/mfa"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newSite(t, &fakeVerifier{}, nil)
			st.login("alice")
			w := st.do(c.method, c.path, "", c.hdr...)
			expect(t, c.name, w, c.code, c.location)
			names := st.names()
			if c.code == 303 || c.code == 403 || c.code == 204 {
				hasEvent(t, names, "mfa.required")
			}
			if c.code == 403 {
				var body map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "mfa_required" || body["location"] != "/mfa" {
					t.Errorf("JSON %s", w.Body)
				}
			}
			if c.code == 204 && w.Header().Get("HX-Redirect") != "/mfa" {
				t.Errorf("HX-Redirect %q", w.Header().Get("HX-Redirect"))
			}
			if c.code == 303 && w.Header().Get("Cache-Control") != "no-store" {
				t.Error("refusal without Cache-Control: no-store")
			}
		})
	}
}

func TestAnonymousAndBearer(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	expect(t, "anonymous", st.do("GET", "/account", ""), 200, "")
	// A bearer user has no session to take a challenge in: refused.
	w := st.do("GET", "/account", "", "Authorization", "Bearer tok-alice", "Accept", "application/json")
	expect(t, "bearer", w, 403, "")
	if got, err := st.gate.Check(st.loaded(bearerReq("alice"))); got.Outcome != mfa.Challenge || got.Reason != "no-session" || err != nil {
		t.Errorf("Check(bearer) = %+v, %v", got, err)
	}
	st2 := newSite(t, &fakeVerifier{}, func(c *mfa.Config) { c.SkipNonSession = true })
	expect(t, "bearer, SkipNonSession", st2.do("GET", "/account", "", "Authorization", "Bearer tok-alice"), 200, "")
}

func bearerReq(id string) *http.Request {
	r := httptest.NewRequest("GET", "/account", nil)
	return r.WithContext(identity.NewContext(r.Context(), identity.Basic{UserID: id, IsActive: true}))
}

// loaded returns r with a new, empty scs session loaded, as LoadAndSave
// gives a request without a session cookie.
func (st *site) loaded(r *http.Request) *http.Request {
	st.t.Helper()
	ctx, err := st.sm.Load(r.Context(), "")
	if err != nil {
		st.t.Fatal(err)
	}
	return r.WithContext(ctx)
}

// TestFlow: login, stray requests while pending (no logout, the return
// path is not overwritten), a wrong answer, the right one (token renewed,
// back to the page first asked for), then free.
func TestFlow(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	expect(t, "page", st.do("GET", "/account?tab=security", "", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"), 303, "/mfa")
	// Stray requests: a favicon, a parallel XHR, a POST.
	expect(t, "favicon (a subresource: refused, not redirected)", st.do("GET", "/favicon.ico", "", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"), 403, "")
	expect(t, "xhr", st.do("GET", "/api/poll", "", "X-Requested-With", "XMLHttpRequest"), 403, "")
	expect(t, "post", st.do("POST", "/account/delete", "x=1"), 303, "/mfa")
	if got, _ := st.gate.Check(st.reqWithCookie("/account")); got.State != mfa.None {
		t.Errorf("state before Begin: %v", got.State)
	}
	st.names()

	expect(t, "begin", st.do("GET", "/mfa", ""), 200, "")
	hasEvent(t, st.names(), "mfa.challenge")
	if s := st.status(); s.State != mfa.Pending || s.Method != "fake" {
		t.Errorf("after Begin: %+v", s)
	}
	// Still logged in (a stray request logged nobody out), still pending.
	if w := st.do("GET", "/static/x.css", ""); !strings.Contains(w.Body.String(), "page for alice") {
		t.Fatalf("the stray requests logged alice out: %q", w.Body)
	}
	for _, ans := range []string{"wrong", "replay", "locked"} {
		expect(t, ans, st.do("POST", "/mfa", "answer="+ans), 403, "")
	}
	hasEvent(t, st.names(), "mfa.failure", "mfa.replay", "mfa.locked")
	expect(t, "still pending", st.do("GET", "/account", "", "Accept", "application/json"), 403, "")

	before := st.cookie.Value
	expect(t, "right answer", st.do("POST", "/mfa", "answer=ok"), 303, "/account?tab=security")
	events := st.events.Take()
	var success map[string]any
	for _, e := range events {
		if e.Name == "mfa.success" {
			success = e.Fields
		}
	}
	if success == nil || success["factor"] != "fake_ok" || success["mfa_method"] != "fake" || success["user"] != "alice" {
		t.Errorf("mfa.success event: %v", success)
	}
	if st.cookie.Value == before {
		t.Fatal("the session token was not renewed on success (session fixation)")
	}
	if s := st.status(); s.State != mfa.Verified || !s.At.Equal(st.clock.Now()) {
		t.Errorf("after Complete: %+v", s)
	}
	expect(t, "free", st.do("GET", "/account", ""), 200, "")
	expect(t, "settings (recent)", st.do("GET", "/settings", ""), 200, "")
	// The pre-verification token is dead: a fixated cookie gets nothing.
	old := &http.Cookie{Name: st.sm.Cookie.Name, Value: before}
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(old)
	w := httptest.NewRecorder()
	st.h.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), "anonymous") {
		t.Errorf("the old token still works: %q", w.Body)
	}
	// The return path was used once.
	st.clock.Add(10 * time.Minute)
	st.do("GET", "/mfa", "")
	expect(t, "second verification", st.do("POST", "/mfa", "answer=ok"), 303, "/")
}

// reqWithCookie builds a request carrying the site's session, loaded,
// with its user, for calling Check and Status directly.
func (st *site) reqWithCookie(path string) *http.Request {
	st.t.Helper()
	var out *http.Request
	r := httptest.NewRequest("GET", path, nil)
	if st.cookie != nil {
		r.AddCookie(st.cookie)
	}
	st.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := st.sm.GetString(r.Context(), identity.SessionUserKey); id != "" {
			r = r.WithContext(identity.NewContext(r.Context(), st.users[id]))
		}
		out = r
	})).ServeHTTP(httptest.NewRecorder(), r)
	return out
}

func (st *site) status() mfa.Status { return st.gate.Status(st.reqWithCookie("/")) }

func TestCompleteWithoutChallenge(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	expect(t, "complete without begin", st.do("POST", "/mfa", "answer=ok"), 403, "")
	hasEvent(t, st.names(), "mfa.state_mismatch")
	expect(t, "still pending", st.do("GET", "/account", ""), 303, "/mfa")
	// Anonymous: no session to complete.
	st.cookie = nil
	expect(t, "anonymous", st.do("POST", "/mfa", "answer=ok"), 401, "")
	expect(t, "anonymous begin", st.do("GET", "/mfa", ""), 401, "")
}

func TestChallengeExpires(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	st.do("GET", "/mfa", "")
	st.clock.Add(mfa.DefaultChallengeTTL)
	expect(t, "expired", st.do("POST", "/mfa", "answer=ok"), 403, "")
	hasEvent(t, st.names(), "mfa.state_mismatch")
	st.do("GET", "/mfa", "")
	expect(t, "new challenge", st.do("POST", "/mfa", "answer=ok"), 303, "/")
}

// TestForgedState: a provider callback whose state is not the session's
// challenge is refused; so is a replay of a good callback after success.
func TestForgedState(t *testing.T) {
	v := &fakeVerifier{redirect: "https://idp.example/prompt"}
	st := newSite(t, v, func(c *mfa.Config) { c.CallbackURL = "/mfa/callback" })
	st.login("alice")
	w := st.do("GET", "/mfa", "")
	if w.Code != 303 || !strings.HasPrefix(w.Header().Get("Location"), "https://idp.example/prompt?state=") {
		t.Fatalf("Begin: %d %q", w.Code, w.Header().Get("Location"))
	}
	state := v.states[len(v.states)-1]
	if len(state) < 40 {
		t.Fatalf("state %q is short", state)
	}
	expect(t, "forged state", st.do("POST", "/mfa/callback", "answer=ok&state=forged"), 403, "")
	hasEvent(t, st.names(), "mfa.state_mismatch")
	expect(t, "good state", st.do("POST", "/mfa/callback", "answer=ok&state="+state), 303, "/")
	expect(t, "replayed callback", st.do("POST", "/mfa/callback", "answer=ok&state="+state), 403, "")
	hasEvent(t, st.names(), "mfa.state_mismatch")
	// Each challenge has its own state.
	st.do("GET", "/mfa", "")
	if v.states[len(v.states)-1] == state {
		t.Error("a state was used twice")
	}
}

// TestBinding: a verdict belongs to one user and one login.
func TestBinding(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	st.verify()
	expect(t, "alice verified", st.do("GET", "/account", ""), 200, "")
	// bob logs in on the same browser without logging out: alice's verdict
	// is not his.
	st.login("bob")
	expect(t, "bob", st.do("GET", "/account", ""), 303, "/mfa")
	// alice logs in again: a new login needs a new second factor.
	st.clock.Add(time.Second)
	st.login("alice")
	expect(t, "alice again", st.do("GET", "/account", ""), 303, "/mfa")
	// Reset forgets the factor.
	st.verify()
	expect(t, "verified", st.do("GET", "/account", ""), 200, "")
	expect(t, "reset", st.do("POST", "/forget", ""), 200, "")
	expect(t, "after Reset", st.do("GET", "/account", ""), 303, "/mfa")
}

// TestHealthAndFailMode: the provider's health is asked when a challenge
// begins, cached; a failure fails closed (503) or, in Open mode, bypasses
// with a Warn event, for BypassFor only.
func TestHealthAndFailMode(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		v := &fakeVerifier{health: errProvider}
		st := newSite(t, v, nil)
		st.login("alice")
		expect(t, "page", st.do("GET", "/account", ""), 303, "/mfa")
		if v.healthCalls != 0 {
			t.Errorf("health asked %d times by the gate on a page request", v.healthCalls)
		}
		w := st.do("GET", "/mfa", "")
		expect(t, "begin", w, 503, "")
		if w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "unavailable") {
			t.Errorf("503 answer: %v %q", w.Header(), w.Body)
		}
		hasEvent(t, st.names(), "mfa.unavailable")
		expect(t, "still refused", st.do("GET", "/account", ""), 303, "/mfa")
		// Cached: a second Begin within HealthTTL does not ask again.
		st.do("GET", "/mfa", "")
		if v.healthCalls != 1 {
			t.Errorf("health asked %d times within HealthTTL, want 1", v.healthCalls)
		}
		v.set(func(f *fakeVerifier) { f.health = nil })
		expect(t, "cached failure", st.do("GET", "/mfa", ""), 503, "")
		st.clock.Add(mfa.DefaultHealthTTL)
		expect(t, "recovered", st.do("GET", "/mfa", ""), 200, "")
		if v.healthCalls != 2 {
			t.Errorf("health asked %d times, want 2", v.healthCalls)
		}
		// A verifier whose Begin fails is an outage too.
		v.set(func(f *fakeVerifier) { f.beginErr = errProvider })
		expect(t, "begin fails", st.do("GET", "/mfa", ""), 503, "")
		// An answer the verifier cannot check is a 503, never a pass.
		v.set(func(f *fakeVerifier) { f.beginErr = nil })
		st.do("GET", "/mfa", "")
		expect(t, "complete fails", st.do("POST", "/mfa", "answer=down"), 503, "")
		expect(t, "not passed", st.do("GET", "/account", ""), 303, "/mfa")
	})
	t.Run("open", func(t *testing.T) {
		v := &fakeVerifier{health: errProvider}
		st := newSite(t, v, func(c *mfa.Config) { c.FailMode = mfa.Open })
		st.login("alice")
		st.do("GET", "/account?x=1", "")
		expect(t, "bypass", st.do("GET", "/mfa", ""), 303, "/account?x=1")
		events := st.events.Take()
		var bypass *zapcore.Level
		for _, e := range events {
			if e.Name == "mfa.bypassed" {
				bypass = &e.Level
			}
		}
		if bypass == nil || *bypass != zapcore.WarnLevel {
			t.Fatalf("no Warn mfa.bypassed event: %v", events)
		}
		if s := st.status(); s.State != mfa.Bypassed {
			t.Errorf("state %v", s.State)
		}
		expect(t, "let in", st.do("GET", "/account", ""), 200, "")
		expect(t, "but not on a step-up route", st.do("GET", "/settings", ""), 303, "/mfa")
		st.clock.Add(mfa.DefaultBypassFor)
		expect(t, "bypass over", st.do("GET", "/account", ""), 303, "/mfa")
		expect(t, "bypass again, still down", st.do("GET", "/mfa", ""), 303, "/account")
		hasEvent(t, st.names(), "mfa.bypassed")
		// An answer the verifier cannot check is still a 503 in Open mode.
		v.set(func(f *fakeVerifier) { f.health = nil })
		st.clock.Add(mfa.DefaultBypassFor)
		st.do("GET", "/mfa", "")
		expect(t, "complete fails", st.do("POST", "/mfa", "answer=down"), 503, "")
	})
}

func TestStepUp(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	st.verify()
	expect(t, "recent", st.do("GET", "/settings", ""), 200, "")
	st.clock.Add(5*time.Minute - time.Nanosecond)
	expect(t, "just recent", st.do("GET", "/settings", ""), 200, "")
	st.clock.Add(time.Nanosecond)
	expect(t, "too old", st.do("GET", "/settings?tab=pw", "", "Sec-Fetch-Mode", "navigate"), 303, "/mfa")
	hasEvent(t, st.names(), "mfa.required")
	expect(t, "other pages still pass", st.do("GET", "/account", ""), 200, "")
	expect(t, "step-up", st.verify(), 303, "/settings?tab=pw")
	expect(t, "recent again", st.do("GET", "/settings", ""), 200, "")
	// Not required (Config.Required says no): step-up still asks.
	st2 := newSite(t, &fakeVerifier{}, func(c *mfa.Config) {
		c.Required = func(context.Context, identity.User) (bool, error) { return false, nil }
	})
	st2.login("alice")
	expect(t, "not required", st2.do("GET", "/account", ""), 200, "")
	expect(t, "step-up when not required", st2.do("GET", "/settings", ""), 303, "/mfa")
	expect(t, "anonymous step-up", newSite(t, &fakeVerifier{}, nil).do("GET", "/settings", ""), 303, "/mfa")
}

func TestRequired(t *testing.T) {
	calls := 0
	var answer bool
	var fail error
	st := newSite(t, &fakeVerifier{}, func(c *mfa.Config) {
		c.Required = func(_ context.Context, u identity.User) (bool, error) {
			calls++
			return answer, fail
		}
	})
	st.login("alice")
	expect(t, "not required", st.do("GET", "/account", ""), 200, "")
	expect(t, "cached", st.do("GET", "/account", ""), 200, "")
	if calls != 1 {
		t.Errorf("Required called %d times, want 1 (cached)", calls)
	}
	answer = true
	st.clock.Add(mfa.DefaultCacheTTL)
	expect(t, "required after the cache", st.do("GET", "/account", ""), 303, "/mfa")
	fail = errors.New("db down")
	w := st.do("GET", "/account", "")
	expect(t, "Required fails", w, 503, "")
	hasEvent(t, st.names(), "mfa.store_error")
	expect(t, "exempt route not asked", st.do("GET", "/static/a.css", ""), 200, "")
	expect(t, "challenge page not asked", st.do("GET", "/mfa", ""), 200, "")
}

// TestExemptRegexps: Django-style exempt routes, the same shape as
// passwordexpiry's and loginrequired's; a bad expression is an error that
// names the field.
func TestExemptRegexps(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, func(c *mfa.Config) { c.ExemptRegexps = []string{`^assets/`} })
	st.login("alice")
	expect(t, "exempt by regexp", st.do("GET", "/assets/app.js", ""), 200, "")
	expect(t, "not exempt", st.do("GET", "/account", ""), 303, "/mfa")
	expect(t, "not from the start", st.do("GET", "/x/assets/app.js", ""), 303, "/mfa")
	_, err := mfa.New(mfa.Config{Sessions: scs.New(), Verifiers: []mfa.Verifier{&fakeVerifier{}}, ExemptRegexps: []string{"("}})
	if err == nil || !strings.HasPrefix(err.Error(), "mfa: ExemptRegexps[0]") {
		t.Fatalf("bad regexp: %v", err)
	}
}

func TestCheck(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	if d, err := st.gate.Check(httptest.NewRequest("GET", "/", nil)); d.Outcome != mfa.Pass || d.Reason != "anonymous" || err != nil {
		t.Errorf("anonymous: %+v, %v", d, err)
	}
	st.login("alice")
	if d, err := st.gate.Check(st.reqWithCookie("/static/x")); d.Outcome != mfa.Pass || d.Exempt != "/static/" || err != nil {
		t.Errorf("exempt: %+v, %v", d, err)
	}
	if d, err := st.gate.Check(st.reqWithCookie("/x")); d.Outcome != mfa.Challenge || d.Reason != "pending" || err != nil {
		t.Errorf("pending: %+v, %v", d, err)
	}
	// A request whose scs session was never loaded does not panic: the
	// gate cannot decide (a chain in the wrong order).
	if d, err := st.gate.Check(bearerReq("alice")); d.Outcome != mfa.Unavailable || !errors.Is(err, identity.ErrSessionNotLoaded) {
		t.Errorf("no session loaded: %+v, %v", d, err)
	}
	st.gate.Reset(bearerReq("alice"))
	for _, o := range []mfa.Outcome{mfa.Pass, mfa.Challenge, mfa.Unavailable} {
		if o.String() == "" {
			t.Error("empty Outcome string")
		}
	}
	for _, s := range []mfa.State{mfa.None, mfa.Pending, mfa.Verified, mfa.Bypassed, mfa.NotRequired} {
		if s.String() == "" {
			t.Error("empty State string")
		}
	}
}

func TestUnavailableHandler(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, func(c *mfa.Config) {
		c.Required = func(context.Context, identity.User) (bool, error) { return false, errors.New("down") }
		c.Unavailable = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			w.Write([]byte("custom"))
		})
	})
	st.login("alice")
	w := st.do("GET", "/x", "")
	if w.Code != 503 || w.Body.String() != "custom" {
		t.Errorf("%d %q", w.Code, w.Body)
	}
}

// TestTamperedSession: malformed or foreign values under the gate's keys
// count for nothing (and never panic).
func TestTamperedSession(t *testing.T) {
	for _, v := range []string{
		"", "1", "1|v", "1|v|x|fake|0|alice", "2|v|0|fake|0|alice", "1|v|0|fake|0|alice|extra",
		"1|v|0|fake|1|alice", "1|v|0|fake|0|bob", "1|x|0|fake|0|alice", "1|v|99999999999999999999|fake|0|alice",
		"1|v|0|fake|+0|alice", "||||||", strings.Repeat("|", 1000),
	} {
		st := newSite(t, &fakeVerifier{}, nil)
		st.login("alice")
		// The login time is the fake clock's; "0" is not it.
		for _, key := range []string{mfa.SessionKey, mfa.SessionChallengeKey, mfa.SessionNextKey} {
			st.do("POST", "/tamper", "key="+key+"&value="+url.QueryEscape(v))
		}
		expect(t, "tampered "+v, st.do("GET", "/account", "", "Accept", "application/json"), 403, "")
		expect(t, "complete with "+v, st.do("POST", "/mfa", "answer=ok"), 403, "")
	}
	// The genuine form, for the right user and login, does count: the
	// check above is not vacuous.
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	login := strconv.FormatInt(st.clock.Now().UnixNano(), 10)
	at := strconv.FormatInt(st.clock.Now().UnixNano(), 10)
	st.do("POST", "/tamper", "key="+mfa.SessionKey+"&value="+url.QueryEscape("1|v|"+at+"|fake|"+login+"|alice"))
	expect(t, "genuine", st.do("GET", "/account", ""), 200, "")
}

// slowHealth is a fakeVerifier whose health check takes a while.
type slowHealth struct{ *fakeVerifier }

func (s slowHealth) Health(ctx context.Context) error {
	time.Sleep(20 * time.Millisecond)
	return s.fakeVerifier.Health(ctx)
}

// TestHealthSingleFlight: many challenges beginning at once ask the
// provider's health once.
func TestHealthSingleFlight(t *testing.T) {
	fv := &fakeVerifier{}
	st := newSite(t, slowHealth{fv}, nil)
	st.login("alice")
	cookie := st.cookie
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			r := httptest.NewRequest("GET", "/mfa", nil)
			r.AddCookie(cookie)
			w := httptest.NewRecorder()
			st.h.ServeHTTP(w, r)
			codes <- w.Code
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("Begin: %d", c)
		}
	}
	if fv.healthCalls != 1 {
		t.Errorf("health asked %d times, want 1", fv.healthCalls)
	}
}
