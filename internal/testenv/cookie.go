package testenv

import (
	"net/http"
	"net/http/httptest"
)

// KeepCookie returns the cookie named name that a browser would hold after
// the response w: the one w sets, nil when w expires it, else cur. Tests
// that drive a session in process keep their cookie with it.
func KeepCookie(cur *http.Cookie, name string, w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			cur = c
			if c.MaxAge < 0 {
				cur = nil
			}
		}
	}
	return cur
}
