package identity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
)

// TestLoginRecordsMethods: the methods given to Login are what
// LoginMethods and HasLoginMethod read back, on the next request too; none
// means a password; a second login replaces the first's methods; a method
// that could make the session value ambiguous is refused and logs nobody in.
func TestLoginRecordsMethods(t *testing.T) {
	store := newUsers()
	log, _ := testLogger(t)
	sm := scs.New()
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: store.lookup, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		u, _ := store.lookup(r.Context(), "alice")
		var methods []string
		if m := r.URL.Query().Get("m"); m != "" {
			methods = strings.Split(m, ",")
		}
		if err := s.Login(r, u, methods...); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("GET /methods", func(w http.ResponseWriter, r *http.Request) {
		got := strings.Join(s.LoginMethods(r.Context()), ",")
		for _, m := range []string{MethodPassword, MethodHardwareKey, MethodMFA, MethodFederated} {
			if HasLoginMethod(r.Context(), sm, m) {
				got += "|" + m
			}
		}
		w.Write([]byte(got))
	})
	mux.HandleFunc("GET /raw", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(sm.GetString(r.Context(), SessionMethodsKey)))
	})
	h := sm.LoadAndSave(mux)

	for _, tc := range []struct {
		name, methods string
		status        int
		want          string // LoginMethods, then |each method HasLoginMethod holds
	}{
		{"none means a password", "", 200, "pwd|pwd"},
		{"a passkey with user verification", "hwk,mfa", 200, "hwk,mfa|hwk|mfa"},
		{"a provider", "fed", 200, "fed|fed"},
		{"each method once", "fed,mfa,fed", 200, "fed,mfa|mfa|fed"},
		{"a space would split one method in two", "pwd mfa", 400, ""},
		{"upper case", "PWD", 400, ""},
		{"empty", "pwd,", 400, ""},
		{"too long", "abcdefghijklmnopq", 400, ""},
		{"sixteen bytes", "abcdefghijklmnop", 200, "abcdefghijklmnop"},
		{"the edges of the alphabet", "a09z_-", 200, "a09z_-"},
		{"just outside them", "`", 400, ""},
		{"a brace", "{", 400, ""},
		{"a slash", "/", 400, ""},
		{"a colon", ":", 400, ""},
		{"too many", "a,b,c,d,e,f,g,h,i", 400, ""},
		{"eight", "a,b,c,d,e,f,g,h", 200, "a,b,c,d,e,f,g,h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, tok := do(t, h, "POST", "/login?m="+url.QueryEscape(tc.methods), "")
			if rec.Code != tc.status {
				t.Fatalf("login: %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			rec, _ = do(t, h, "GET", "/methods", tok)
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("methods %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("the session value: the methods, each once, one space between", func(t *testing.T) {
		_, tok := do(t, h, "POST", "/login?m=hwk,mfa,hwk", "")
		if rec, _ := do(t, h, "GET", "/raw", tok); rec.Body.String() != "hwk mfa" {
			t.Errorf("session value %q, want %q", rec.Body.String(), "hwk mfa")
		}
	})

	t.Run("a second login replaces the methods", func(t *testing.T) {
		_, tok := do(t, h, "POST", "/login?m=hwk,mfa", "")
		_, tok2 := do(t, h, "POST", "/login", tok)
		if tok2 != "" {
			tok = tok2
		}
		rec, _ := do(t, h, "GET", "/methods", tok)
		if got := rec.Body.String(); got != "pwd|pwd" {
			t.Errorf("methods %q after a password login, want %q", got, "pwd|pwd")
		}
	})
}

// TestLoginMethodsWithoutLogin: nobody logged in has no method, a session
// logged in before methods were recorded had a password, and a context
// without the session does not panic.
func TestLoginMethodsWithoutLogin(t *testing.T) {
	sm := scs.New()
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: newUsers().lookup})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.LoginMethods(context.Background()); got != nil {
		t.Errorf("no session: %v", got)
	}
	if HasLoginMethod(context.Background(), sm, MethodPassword) {
		t.Error("no session: HasLoginMethod(pwd)")
	}
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if got := s.LoginMethods(ctx); got != nil {
			t.Errorf("anonymous: %v", got)
		}
		sm.Put(ctx, SessionUserKey, "alice") // a session of an older version
		if got := s.LoginMethods(ctx); !reflect.DeepEqual(got, []string{MethodPassword}) {
			t.Errorf("older session: %v", got)
		}
		if !HasLoginMethod(ctx, sm, MethodPassword) || HasLoginMethod(ctx, sm, MethodMFA) {
			t.Error("older session: HasLoginMethod")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func BenchmarkHasLoginMethod(b *testing.B) {
	sm := scs.New()
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sm.Put(ctx, SessionUserKey, "alice")
		sm.Put(ctx, SessionMethodsKey, "hwk user mfa")
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if !HasLoginMethod(ctx, sm, MethodMFA) {
				b.Fatal("no mfa")
			}
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
