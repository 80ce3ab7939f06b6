package passwordexpiry_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/passwordexpiry/internal/storetest"
	"github.com/bulwark-go/bulwark/seclog"
)

func TestNewErrors(t *testing.T) {
	store := passwordexpiry.NewMemoryStore()
	for _, c := range []struct {
		name string
		cfg  passwordexpiry.Config
		want string
	}{
		{"no store", passwordexpiry.Config{}, "Config.Store is nil"},
		{"negative MaxAge", passwordexpiry.Config{Store: store, MaxAge: -time.Hour}, "Config.MaxAge"},
		{"relative ChangeURL", passwordexpiry.Config{Store: store, ChangeURL: "password/change"}, "ChangeURL"},
		{"bad LogoutURL", passwordexpiry.Config{Store: store, LogoutURL: "logout"}, "LogoutURL"},
		{"bad Exempt", passwordexpiry.Config{Store: store, Exempt: []string{"/a/{x"}}, "Exempt"},
		{"bad ExemptRegexps", passwordexpiry.Config{Store: store, ExemptRegexps: []string{"(?<=x)"}}, "Exempt"},
	} {
		_, err := passwordexpiry.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if _, err := passwordexpiry.New(passwordexpiry.Config{Store: store, ChangeURL: "https://sso.example/password"}); err != nil {
		t.Errorf("absolute ChangeURL: %v", err)
	}
}

// TestGate judges requests of users put in the context directly (no
// session cache), for each kind of client and route.
func TestGate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(90 * 24 * time.Hour)
	store := passwordexpiry.NewMemoryStore()
	ctx := context.Background()
	for id, reason := range map[string]passwordexpiry.Reason{
		"first": passwordexpiry.FirstLogin, "reset": passwordexpiry.AdminReset,
		"breached": passwordexpiry.Compromised, "temp": passwordexpiry.Temporary, "root": passwordexpiry.AdminReset,
	} {
		if err := store.Require(ctx, id, reason, t0); err != nil {
			t.Fatal(err)
		}
	}
	for id, at := range map[string]time.Time{
		"old": t0, "almost": t0.Add(time.Microsecond), "fresh": now.Add(-time.Hour),
	} {
		if err := store.Changed(ctx, id, at); err != nil {
			t.Fatal(err)
		}
	}
	root := identity.Basic{UserID: "root", IsActive: true, IsSuperuser: true, IsStaff: true}
	json := []string{"Accept", "application/json"}
	nav := []string{"Sec-Fetch-Mode", "navigate"}
	htmx := []string{"HX-Request", "true"}

	for _, c := range []struct {
		name         string
		maxAge       time.Duration
		u            identity.User
		method, path string
		hdr          []string
		code         int
		location     string
		reason       passwordexpiry.Reason // of the event, "" for none
	}{
		{"anonymous", 0, nil, "GET", "/account", nav, 200, "", ""},
		{"no record", 0, user("alice"), "GET", "/account", nav, 200, "", ""},
		{"changed, no flag", 0, user("fresh"), "GET", "/account", nav, 200, "", ""},
		{"first login", 0, user("first"), "GET", "/account?tab=2", nav, 303, "/password/change?next=%2Faccount%3Ftab%3D2", passwordexpiry.FirstLogin},
		{"admin reset", 0, user("reset"), "GET", "/", nil, 303, "/password/change?next=%2F", passwordexpiry.AdminReset},
		{"compromised", 0, user("breached"), "HEAD", "/account", nil, 303, "/password/change?next=%2Faccount", passwordexpiry.Compromised},
		{"temporary", 0, user("temp"), "GET", "/account", nav, 303, "/password/change?next=%2Faccount", passwordexpiry.Temporary},
		{"superuser is not spared", 0, root, "GET", "/admin/", nav, 303, "/password/change?next=%2Fadmin%2F", passwordexpiry.AdminReset},
		{"POST: no next", 0, user("first"), "POST", "/account", nav, 303, "/password/change", passwordexpiry.FirstLogin},
		{"API: 403 JSON", 0, user("first"), "GET", "/api/me", json, 403, "", passwordexpiry.FirstLogin},
		{"htmx", 0, user("first"), "GET", "/account", htmx, 204, "", passwordexpiry.FirstLogin},
		{"change page GET", 0, user("first"), "GET", "/password/change", nav, 200, "", ""},
		{"change page POST", 0, user("first"), "POST", "/password/change", nil, 200, "", ""},
		{"change page with query", 0, user("first"), "GET", "/password/change?next=%2Fx", nav, 200, "", ""},
		{"change page, trailing slash: not exempt, no loop", 0, user("first"), "GET", "/password/change/", nav, 303, "/password/change?next=%2Fpassword%2Fchange%2F", passwordexpiry.FirstLogin},
		{"change page, other case", 0, user("first"), "GET", "/Password/Change", nav, 303, "/password/change?next=%2FPassword%2FChange", passwordexpiry.FirstLogin},
		{"logout", 0, user("first"), "POST", "/logout", nil, 200, "", ""},
		{"login", 0, user("first"), "GET", "/login", nil, 200, "", ""},
		{"static", 0, user("first"), "GET", "/static/app.css", nil, 200, "", ""},
		{"static dot-dot: not exempt", 0, user("first"), "GET", "/static/%2e%2e/account", nav, 303, "/password/change", passwordexpiry.FirstLogin}, // a dot segment: no next
		{"static, double slash: not exempt", 0, user("first"), "GET", "//static/app.css", nav, 303, "/password/change", passwordexpiry.FirstLogin},
		{"max age off: old password passes", 0, user("old"), "GET", "/account", nav, 200, "", ""},
		{"max age: exactly at the deadline", 90 * 24 * time.Hour, user("old"), "GET", "/account", nav, 303, "/password/change?next=%2Faccount", passwordexpiry.MaxAge},
		{"max age: 1µs before the deadline", 90 * 24 * time.Hour, user("almost"), "GET", "/account", nav, 200, "", ""},
		{"max age: no record", 90 * 24 * time.Hour, user("alice"), "GET", "/account", nav, 200, "", ""},
		{"max age: flag wins", 90 * 24 * time.Hour, user("first"), "GET", "/account", nav, 303, "/password/change?next=%2Faccount", passwordexpiry.FirstLogin},
	} {
		t.Run(c.name, func(t *testing.T) {
			log, events := newLogger(t)
			gate, err := passwordexpiry.New(passwordexpiry.Config{
				Store: store, Exempt: []string{"/static/"}, MaxAge: c.maxAge,
				Logger: log, Now: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(c.method, c.path, nil)
			for i := 0; i+1 < len(c.hdr); i += 2 {
				r.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			r = asUser(r, c.u)
			w := httptest.NewRecorder()
			gate.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })).ServeHTTP(w, r)
			if c.code == 303 && c.location == "/password/change" && c.method == "GET" {
				// A path SafeNext refuses is not passed on.
				c.location = w.Header().Get("Location")
				if !strings.HasPrefix(c.location, "/password/change") {
					t.Fatalf("Location %q", c.location)
				}
			}
			expect(t, c.name, w, c.code, c.location)
			evs := events.take()
			if c.reason == "" {
				if len(evs) != 0 {
					t.Fatalf("events %v, want none", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0]["event"] != seclog.PasswordExpiryRequired.Name || evs[0]["reason"] != string(c.reason) || evs[0]["user"] != c.u.ID() {
				t.Fatalf("events %v, want one %s with reason %s", evs, seclog.PasswordExpiryRequired.Name, c.reason)
			}
			switch c.code {
			case 403:
				var body map[string]string
				if err := jsonUnmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != passwordexpiry.Code || !strings.HasPrefix(body["location"], "/password/change") {
					t.Fatalf("body %q (%v)", w.Body, err)
				}
			case 204:
				if w.Header().Get("HX-Redirect") == "" {
					t.Fatal("no HX-Redirect")
				}
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("refusal without Cache-Control: no-store")
			}
		})
	}
}

var jsonUnmarshal = json.Unmarshal

// TestCache runs a session through the real chain (scs, identity, gate)
// with a fake clock: the verdict is cached, a change frees the user at
// once, and a flag set elsewhere takes effect within CacheTTL.
func TestCache(t *testing.T) {
	ttl := 30 * time.Second
	st := newSite(t, func(c *passwordexpiry.Config) { c.CacheTTL = ttl })
	ctx := context.Background()
	st.addUser("alice")
	if err := st.store.Require(ctx, "alice", passwordexpiry.FirstLogin, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	st.login("alice")

	gets := st.store.gets.Load()
	expect(t, "first request", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
	expect(t, "second request", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
	if n := st.store.gets.Load() - gets; n != 1 {
		t.Fatalf("store asked %d times for two requests, want 1", n)
	}
	evs := st.log.take()
	if len(evs) != 2 || evs[0]["cached"] != false || evs[1]["cached"] != true {
		t.Fatalf("events %v", evs)
	}

	// The change: the one call, and the user is free at once, on a new token.
	before := st.cookie.Value
	expect(t, "change", st.do("POST", "/password/change"), 200, "")
	if st.cookie == nil || st.cookie.Value == before {
		t.Fatal("the session token was not renewed by Changed")
	}
	if names := st.log.names(); !slices.Equal(names, []string{seclog.PasswordExpiryChanged.Name}) {
		t.Fatalf("events %v", names)
	}
	gets = st.store.gets.Load()
	expect(t, "after the change", st.do("GET", "/account"), 200, "")
	if n := st.store.gets.Load() - gets; n != 0 {
		t.Fatalf("store asked %d times after the change, want 0 (the session knows)", n)
	}

	// An admin flags alice elsewhere (another instance writes the store):
	// the cached verdict holds until CacheTTL has passed, not longer.
	if err := st.store.Require(ctx, "alice", passwordexpiry.AdminReset, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	st.clock.Add(ttl - time.Nanosecond)
	expect(t, "flag, within the bound", st.do("GET", "/account"), 200, "")
	st.clock.Add(time.Nanosecond)
	expect(t, "flag, at the bound", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")

	// Exempt routes pass while forced.
	expect(t, "static while forced", st.do("GET", "/static/app.css"), 200, "")
	expect(t, "logout while forced", st.do("POST", "/logout"), 200, "")

	// Changed again; then Require in her own session takes effect at once.
	expect(t, "change again", st.do("POST", "/password/change"), 200, "")
	expect(t, "free", st.do("GET", "/account"), 200, "")
	expect(t, "flag in own session", st.do("POST", "/flag-me"), 200, "")
	expect(t, "forced at once", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
	st.log.take()

	// A clock that jumps back makes a cached verdict look fresher than the
	// bound: it is not trusted.
	expect(t, "change a third time", st.do("POST", "/password/change"), 200, "")
	if err := st.store.Require(ctx, "alice", passwordexpiry.Compromised, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	st.clock.Add(-time.Hour)
	expect(t, "clock went back", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
}

// TestCacheOtherUser: a verdict cached for one user is never used for
// another in the same session (login renews the token but keeps the data).
func TestCacheOtherUser(t *testing.T) {
	st := newSite(t, nil)
	st.addUser("alice")
	st.addUser("bob")
	if err := st.store.Require(context.Background(), "bob", passwordexpiry.Temporary, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	st.login("alice")
	expect(t, "alice", st.do("GET", "/account"), 200, "")
	st.login("bob") // same session, new token, alice's verdict still in it
	expect(t, "bob", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
}

// TestMaxAgeDueWithinTTL: a password that falls due while a verdict is
// cached is forced at its deadline, not at the end of the bound.
func TestMaxAgeDueWithinTTL(t *testing.T) {
	maxAge := 90 * 24 * time.Hour
	st := newSite(t, func(c *passwordexpiry.Config) { c.MaxAge = maxAge; c.CacheTTL = time.Hour })
	st.addUser("alice")
	if err := st.store.Changed(context.Background(), "alice", st.clock.Now().Add(-maxAge+time.Minute)); err != nil {
		t.Fatal(err)
	}
	st.login("alice")
	expect(t, "before the deadline", st.do("GET", "/account"), 200, "")
	st.clock.Add(time.Minute)
	expect(t, "at the deadline", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
	evs := st.log.take()
	if len(evs) != 1 || evs[0]["reason"] != string(passwordexpiry.MaxAge) {
		t.Fatalf("events %v", evs)
	}
}

// TestBearerNoSession: a request authenticated by a bearer token gets no
// session (no cookie) and is judged from the store every time.
func TestBearerNoSession(t *testing.T) {
	st := newSite(t, nil)
	st.addUser("bot")
	if err := st.store.Require(context.Background(), "bot", passwordexpiry.Compromised, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		w := st.do("GET", "/api/data", "Authorization", "Bearer tok-bot", "Accept", "application/json")
		expect(t, "bearer", w, 403, "")
		if c := w.Header().Get("Set-Cookie"); c != "" {
			t.Fatalf("a bearer request got a session cookie: %s", c)
		}
	}
	if n := st.store.gets.Load(); n != 2 {
		t.Fatalf("store asked %d times, want 2", n)
	}
}

// TestNoSessionLoaded: Sessions set but LoadAndSave not run (a chain in
// the wrong order): no panic, and no silent pass to the store either: the
// gate answers 500 (see TestSessionNotLoaded in the root package for the
// event). Changed, called by a handler, still records the change.
func TestNoSessionLoaded(t *testing.T) {
	store := &faultyStore{}
	if err := store.Require(context.Background(), "alice", passwordexpiry.Temporary, time.Now()); err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger(t)
	gate, err := passwordexpiry.New(passwordexpiry.Config{Store: store, Sessions: scs.New(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	gate.Handler(http.NotFoundHandler()).ServeHTTP(w, asUser(httptest.NewRequest("GET", "/account", nil), user("alice")))
	expect(t, "no session", w, 500, "")
	if n := store.gets.Load(); n != 0 {
		t.Fatalf("store asked %d times", n)
	}
	r := asUser(httptest.NewRequest("POST", "/password/change", nil), user("alice"))
	if err := gate.Changed(r, "alice"); err != nil {
		t.Fatal(err)
	}
	if reason, err := gate.Requirement(context.Background(), "alice"); err != nil || reason != passwordexpiry.None {
		t.Fatalf("Requirement after Changed = %q, %v", reason, err)
	}
}

// TestStoreErrors: every store call fails in turn; the gate fails closed
// with 503 and an event, or serves with FailOpen, and never panics.
func TestStoreErrors(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		st := newSite(t, func(c *passwordexpiry.Config) { c.FailOpen = failOpen })
		st.addUser("alice")
		if err := st.store.Require(context.Background(), "alice", passwordexpiry.Compromised, st.clock.Now()); err != nil {
			t.Fatal(err)
		}
		st.login("alice")
		st.store.setFail(func(string) error { return errDown })

		w := st.do("GET", "/account")
		evs := st.log.take()
		if failOpen {
			expect(t, "fail open", w, 200, "")
		} else {
			expect(t, "fail closed", w, 503, "")
			if w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/json" || strings.Contains(w.Body.String(), "refused") {
				t.Fatalf("503 answer: %v %q", w.Header(), w.Body)
			}
		}
		if len(evs) != 1 || evs[0]["event"] != seclog.PasswordExpiryStoreError.Name || evs[0]["fail_open"] != failOpen || evs[0]["user"] != "alice" {
			t.Fatalf("events %v", evs)
		}
		// Exempt routes do not wait for the store.
		gets := st.store.gets.Load()
		expect(t, "logout while the store is down", st.do("POST", "/logout"), 200, "")
		if st.store.gets.Load() != gets {
			t.Fatal("an exempt route asked the store")
		}
		st.login("alice")

		// A change that cannot be recorded leaves the user forced.
		expect(t, "change not saved", st.do("POST", "/password/change"), 503, "")
		if names := st.log.names(); !slices.Contains(names, seclog.PasswordExpiryChangeFailed.Name) {
			t.Fatalf("events %v", names)
		}
		st.store.setFail(nil)
		expect(t, "still forced", st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")

		// A flag that cannot be recorded is an error and an event.
		expect(t, "change saved", st.do("POST", "/password/change"), 200, "")
		st.store.setFail(func(op string) error {
			if op == "Require" {
				return errDown
			}
			return nil
		})
		expect(t, "flag not saved", st.do("POST", "/flag-me"), 503, "")
		if names := st.log.names(); !slices.Contains(names, seclog.PasswordExpiryFlagFailed.Name) {
			t.Fatalf("events %v", names)
		}
	}
}

// TestStoreFailsAtEveryCall runs one user's whole story with the store
// failing at call n, for every n: a forced user is never let through.
func TestStoreFailsAtEveryCall(t *testing.T) {
	for n := int64(1); n <= 12; n++ {
		st := newSite(t, func(c *passwordexpiry.Config) { c.CacheTTL = -1 })
		st.addUser("alice")
		var calls int64
		st.store.setFail(func(string) error {
			calls++
			if calls == n {
				return errDown
			}
			return nil
		})
		st.login("alice")
		forced := false
		step := func(method, path string) int {
			w := st.do(method, path)
			switch {
			case w.Code == 503:
				if names := st.log.names(); len(names) == 0 {
					t.Fatalf("n=%d %s %s: 503 without an event", n, method, path)
				}
			case forced && w.Code == 200 && path == "/account":
				t.Fatalf("n=%d: a forced user got through", n)
			}
			st.log.take()
			return w.Code
		}
		step("GET", "/account")
		if step("POST", "/flag-me") == 200 {
			forced = true
		}
		step("GET", "/account")
		if step("POST", "/password/change") == 200 {
			forced = false
		}
		step("GET", "/account")
	}
}

// TestOddUserIDs: users with odd ids are judged like any other; ids no
// store can keep are a 503 with an event, never a pass.
func TestOddUserIDs(t *testing.T) {
	store := passwordexpiry.NewMemoryStore()
	log, events := newLogger(t)
	gate, err := passwordexpiry.New(passwordexpiry.Config{Store: store, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := gate.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) }))
	serve := func(id string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, asUser(httptest.NewRequest("GET", "/account", nil), user(id)))
		return w.Code
	}
	for _, id := range storetest.OddIDs {
		if code := serve(id); code != 200 {
			t.Errorf("%q without a record: %d", id, code)
		}
		if err := store.Require(context.Background(), id, passwordexpiry.Temporary, time.Now()); err != nil {
			t.Fatal(err)
		}
		if code := serve(id); code != 303 {
			t.Errorf("%q flagged: %d", id, code)
		}
	}
	events.take()
	for _, id := range storetest.BadIDs[1:] { // "" is anonymous for identity
		if code := serve(id); code != 503 {
			t.Errorf("%q: %d, want 503", id, code)
		}
		evs := events.take()
		if len(evs) != 1 || evs[0]["event"] != seclog.PasswordExpiryStoreError.Name {
			t.Errorf("%q: events %v", id, evs)
		}
	}
}

// TestConcurrent serves many sessions at once through the real chain
// (run with -race).
func TestConcurrent(t *testing.T) {
	st := newSite(t, func(c *passwordexpiry.Config) { c.CacheTTL = time.Millisecond })
	st.addUser("alice")
	st.login("alice")
	cookie := st.cookie
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				if (i+j)%7 == 0 {
					_ = st.gate.Require(nil, "alice", passwordexpiry.AdminReset)
				}
				r := httptest.NewRequest("GET", "/account", nil)
				r.AddCookie(cookie)
				w := httptest.NewRecorder()
				st.h.ServeHTTP(w, r)
				if w.Code != 200 && w.Code != 303 {
					t.Errorf("status %d", w.Code)
				}
			}
		})
	}
	wg.Wait()
}

// TestCheck: the decision apart from the response.
func TestCheck(t *testing.T) {
	store := passwordexpiry.NewMemoryStore()
	_ = store.Require(context.Background(), "alice", passwordexpiry.Compromised, time.Now())
	log, _ := newLogger(t)
	gate, _ := passwordexpiry.New(passwordexpiry.Config{Store: store, Exempt: []string{"/static/"}, Logger: log})
	for _, c := range []struct {
		path string
		u    identity.User
		want passwordexpiry.Decision
	}{
		{"/account", nil, passwordexpiry.Decision{Outcome: passwordexpiry.Pass}},
		{"/account", user("bob"), passwordexpiry.Decision{Outcome: passwordexpiry.Pass}},
		{"/account", user("alice"), passwordexpiry.Decision{Outcome: passwordexpiry.Change, Reason: passwordexpiry.Compromised}},
		{"/static/x.css", user("alice"), passwordexpiry.Decision{Outcome: passwordexpiry.Pass, Exempt: "/static/"}},
		{"/password/change", user("alice"), passwordexpiry.Decision{Outcome: passwordexpiry.Pass, Exempt: "/password/change"}},
	} {
		got, err := gate.Check(asUser(httptest.NewRequest("GET", c.path, nil), c.u))
		if got != c.want || err != nil {
			t.Errorf("%s as %v: %+v, %v; want %+v", c.path, c.u, got, err, c.want)
		}
	}
	bad, err := gate.Check(asUser(httptest.NewRequest("GET", "/account", nil), user("x\x00y")))
	if bad.Outcome != passwordexpiry.Unavailable || !errors.Is(err, passwordexpiry.ErrInvalidUserID) || bad.Outcome.String() != "unavailable" {
		t.Errorf("bad id: %+v, %v", bad, err)
	}
}

// TestUnavailableHandler: the 503 answer can be replaced.
func TestUnavailableHandler(t *testing.T) {
	store := &faultyStore{fail: func(string) error { return errDown }}
	log, _ := newLogger(t)
	gate, _ := passwordexpiry.New(passwordexpiry.Config{Store: store, Logger: log,
		Unavailable: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			w.Write([]byte("try again soon"))
		})})
	w := httptest.NewRecorder()
	gate.Handler(http.NotFoundHandler()).ServeHTTP(w, asUser(httptest.NewRequest("GET", "/", nil), user("alice")))
	if w.Code != 503 || w.Body.String() != "try again soon" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %q %v", w.Code, w.Body, w.Header())
	}
}

// TestOddUserIDsCached: odd ids through the session cache (ids with "|"
// and ids that look like a cached value among them).
func TestOddUserIDsCached(t *testing.T) {
	for _, id := range []string{"1|0|x|alice", "a|b", "|", "||", "user ", "用户", "bulwark.passwordexpiry", strings.Repeat("z", passwordexpiry.MaxUserIDLen)} {
		st := newSite(t, nil)
		st.addUser(id)
		st.addUser("alice")
		if err := st.store.Require(context.Background(), id, passwordexpiry.Temporary, st.clock.Now()); err != nil {
			t.Fatal(err)
		}
		st.login(id)
		gets := st.store.gets.Load()
		for range 3 {
			expect(t, id, st.do("GET", "/account"), 303, "/password/change?next=%2Faccount")
		}
		if n := st.store.gets.Load() - gets; n != 1 {
			t.Fatalf("%q: store asked %d times, want 1", id, n)
		}
		expect(t, id+" change", st.do("POST", "/password/change"), 200, "")
		expect(t, id+" free", st.do("GET", "/account"), 200, "")
	}
}

// TestCacheOff: a negative CacheTTL asks the store on every request and
// writes nothing in the session; Changed still renews the token.
func TestCacheOff(t *testing.T) {
	st := newSite(t, func(c *passwordexpiry.Config) { c.CacheTTL = -1 })
	st.addUser("alice")
	if err := st.store.Require(context.Background(), "alice", passwordexpiry.Temporary, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	st.login("alice")
	gets := st.store.gets.Load()
	for range 3 {
		w := st.do("GET", "/account")
		expect(t, "forced", w, 303, "/password/change?next=%2Faccount")
		if c := w.Header().Get("Set-Cookie"); c != "" {
			t.Fatalf("the session was written: %s", c)
		}
	}
	if n := st.store.gets.Load() - gets; n != 3 {
		t.Fatalf("store asked %d times, want 3", n)
	}
	before := st.cookie.Value
	expect(t, "change", st.do("POST", "/password/change"), 200, "")
	if st.cookie == nil || st.cookie.Value == before {
		t.Fatal("the session token was not renewed")
	}
	expect(t, "free", st.do("GET", "/account"), 200, "")
}

func TestDue(t *testing.T) {
	store := &faultyStore{}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = store.Changed(context.Background(), "alice", at)
	_ = store.Require(context.Background(), "bob", passwordexpiry.AdminReset, at)
	off, _ := passwordexpiry.New(passwordexpiry.Config{Store: store})
	on, _ := passwordexpiry.New(passwordexpiry.Config{Store: store, MaxAge: 90 * 24 * time.Hour})
	for _, c := range []struct {
		gate *passwordexpiry.Middleware
		id   string
		want time.Time
	}{
		{off, "alice", time.Time{}},
		{on, "alice", at.Add(90 * 24 * time.Hour)},
		{on, "bob", time.Time{}},
		{on, "nobody", time.Time{}},
	} {
		got, err := c.gate.Due(context.Background(), c.id)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("Due(%s) = %v, %v; want %v", c.id, got, err, c.want)
		}
	}
	store.setFail(func(string) error { return errDown })
	if _, err := on.Due(context.Background(), "alice"); !errors.Is(err, errDown) {
		t.Errorf("Due with the store down: %v", err)
	}
}
