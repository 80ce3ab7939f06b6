package sessionexpiry_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(sm *scs.SessionManager) sessionexpiry.Config
		want string
	}{
		{"no manager", func(*scs.SessionManager) sessionexpiry.Config { return sessionexpiry.Config{} }, "Config.Sessions is nil"},
		{"scs idle timeout", func(sm *scs.SessionManager) sessionexpiry.Config {
			sm.IdleTimeout = 20 * time.Minute
			return sessionexpiry.Config{Sessions: sm}
		}, "Config.Sessions.IdleTimeout is 20m0s: set it to 0 and Config.Idle to 20m0s"},
		{"lifetime not longer than absolute", func(sm *scs.SessionManager) sessionexpiry.Config {
			return sessionexpiry.Config{Sessions: sm, Absolute: 24 * time.Hour}
		}, "Config.Sessions.Lifetime (24h0m0s) must be longer than Config.Absolute (24h0m0s)"},
		{"negative absolute", func(sm *scs.SessionManager) sessionexpiry.Config {
			return sessionexpiry.Config{Sessions: sm, Absolute: -1}
		}, "Config.Absolute is -1ns: write a positive duration"},
		{"negative idle", func(sm *scs.SessionManager) sessionexpiry.Config {
			return sessionexpiry.Config{Sessions: sm, Idle: -time.Second}
		}, "Config.Idle is -1s"},
		{"idle over absolute", func(sm *scs.SessionManager) sessionexpiry.Config {
			return sessionexpiry.Config{Sessions: sm, Absolute: time.Hour, Idle: 2 * time.Hour}
		}, "Config.Idle (2h0m0s) is longer than Config.Absolute (1h0m0s)"},
		{"granularity too coarse", func(sm *scs.SessionManager) sessionexpiry.Config {
			return sessionexpiry.Config{Sessions: sm, Idle: 10 * time.Minute, Granularity: 6 * time.Minute}
		}, "Config.Granularity is 6m0s: write a duration between 0 (the default, 1m0s) and Idle/2 (5m0s)"},
		{"bad passive pattern", func(sm *scs.SessionManager) sessionexpiry.Config {
			return sessionexpiry.Config{Sessions: sm, Passive: []string{"poll"}}
		}, "Config.Passive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sessionexpiry.New(tc.cfg(scs.New()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewInstalls(t *testing.T) {
	sm := scs.New()
	inner := sm.Store
	log, _ := newLogger(t)
	if _, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: log, ExpireAtBrowserClose: true}); err != nil {
		t.Fatal(err)
	}
	if sm.Store == inner {
		t.Fatal("the store was not guarded")
	}
	guarded := sm.Store
	if _, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if sm.Store != guarded {
		t.Fatal("a second New wrapped the guard again")
	}
	if sm.Cookie.Persist {
		t.Fatal("ExpireAtBrowserClose left Cookie.Persist true")
	}
	rec := httptest.NewRecorder()
	sm.ErrorFunc(rec, httptest.NewRequest("GET", "/", nil), errors.New("boom"))
	if rec.Code != 503 {
		t.Fatalf("ErrorFunc answered %d, want 503", rec.Code)
	}

	// An application's own ErrorFunc is kept.
	sm2 := scs.New()
	mine := func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(418) }
	sm2.ErrorFunc = mine
	if _, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm2, Logger: log}); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	sm2.ErrorFunc(rec, httptest.NewRequest("GET", "/", nil), errors.New("boom"))
	if rec.Code != 418 {
		t.Fatalf("the application's ErrorFunc was replaced (%d)", rec.Code)
	}
}

