package mfa_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/mfa/totp/sqlstore"
	ptotp "github.com/pquerna/otp/totp"
)

// blockingVerifier wraps a verifier: its Health or Begin (as block says)
// signals entered, then waits until release is closed or its context is
// done, as a provider's call over the network does, and then asks the
// wrapped verifier with the context it was given.
type blockingVerifier struct {
	mfa.Verifier
	block   string               // "health" or "begin"
	entered chan context.Context // the context of each blocked call
	release chan struct{}
}

func newBlocking(v mfa.Verifier, block string) *blockingVerifier {
	return &blockingVerifier{Verifier: v, block: block, entered: make(chan context.Context, 100), release: make(chan struct{})}
}

func (b *blockingVerifier) wait(ctx context.Context, what string) error {
	if b.block != what {
		return nil
	}
	b.entered <- ctx
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("provider call: %w", ctx.Err())
	}
}

func (b *blockingVerifier) Health(ctx context.Context) error {
	if err := b.wait(ctx, "health"); err != nil {
		return err
	}
	return b.Verifier.Health(ctx)
}

func (b *blockingVerifier) Begin(ctx context.Context, userID, state string) (mfa.Prompt, error) {
	if err := b.wait(ctx, "begin"); err != nil {
		return mfa.Prompt{}, err
	}
	return b.Verifier.Begin(ctx, userID, state)
}

func (b *blockingVerifier) Complete(r *http.Request, userID, state string) error {
	if err := b.wait(r.Context(), "complete"); err != nil {
		return err
	}
	return b.Verifier.Complete(r, userID, state)
}

// hangUp sends GET /mfa with the site's cookie on a context it cancels
// once the verifier's blocked call has begun (the client hung up), and
// waits until the handler has returned.
func (st *site) hangUp(b *blockingVerifier) *httptest.ResponseRecorder {
	st.t.Helper()
	return st.hangUpOn(b, httptest.NewRequest("GET", "/mfa", nil))
}

// hangUpOn is hangUp for the request r.
func (st *site) hangUpOn(b *blockingVerifier, r *http.Request) *httptest.ResponseRecorder {
	st.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r = r.WithContext(ctx)
	r.AddCookie(st.cookie)
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.h.ServeHTTP(w, r)
	}()
	<-b.entered
	cancel()
	<-done
	return w
}

// TestClientLeavingIsNoOutage: a logged-in client that hangs up while the
// gate asks the provider's health, or while the verifier begins the
// challenge, is not a provider outage. In Open mode it is never a bypass;
// in either mode nothing is cached, no outage is logged, and the next
// user's challenge is served normally.
func TestClientLeavingIsNoOutage(t *testing.T) {
	for _, mode := range []mfa.FailMode{mfa.Closed, mfa.Open} {
		for _, during := range []string{"health", "begin"} {
			t.Run(mode.String()+"/"+during, func(t *testing.T) {
				fv := &fakeVerifier{}
				b := newBlocking(fv, during)
				st := newSite(t, b, func(c *mfa.Config) { c.FailMode = mode })
				st.login("bob")
				bob := st.cookie
				st.cookie = nil
				st.login("alice") // alice is the one who hangs up (or someone holding her password)
				alice := st.cookie
				st.do("GET", "/account?tab=1", "") // her return path is kept

				w := st.hangUp(b)
				if loc := w.Header().Get("Location"); w.Code == http.StatusSeeOther && loc != "/mfa" {
					t.Errorf("the client that hung up was sent on to %q: a bypass", loc)
				}
				if s := st.status(); s.State == mfa.Bypassed || s.State == mfa.Verified {
					t.Fatalf("after hanging up, alice's session is %v", s.State)
				}
				// A script's request: refused, and her return path stays.
				expect(t, "alice after hanging up", st.do("GET", "/account", "", "Accept", "application/json"), 403, "")
				names := st.names()
				for _, n := range names {
					if n == "mfa.bypassed" || n == "mfa.unavailable" {
						t.Errorf("a client hanging up was logged as an outage: %s", n)
					}
				}
				hasEvent(t, names, "mfa.abandoned")

				// The provider answers again (it was never down).
				close(b.release)
				st.cookie = bob
				expect(t, "bob's challenge", st.do("GET", "/mfa", ""), 200, "")
				names = st.names()
				hasEvent(t, names, "mfa.challenge")
				if slices.Contains(names, "mfa.bypassed") || slices.Contains(names, "mfa.unavailable") {
					t.Errorf("bob's challenge: events %v", names)
				}
				st.cookie = alice
				expect(t, "alice, back", st.do("GET", "/mfa", ""), 200, "")
				expect(t, "alice passes", st.do("POST", "/mfa", "answer=ok"), 303, "/account?tab=1")
			})
		}
	}
}

