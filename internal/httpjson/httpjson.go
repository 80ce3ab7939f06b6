// Package httpjson writes the suite's small JSON answers (refusals, 5xx)
// the one way: Content-Type application/json, nosniff, no body for HEAD.
package httpjson

import "net/http"

// Write answers status with body, a JSON value, and a newline. r may be
// nil outside a request; then the body is written.
func Write(w http.ResponseWriter, r *http.Request, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r == nil || r.Method != http.MethodHead {
		w.Write([]byte(body + "\n"))
	}
}