// TestLifecycle follows one session through its life on a fake clock:
// writes only once per granularity, then the idle and absolute ends.
func TestLifecycle(t *testing.T) {
	type step struct {
		advance    time.Duration
		path       string
		wantCode   int
		wantBody   string
		wantWrite  bool   // the response sets the session cookie (a store write)
		wantEvent  string // an event that must be logged
		wantReason string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"idle", []step{
			{advance: 10 * time.Second, path: "/whoami", wantCode: 200, wantBody: "alice"},
			{advance: 30 * time.Second, path: "/whoami", wantCode: 200, wantBody: "alice"},
			{advance: 30 * time.Second, path: "/whoami", wantCode: 200, wantBody: "alice", wantWrite: true}, // 70 s > 1 min granularity
			{advance: 19 * time.Minute, path: "/whoami", wantCode: 200, wantBody: "alice", wantWrite: true},
			{advance: 20*time.Minute + time.Second, path: "/whoami", wantCode: 303, wantEvent: "sessionexpiry.expired", wantReason: "idle"},
		}},
		{"absolute despite activity", func() []step {
			var s []step
			for range 8*4 - 1 { // a request every 15 minutes for almost 8 hours
				s = append(s, step{advance: 15 * time.Minute, path: "/whoami", wantCode: 200, wantBody: "alice", wantWrite: true})
			}
			return append(s, step{advance: 15*time.Minute + time.Second, path: "/whoami", wantCode: 303, wantEvent: "sessionexpiry.expired", wantReason: "absolute"})
		}()},
		{"passive requests do not count as activity", []step{
			{advance: 10 * time.Minute, path: "/poll", wantCode: 200, wantBody: "alice"},
			{advance: 9 * time.Minute, path: "/poll", wantCode: 200, wantBody: "alice"},
			{advance: 2 * time.Minute, path: "/poll", wantCode: 303, wantEvent: "sessionexpiry.expired", wantReason: "idle"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			log, ev := newLogger(t)
			sm := newManager()
			store := sm.Store
			s := newSite(t, sm, clk, log, func(c *sessionexpiry.Config) { c.Passive = []string{"GET /poll"} })
			cookie := s.login(t)
			ev.take()
			for i, st := range tc.steps {
				clk.Add(st.advance)
				rec := s.do("GET", st.path, cookie, "Sec-Fetch-Mode", "navigate")
				if rec.Code != st.wantCode || !strings.HasPrefix(rec.Body.String(), st.wantBody) {
					t.Fatalf("step %d: %d %q, want %d %q", i, rec.Code, rec.Body, st.wantCode, st.wantBody)
				}
				wrote := sessionCookie(rec) != nil && !expiresCookie(rec)
				if st.wantCode == 200 && wrote != st.wantWrite {
					t.Fatalf("step %d: session written = %v, want %v", i, wrote, st.wantWrite)
				}
				names := ev.take()
				if st.wantEvent == "" {
					continue
				}
				if !contains(names, st.wantEvent) {
					t.Fatalf("step %d: events %v, want %s", i, names, st.wantEvent)
				}
				if got := ev.field(st.wantEvent, "reason"); got != st.wantReason {
					t.Errorf("step %d: reason %v, want %s", i, got, st.wantReason)
				}
				if sid, _ := ev.field(st.wantEvent, "session").(string); len(sid) != 16 || ev.field(st.wantEvent, "session_user") != "alice" {
					t.Errorf("step %d: session %q, session_user %v", i, sid, ev.field(st.wantEvent, "session_user"))
				}
				if st.wantCode == 303 {
					if got := rec.Header().Get("Location"); got != "/login?next=%2F"+strings.TrimPrefix(st.path, "/") {
						t.Errorf("Location = %q", got)
					}
					if !expiresCookie(rec) {
						t.Error("the expired session's cookie was not deleted")
					}
					if rec.Header().Get("Clear-Site-Data") == "" || s.expired != 1 {
						t.Error("OnExpire did not run")
					}
					if _, found, _ := store.Find(cookie.Value); found {
						t.Error("the expired session is still in the store")
					}
					// The cookie, replayed, is worth nothing.
					rec = s.do("GET", "/whoami", cookie)
					if rec.Body.String() != "anonymous" {
						t.Errorf("replayed expired cookie: %q", rec.Body)
					}
				}
			}
		})
	}
}