// TestHealthCheckHasItsOwnContext: the health check runs on a context of
// its own, bounded by HealthTimeout: it keeps the values of the request
// that started it (request id, logger fields), not its cancellation.
func TestHealthCheckHasItsOwnContext(t *testing.T) {
	b := newBlocking(&fakeVerifier{}, "health")
	st := newSite(t, b, func(c *mfa.Config) { c.HealthTimeout = time.Hour })
	st.login("alice")
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "request-7"))
	r := httptest.NewRequestWithContext(ctx, "GET", "/mfa", nil)
	r.AddCookie(st.cookie)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	hctx := <-b.entered
	cancel()
	<-done
	if hctx.Value(key{}) != "request-7" {
		t.Error("the health check lost the request's values")
	}
	if hctx.Err() != nil {
		t.Errorf("the request's end cancelled the health check: %v", context.Cause(hctx))
	}
	if d, ok := hctx.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Errorf("health check deadline %v, %v; want HealthTimeout (an hour) from its start", d, ok)
	}
	close(b.release)
}

// TestClientClosesConnectionDuringHealthCheck: the demo's wiring (TOTP on
// SQLite) behind a real server, in each fail mode; alice's client sends
// GET /mfa and closes the connection while the store is pinged. She is
// not let in, and bob's challenge is served normally.
func TestClientClosesConnectionDuringHealthCheck(t *testing.T) {
	for _, mode := range []mfa.FailMode{mfa.Closed, mfa.Open} {
		t.Run(mode.String(), func(t *testing.T) { clientClosesConnection(t, mode) })
	}
}

