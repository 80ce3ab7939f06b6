package throttle_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/throttle"
)

// verify stands for the application's password check: one hash, against
// a dummy hash of the same cost for an unknown user.
func verify(user, password string) bool { return user == "alice" && password == "right" }

// The login handler asks the throttle before it hashes the password.
func Example() {
	th, err := throttle.New(throttle.Config{
		Logger: seclog.Discard(), // in production, the suite's one security logger
	}) // memory store, secure defaults
	if err != nil {
		log.Fatal(err)
	}
	login := func(w http.ResponseWriter, r *http.Request) {
		user, password := r.PostFormValue("username"), r.PostFormValue("password")
		a, err := th.Check(r, user)
		if err != nil {
			identity.Unavailable(w, r, nil) // the store cannot answer: 503
			return
		}
		if !a.Allowed {
			th.Refuse(w, r, a) // 429 with Retry-After, before any hash
			return
		}
		if !verify(user, password) {
			http.Error(w, "Wrong user name or password.", http.StatusOK)
			return
		}
		th.Succeeded(r, a)         // this client's attempts for alice are forgotten
		th.TrustDevice(w, r, user) // the login is complete: trust this browser
		fmt.Fprintln(w, "welcome")
	}
	post := func(password string) *httptest.ResponseRecorder {
		form := url.Values{"username": {"alice"}, "password": {password}}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		login(w, r)
		return w
	}
	for range 5 {
		post("guess")
	}
	w := post("right") // even the right password waits now
	fmt.Println(w.Code, w.Header().Get("Retry-After"))
	// Output: 429 1
}