// TestRefusalByClient: the expiry refusal is the shared Responder's, by
// kind of client.
func TestRefusalByClient(t *testing.T) {
	withChallenge, err := identity.NewResponder(identity.ResponderConfig{Challenge: `Bearer realm="api"`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		responder *identity.Responder
		method    string
		header    []string
		code      int
		check     func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{"navigation", nil, "GET", []string{"Sec-Fetch-Mode", "navigate"}, 303, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("Location") != "/login?next=%2Fwhoami" {
				t.Errorf("Location %q", rec.Header().Get("Location"))
			}
		}},
		{"navigation POST has no next", nil, "POST", nil, 303, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("Location") != "/login" {
				t.Errorf("Location %q", rec.Header().Get("Location"))
			}
		}},
		{"api without challenge", nil, "GET", []string{"Accept", "application/json"}, 403, func(t *testing.T, rec *httptest.ResponseRecorder) {
			var body struct{ Error, Reason, Location string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != "session_expired" || body.Reason != "idle" || !strings.HasPrefix(body.Location, "/login") {
				t.Errorf("body %q", rec.Body)
			}
		}},
		{"api with challenge", withChallenge, "GET", []string{"X-Requested-With", "XMLHttpRequest"}, 401, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("no challenge")
			}
		}},
		{"htmx", nil, "GET", []string{"HX-Request", "true"}, 204, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("HX-Redirect") != "/login?next=%2Fwhoami" {
				t.Errorf("HX-Redirect %q", rec.Header().Get("HX-Redirect"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			log, ev := newLogger(t)
			s := newSite(t, newManager(), clk, log, func(c *sessionexpiry.Config) { c.Responder = tc.responder })
			cookie := s.login(t)
			clk.Add(21 * time.Minute)
			ev.take()
			target := "/whoami"
			if tc.method == "POST" {
				target = "/logout"
			}
			rec := s.do(tc.method, target, cookie, tc.header...)
			if rec.Code != tc.code {
				t.Fatalf("code %d, want %d (%s)", rec.Code, tc.code, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Cookie") {
				t.Errorf("headers %v", rec.Header())
			}
			tc.check(t, rec)
			if names := ev.take(); !contains(names, "sessionexpiry.expired") {
				t.Errorf("events %v", names)
			}
		})
	}
}

func TestAnonymousGetsNoSession(t *testing.T) {
	clk := newClock()
	log, ev := newLogger(t)
	sm := newManager()
	store := sm.Store.(*memstore.MemStore)
	s := newSite(t, sm, clk, log)
	for _, path := range []string{"/whoami", "/poll", "/nowhere"} {
		rec := s.do("GET", path, nil)
		if c := sessionCookie(rec); c != nil {
			t.Errorf("%s: anonymous request got a cookie %v", path, c)
		}
	}
	if all, _ := store.All(); len(all) != 0 {
		t.Fatalf("the store holds %d sessions", len(all))
	}
	if names := ev.take(); len(names) != 0 {
		t.Fatalf("events for anonymous visitors: %v", names)
	}
}

// TestUntrustworthyClocks: a logged-in session whose clocks are missing,
// of another type or in the future is ended, with a clock_anomaly event.
func TestUntrustworthyClocks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		put    func(sm *scs.SessionManager, r *http.Request, now time.Time)
		reason string
	}{
		{"no login time", func(sm *scs.SessionManager, r *http.Request, now time.Time) {
			sm.Remove(r.Context(), identity.SessionLoginKey)
		}, sessionexpiry.ReasonNoLoginTime},
		{"login time as a string", func(sm *scs.SessionManager, r *http.Request, now time.Time) {
			sm.Put(r.Context(), identity.SessionLoginKey, now.String())
		}, sessionexpiry.ReasonNoLoginTime},
		{"login time in the future", func(sm *scs.SessionManager, r *http.Request, now time.Time) {
			sm.Put(r.Context(), identity.SessionLoginKey, now.Add(time.Hour).UnixNano())
		}, sessionexpiry.ReasonFutureLogin},
		{"activity in the future", func(sm *scs.SessionManager, r *http.Request, now time.Time) {
			sm.Put(r.Context(), sessionexpiry.SessionSeenKey, now.Add(2*time.Minute).UnixNano())
		}, sessionexpiry.ReasonFutureActivity},
		{"activity of another type", func(sm *scs.SessionManager, r *http.Request, now time.Time) {
			sm.Put(r.Context(), sessionexpiry.SessionSeenKey, "yesterday")
		}, sessionexpiry.ReasonBadActivity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			log, ev := newLogger(t)
			sm := newManager()
			s := newSite(t, sm, clk, log)
			cookie := s.login(t)
			// Tamper with the stored session, as a bug or an old version
			// of the application would.
			tamper := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.put(sm, r, clk.Now())
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(cookie)
			tamper.ServeHTTP(httptest.NewRecorder(), r)
			ev.take()
			rec := s.do("GET", "/whoami", cookie)
			if rec.Code != 303 {
				t.Fatalf("code %d %q", rec.Code, rec.Body)
			}
			if names := ev.take(); !contains(names, "sessionexpiry.clock_anomaly") || !contains(names, "sessionexpiry.expired") {
				t.Fatalf("events %v", names)
			}
			if got := ev.field("sessionexpiry.expired", "reason"); got != tc.reason {
				t.Fatalf("reason %v, want %s", got, tc.reason)
			}
		})
	}
}

