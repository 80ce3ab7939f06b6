package profiling

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// HeaderServerTiming is the response header a profiled request gets.
const HeaderServerTiming = "Server-Timing"

// writer wraps the ResponseWriter of a profiled request (and only of a
// profiled request) to add Server-Timing just before the header is sent.
// Unwrap lets http.ResponseController reach the connection's own writer;
// Flush and Hijack are there for handlers that assert the interfaces.
type writer struct {
	http.ResponseWriter
	st      *state
	stamped bool
}

// stamp adds Server-Timing and Cache-Control: no-store (a shared cache
// must not keep a staff member's timings for others) to the header, once.
func (w *writer) stamp() {
	if w.stamped {
		return
	}
	w.stamped = true
	h := w.ResponseWriter.Header()
	h.Add(HeaderServerTiming, w.st.timing(time.Now(), readMetrics()))
	h.Set("Cache-Control", "no-store")
}

// WriteHeader stamps the header before a final status (not before 1xx
// informational responses such as 103 Early Hints, which 101 is not).
func (w *writer) WriteHeader(code int) {
	if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
		w.stamp()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	w.stamp()
	return w.ResponseWriter.Write(p)
}

// FlushError flushes through http.ResponseController, which is what
// ResponseController.Flush calls first.
func (w *writer) FlushError() error {
	w.stamp()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is http.Flusher's Flush; a writer that cannot flush ignores it.
func (w *writer) Flush() { _ = w.FlushError() }

// Hijack hands the connection over, when the wrapped writer can.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.stamped = true // no header will be sent
	}
	return c, rw, err
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