func clientClosesConnection(t *testing.T, mode mfa.FailMode) {
	store, err := sqlstore.New(t.Context(), sqlstoretest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	var st *site
	tv, err := totp.New(totp.Config{Store: store, Issuer: "Bulwark", Now: func() time.Time { return st.clock.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	b := newBlocking(tv, "health")
	st = newSite(t, b, func(c *mfa.Config) { c.FailMode = mode })
	st.clock.Add(-30 * time.Second)
	for _, u := range []string{"alice", "bob"} {
		key, err := tv.Enroll(context.Background(), u, u+"@bulwark.test")
		if err != nil {
			t.Fatal(err)
		}
		code, err := ptotp.GenerateCode(key.Secret(), st.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := tv.Confirm(nil, u, code); err != nil {
			t.Fatal(err)
		}
	}
	st.clock.Add(30 * time.Second)
	handled := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.h.ServeHTTP(w, r)
		handled <- r.Method + " " + r.URL.Path
	}))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(cookie *http.Cookie, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(cookie)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		<-handled
		return res
	}

	st.login("bob")
	bob := st.cookie
	st.cookie = nil
	st.login("alice")
	alice := st.cookie

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /mfa HTTP/1.1\r\nHost: %s\r\nCookie: %s=%s\r\n\r\n", srv.Listener.Addr(), alice.Name, alice.Value)
	<-b.entered // the store is being pinged
	conn.Close()
	<-handled

	if res := get(alice, "/account"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/mfa" {
		t.Fatalf("alice after closing the connection: %d %q, want 303 to /mfa (no bypass)", res.StatusCode, res.Header.Get("Location"))
	}
	close(b.release)
	if res := get(bob, "/mfa"); res.StatusCode != http.StatusOK {
		t.Fatalf("bob's challenge: %d, want 200 (the form)", res.StatusCode)
	}
	names := st.names()
	hasEvent(t, names, "mfa.challenge")
	if slices.Contains(names, "mfa.bypassed") || slices.Contains(names, "mfa.unavailable") {
		t.Errorf("events %v: a closed connection was taken for an outage", names)
	}
}

// stubbornVerifier's Health ignores its context: it returns when released,
// or panics when told to.
type stubbornVerifier struct {
	*fakeVerifier
	release chan struct{}
	panics  bool
	calls   atomic.Int32
}

func (v *stubbornVerifier) Health(context.Context) error {
	v.calls.Add(1)
	if v.panics {
		panic("provider client bug")
	}
	<-v.release
	return nil
}

// TestHealthCheckBoundsAndPanics: a verifier that ignores HealthTimeout,
// and one whose Health panics, are outages of the provider (503 in
// Closed mode, an mfa.unavailable event), not a hung or crashed server.
func TestHealthCheckBoundsAndPanics(t *testing.T) {
	for _, c := range []struct {
		name, want string
		v          *stubbornVerifier
		timeout    time.Duration
	}{
		{"ignores its deadline", "did not answer within HealthTimeout", &stubbornVerifier{fakeVerifier: &fakeVerifier{}, release: make(chan struct{})}, time.Millisecond},
		// A panic answers at once: a timeout no loaded machine can reach
		// keeps the verdict "panicked", never "did not answer".
		{"panics", "Health panicked: provider client bug", &stubbornVerifier{fakeVerifier: &fakeVerifier{}, panics: true}, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newSite(t, c.v, func(cfg *mfa.Config) { cfg.HealthTimeout = c.timeout })
			st.login("alice")
			expect(t, "begin", st.do("GET", "/mfa", ""), 503, "")
			evs := st.events.Take()
			found := false
			for _, e := range evs {
				if e.Name == "mfa.unavailable" {
					found = true
					if msg, _ := e.Fields["error"].(string); !strings.Contains(msg, c.want) {
						t.Errorf("mfa.unavailable error %q, want it to say %q", msg, c.want)
					}
				}
			}
			if !found {
				t.Errorf("events %v lack mfa.unavailable", evs)
			}
			// The answer is cached for HealthTTL, then a new check begins,
			// even while the stubborn one has not returned.
			expect(t, "begin again", st.do("GET", "/mfa", ""), 503, "")
			st.clock.Add(mfa.DefaultHealthTTL)
			expect(t, "after HealthTTL", st.do("GET", "/mfa", ""), 503, "")
			if n := c.v.calls.Load(); n != 2 {
				t.Errorf("Health asked %d times, want 2 (once per HealthTTL)", n)
			}
			if c.v.release != nil {
				close(c.v.release)
			}
		})
	}
}

// TestClientLeavingDuringCompleteIsNoOutage: a client that hangs up while
// the verifier checks its answer is not logged as an outage, and its
// challenge is still there to complete.
func TestClientLeavingDuringCompleteIsNoOutage(t *testing.T) {
	b := newBlocking(&fakeVerifier{}, "complete")
	st := newSite(t, b, nil)
	st.login("alice")
	expect(t, "begin", st.do("GET", "/mfa", ""), 200, "")
	st.names()
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader("answer=ok"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	st.hangUpOn(b, r)
	names := st.names()
	if slices.Contains(names, "mfa.unavailable") {
		t.Errorf("events %v: a client hanging up during Complete was logged as an outage", names)
	}
	hasEvent(t, names, "mfa.abandoned")
	if s := st.status(); s.State != mfa.Pending {
		t.Errorf("after hanging up: %v, want the challenge still pending", s.State)
	}
	close(b.release)
	expect(t, "complete", st.do("POST", "/mfa", "answer=ok"), 303, "/")
}