// TestHostileCookies: cookies that name no live session are served as
// anonymous, expired, and logged by kind; the store is not even asked for
// a malformed one.
func TestHostileCookies(t *testing.T) {
	clk := newClock()
	log, ev := newLogger(t)
	sm := newManager()
	counting := &countingStore{Store: sm.Store}
	sm.Store = counting
	s := newSite(t, sm, clk, log)

	live := s.login(t)
	loggedOut := s.login(t)
	if rec := s.do("POST", "/logout", loggedOut); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	expiredEarly := s.login(t)
	clk.Add(10 * time.Second)
	if rec := s.do("POST", "/logout", expiredEarly); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	ev.take()

	for _, tc := range []struct {
		name, value string
		advance     time.Duration
		event       string
		storeAsked  bool
	}{
		{"truncated", live.Value[:20], 0, "sessionexpiry.malformed_cookie", false},
		{"oversized", strings.Repeat("A", 4000), 0, "sessionexpiry.malformed_cookie", false},
		{"bad characters", live.Value[:42] + "!", 0, "sessionexpiry.malformed_cookie", false},
		{"tombstone key", "bulwark-tomb:" + live.Value[:30], 0, "sessionexpiry.malformed_cookie", false},
		{"forged", strings.Repeat("A", 43), 0, "sessionexpiry.unknown_session", true},
		{"replayed seconds after logout", expiredEarly.Value, 0, "sessionexpiry.late_request", true},
		{"replayed after logout", loggedOut.Value, time.Minute, "sessionexpiry.use_after_expire", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Add(tc.advance)
			before := counting.finds.Load()
			rec := s.do("GET", "/whoami", &http.Cookie{Name: "session", Value: tc.value})
			if rec.Code != 200 || rec.Body.String() != "anonymous" {
				t.Fatalf("%d %q", rec.Code, rec.Body)
			}
			if !expiresCookie(rec) {
				t.Error("the dead cookie was not expired")
			}
			if asked := counting.finds.Load() > before; asked != tc.storeAsked {
				t.Errorf("store asked = %v, want %v", asked, tc.storeAsked)
			}
			if names := ev.take(); len(names) != 1 || names[0] != tc.event {
				t.Errorf("events %v, want [%s]", names, tc.event)
			}
		})
	}
	// The live session is untouched by all this.
	if rec := s.do("GET", "/whoami", live); rec.Body.String() != "alice" {
		t.Fatalf("live session: %q", rec.Body)
	}
}

