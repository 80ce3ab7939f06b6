package sessionexpiry_test

import (
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/gomodule/redigo/redis"
)

// redisPool returns a small pool on addr, closed when the test ends.
func redisPool(t *testing.T, addr string) *redis.Pool {
	pool := &redis.Pool{
		MaxIdle:     4,
		IdleTimeout: time.Minute,
		Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", addr, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(2*time.Second), redis.DialWriteTimeout(2*time.Second))
		},
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

func TestMultiInstanceRedis(t *testing.T) {
	addr, prefix := testenv.RedisPrefix(t, "sessionexpiry")
	multiInstance(t, func() scs.Store {
		// Each instance has its own pool, as two processes would.
		return redisstore.NewWithPrefix(redisPool(t, addr), prefix)
	})
}

func TestMultiInstancePostgres(t *testing.T) {
	multiInstance(t, sqlstoretest.SCSPostgres(t))
}

// multiInstance runs two application instances, each with its own session
// manager and store client, on one shared store: what one ends, the other
// sees ended.
func multiInstance(t *testing.T, newStore func() scs.Store) {
	clk := newClock()
	log, ev := newLogger(t)
	instance := func() *site {
		sm := newManager()
		sm.Store = newStore()
		return newSite(t, sm, clk, log)
	}
	a, b := instance(), instance()

	t.Run("login on one, served by the other", func(t *testing.T) {
		c := a.login(t)
		if rec := b.do("GET", "/whoami", c); rec.Body.String() != "alice" {
			t.Fatalf("b: %d %q", rec.Code, rec.Body)
		}
	})
	t.Run("logout on one, gone on the other", func(t *testing.T) {
		c := a.login(t)
		if rec := b.do("POST", "/logout", c); rec.Code != 200 {
			t.Fatalf("logout on b: %d", rec.Code)
		}
		clk.Add(time.Minute)
		ev.take()
		if rec := a.do("GET", "/whoami", c); rec.Body.String() != "anonymous" || !expiresCookie(rec) {
			t.Fatalf("a after logout on b: %q", rec.Body)
		}
		if names := ev.take(); !contains(names, "sessionexpiry.use_after_expire") {
			t.Fatalf("events %v", names)
		}
	})
	t.Run("expired on one, gone on the other", func(t *testing.T) {
		c := a.login(t)
		clk.Add(10 * time.Minute)
		if rec := b.do("GET", "/whoami", c); rec.Body.String() != "alice" {
			t.Fatalf("b: %q", rec.Body)
		}
		clk.Add(21 * time.Minute)
		ev.take()
		if rec := b.do("GET", "/whoami", c); rec.Code != 303 {
			t.Fatalf("b after idle: %d %q", rec.Code, rec.Body)
		}
		if names := ev.take(); !contains(names, "sessionexpiry.expired") {
			t.Fatalf("events %v", names)
		}
		if rec := a.do("GET", "/whoami", c); rec.Body.String() != "anonymous" {
			t.Fatalf("a after expiry on b: %q", rec.Body)
		}
	})
	t.Run("idle clock shared", func(t *testing.T) {
		// Activity on a keeps the session alive on b.
		c := a.login(t)
		for range 4 {
			clk.Add(15 * time.Minute)
			if rec := a.do("GET", "/whoami", c); rec.Body.String() != "alice" {
				t.Fatalf("a: %q", rec.Body)
			}
		}
		clk.Add(15 * time.Minute)
		if rec := b.do("GET", "/whoami", c); rec.Body.String() != "alice" {
			t.Fatalf("b: %q", rec.Body)
		}
	})
	t.Run("in flight on one, logged out on the other", func(t *testing.T) {
		c := a.login(t)
		var wg sync.WaitGroup
		var held int
		wg.Go(func() { held = a.do("GET", "/hold", c).Code })
		<-a.entered
		if rec := b.do("POST", "/logout", c); rec.Code != 200 {
			t.Fatalf("logout on b: %d", rec.Code)
		}
		ev.take()
		close(a.hold)
		wg.Wait()
		if held != 200 {
			t.Fatalf("held request: %d", held)
		}
		if names := ev.take(); !contains(names, "sessionexpiry.resurrection_blocked") {
			t.Fatalf("events %v", names)
		}
		for _, s := range []*site{a, b} {
			if rec := s.do("GET", "/whoami", c); rec.Body.String() != "anonymous" {
				t.Fatalf("after logout: %q", rec.Body)
			}
		}
	})
}

// TestRedisDies: the Redis server stops in the middle of a session; every
// request is then a 503 with an event, never a panic, never served.
func TestRedisDies(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, "redis-server is not installed: this test starts a private one")
	}
	port := freePort(t)
	srv := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Process.Kill()
			srv.Wait()
		}
	}
	t.Cleanup(stop)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitFor(t, addr)

	clk := newClock()
	log, ev := newLogger(t)
	sm := newManager()
	sm.Store = redisstore.New(redisPool(t, addr))
	s := newSite(t, sm, clk, log)
	c := s.login(t)
	if rec := s.do("GET", "/whoami", c); rec.Body.String() != "alice" {
		t.Fatalf("before: %q", rec.Body)
	}
	stop() // Redis is killed

	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		method string
		path   string
		adv    time.Duration
	}{
		{"logged in", c, "GET", "/whoami", 0},
		{"idle write due", c, "GET", "/whoami", 2 * time.Minute},
		{"expired", c, "GET", "/whoami", time.Hour},
		{"logout", c, "POST", "/logout", 0},
		{"dead cookie", &http.Cookie{Name: "session", Value: c.Value[:42] + "x"}, "GET", "/whoami", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Add(tc.adv)
			ev.take()
			rec := s.do(tc.method, tc.path, tc.cookie)
			if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%d %q", rec.Code, rec.Body)
			}
			if names := ev.take(); !contains(names, "sessionexpiry.store_error") {
				t.Fatalf("events %v", names)
			}
		})
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, addr string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := redis.Dial("tcp", addr); err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server on %s did not start", addr)
}