// TestSessionFixation: a token planted before login is dead after it.
func TestSessionFixation(t *testing.T) {
	clk := newClock()
	log, ev := newLogger(t)
	sm := newManager()
	s := newSite(t, sm, clk, log)
	// The attacker gets an anonymous stored session and plants its token.
	plant := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "theme", "dark")
	}))
	rec := httptest.NewRecorder()
	plant.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	planted := sessionCookie(rec)
	// The victim logs in with it.
	rec = s.do("POST", "/login", planted)
	fresh := sessionCookie(rec)
	if fresh == nil || fresh.Value == planted.Value {
		t.Fatal("login did not renew the token")
	}
	clk.Add(time.Minute)
	ev.take()
	rec = s.do("GET", "/whoami", planted)
	if rec.Body.String() != "anonymous" {
		t.Fatalf("the planted token is logged in: %q", rec.Body)
	}
	if names := ev.take(); !contains(names, "sessionexpiry.use_after_expire") {
		t.Fatalf("events %v", names)
	}
}

func TestNoLoadAndSave(t *testing.T) {
	log, _ := newLogger(t)
	mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: scs.New(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw.Handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 {
		t.Fatalf("code %d", rec.Code)
	}
}

// TestResurrection: a request in flight when its session is logged out in
// a parallel request saves the session afterwards; the guard deletes it
// again, and the cookie is worth nothing.
func TestResurrection(t *testing.T) {
	for _, guarded := range []bool{true, false} {
		t.Run(map[bool]string{true: "guarded", false: "plain scs"}[guarded], func(t *testing.T) {
			clk := newClock()
			log, ev := newLogger(t)
			sm := newManager()
			inner := sm.Store
			s := newSite(t, sm, clk, log)
			if !guarded {
				sm.Store = inner // what scs does alone
			}
			cookie := s.login(t)

			var wg sync.WaitGroup
			var held *httptest.ResponseRecorder
			wg.Go(func() { held = s.do("GET", "/hold", cookie) })
			<-s.entered // the request has loaded the session
			if rec := s.do("POST", "/logout", cookie); rec.Code != 200 || !expiresCookie(rec) {
				t.Fatalf("logout: %d", rec.Code)
			}
			close(s.hold)
			wg.Wait()
			if held.Code != 200 {
				t.Fatalf("held request: %d", held.Code)
			}
			_, found, _ := inner.Find(cookie.Value)
			if guarded && found {
				t.Fatal("the logged-out session is back in the store")
			}
			if !guarded && !found {
				t.Fatal("plain scs did not resurrect the session: the test no longer shows the problem")
			}
			if !guarded {
				return
			}
			if names := ev.take(); !contains(names, "sessionexpiry.resurrection_blocked") {
				t.Fatalf("events %v", names)
			}
			if rec := s.do("GET", "/whoami", cookie); rec.Body.String() != "anonymous" {
				t.Fatalf("after logout: %q", rec.Body)
			}
		})
	}
}

// TestResurrectionRace runs logouts against in-flight writes many times,
// in every interleaving the scheduler finds: the session never survives.
func TestResurrectionRace(t *testing.T) {
	clk := newClock()
	log, _ := newLogger(t)
	sm := newManager()
	inner := sm.Store
	var s *site
	s = newSite(t, sm, clk, log)
	write := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "n", 1)
	}))
	for i := range 200 {
		cookie := s.login(t)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(cookie)
				write.ServeHTTP(httptest.NewRecorder(), r)
			})
		}
		wg.Go(func() { s.do("POST", "/logout", cookie) })
		wg.Wait()
		if _, found, _ := inner.Find(cookie.Value); found {
			t.Fatalf("round %d: the logged-out session survived", i)
		}
	}
}

// TestStoreErrors: a store error at every call is a 503 and an event,
// never a panic and never a pass-through.
func TestStoreErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failOpen bool
		setup    func(t *testing.T, s *site, clk *clock) *http.Cookie // returns the cookie to send
		fail     string                                               // the call that fails from then on
		code     int
		body     string
		op       string
	}{
		{"load", false, func(t *testing.T, s *site, clk *clock) *http.Cookie { return s.login(t) }, "find", 503, "", "load-or-commit"},
		{"touch commit", false, func(t *testing.T, s *site, clk *clock) *http.Cookie {
			c := s.login(t)
			clk.Add(2 * time.Minute)
			return c
		}, "commit", 503, "", "touch"},
		{"destroy at expiry", false, func(t *testing.T, s *site, clk *clock) *http.Cookie {
			c := s.login(t)
			clk.Add(time.Hour)
			return c
		}, "delete", 503, "", "destroy"},
		{"tombstone write at expiry", false, func(t *testing.T, s *site, clk *clock) *http.Cookie {
			c := s.login(t)
			clk.Add(time.Hour)
			return c
		}, "commit", 503, "", "destroy"},
		{"dead cookie look-up", false, func(t *testing.T, s *site, clk *clock) *http.Cookie {
			return &http.Cookie{Name: "session", Value: strings.Repeat("B", 43)}
		}, "find-tomb", 503, "", "tombstone"},
		{"dead cookie look-up, fail open", true, func(t *testing.T, s *site, clk *clock) *http.Cookie {
			return &http.Cookie{Name: "session", Value: strings.Repeat("B", 43)}
		}, "find-tomb", 200, "anonymous", "tombstone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			log, ev := newLogger(t)
			sm := newManager()
			fs := &failingStore{Store: sm.Store}
			sm.Store = fs
			s := newSite(t, sm, clk, log, func(c *sessionexpiry.Config) { c.FailOpen = tc.failOpen })
			cookie := tc.setup(t, s, clk)
			fs.set(tc.fail)
			ev.take()
			rec := s.do("GET", "/whoami", cookie)
			if rec.Code != tc.code || (tc.body != "" && rec.Body.String() != tc.body) {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.body)
			}
			if tc.code == 503 && strings.Contains(rec.Body.String(), "alice") {
				t.Fatal("a 503 body carries the handler's answer")
			}
			if names := ev.take(); !contains(names, "sessionexpiry.store_error") {
				t.Fatalf("events %v", names)
			}
			if ops := ev.values("sessionexpiry.store_error", "op"); !contains(ops, tc.op) {
				t.Errorf("ops %v, want %s", ops, tc.op)
			}
		})
	}
}

// TestCommitCheckFails: when the guard cannot tell whether a saved session
// was destroyed meanwhile, it deletes the copy (fail closed).
func TestCommitCheckFails(t *testing.T) {
	clk := newClock()
	log, _ := newLogger(t)
	sm := newManager()
	fs := &failingStore{Store: sm.Store}
	sm.Store = fs
	s := newSite(t, sm, clk, log)
	cookie := s.login(t)
	clk.Add(2 * time.Minute)
	fs.set("find-tomb")
	if rec := s.do("GET", "/whoami", cookie); rec.Code != 503 {
		t.Fatalf("code %d", rec.Code)
	}
	fs.set("")
	if _, found, _ := fs.Store.Find(cookie.Value); found {
		t.Fatal("a copy the guard could not check was left in the store")
	}
}

// TestHashedTokens: with scs's HashTokenInStore the store knows only
// hashes; expiry, the guard and the classification of dead cookies work
// the same.
func TestHashedTokens(t *testing.T) {
	clk := newClock()
	log, ev := newLogger(t)
	sm := newManager()
	sm.HashTokenInStore = true
	inner := sm.Store
	s := newSite(t, sm, clk, log)
	c := s.login(t)
	if _, found, _ := inner.Find(c.Value); found {
		t.Fatal("the store knows the token in clear")
	}
	if rec := s.do("POST", "/logout", c); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	clk.Add(time.Minute)
	ev.take()
	if rec := s.do("GET", "/whoami", c); rec.Body.String() != "anonymous" {
		t.Fatalf("%q", rec.Body)
	}
	if names := ev.take(); !contains(names, "sessionexpiry.use_after_expire") {
		t.Fatalf("events %v", names)
	}
	c = s.login(t)
	clk.Add(21 * time.Minute)
	if rec := s.do("GET", "/whoami", c); rec.Code != 303 {
		t.Fatalf("%d", rec.Code)
	}
}

// TestCheck: the decision alone, on a session loaded by hand, changes
// nothing.
func TestCheck(t *testing.T) {
	log, _ := newLogger(t)
	clk := newClock()
	sm := newManager()
	mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Absolute: 8 * time.Hour, Idle: 20 * time.Minute, Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	login := clk.Now()
	for _, tc := range []struct {
		name   string
		values map[string]any
		after  time.Duration
		want   sessionexpiry.Outcome
		reason string
	}{
		{"anonymous", nil, 0, sessionexpiry.Anonymous, ""},
		{"fresh", map[string]any{identity.SessionUserKey: "alice", identity.SessionLoginKey: login.UnixNano()}, 30 * time.Second, sessionexpiry.Active, ""},
		{"touch due", map[string]any{identity.SessionUserKey: "alice", identity.SessionLoginKey: login.UnixNano()}, 90 * time.Second, sessionexpiry.Touch, ""},
		{"recently seen", map[string]any{identity.SessionUserKey: "alice", identity.SessionLoginKey: login.UnixNano(), sessionexpiry.SessionSeenKey: login.Add(time.Hour).UnixNano()}, time.Hour + 10*time.Second, sessionexpiry.Active, ""},
		{"idle", map[string]any{identity.SessionUserKey: "alice", identity.SessionLoginKey: login.UnixNano()}, 21 * time.Minute, sessionexpiry.Expired, sessionexpiry.ReasonIdle},
		{"absolute", map[string]any{identity.SessionUserKey: "alice", identity.SessionLoginKey: login.UnixNano(), sessionexpiry.SessionSeenKey: login.Add(8 * time.Hour).UnixNano()}, 8*time.Hour + time.Second, sessionexpiry.Expired, sessionexpiry.ReasonAbsolute},
		{"seen before login", map[string]any{identity.SessionUserKey: "alice", identity.SessionLoginKey: login.UnixNano(), sessionexpiry.SessionSeenKey: login.Add(-time.Hour).UnixNano()}, 10 * time.Second, sessionexpiry.Active, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := sm.Load(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.values {
				sm.Put(ctx, k, v)
			}
			before := sm.Status(ctx)
			clk.Set(login.Add(tc.after))
			d, err := mw.Check(httptest.NewRequest("GET", "/", nil).WithContext(ctx))
			if d.Outcome != tc.want || d.Reason != tc.reason || err != nil {
				t.Fatalf("%v %q %v, want %v %q", d.Outcome, d.Reason, err, tc.want, tc.reason)
			}
			if sm.Status(ctx) != before {
				t.Fatal("Check changed the session")
			}
		})
	}
}

// TestUnavailableHandler: the 503 answer of a store error can be
// replaced, as mfa's and passwordexpiry's can.
func TestUnavailableHandler(t *testing.T) {
	sm := scs.New()
	log, _ := newLogger(t)
	_, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: log,
		Unavailable: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			w.Write([]byte("try again soon"))
		})})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sm.ErrorFunc(rec, httptest.NewRequest("GET", "/", nil), errors.New("boom"))
	if rec.Code != 503 || rec.Body.String() != "try again soon" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %q %v", rec.Code, rec.Body, rec.Header())
	}
}
