package clearsite

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
)

// Trigger asks for Clear-Site-Data on the response being written to w: call
// it from a handler inside [Middleware.Handler], built with [Config.Trigger]
// set, when it logs the user out or ends an expired session, before it
// writes the response. Without Config.Trigger, call [Middleware.Send]. It works on any
// response, a 303 redirect to the login page included, and the header is set
// at once, so the handler may check it. A Clear-Site-Data header the handler
// set itself is kept.
//
// w is the handler's ResponseWriter, or any wrapper of it whose Unwrap
// method leads to it (as for http.ResponseController). Trigger returns
// [ErrNotWrapped] when no clearsite Handler with Config.Trigger is found
// that way,
// [ErrInsecure] when the request is not an HTTPS one, and
// [ErrHeadersWritten] when the response's headers were already written; the
// last two are also logged as clearsite.not_sent events. Calling it twice is
// harmless.
//
// Trigger finds the Handler through the ResponseWriter, not the request's
// context: nothing is added to the context, and the Handler knows when the
// headers are written, so a late call is reported instead of silently lost.
func Trigger(w http.ResponseWriter) error {
	for {
		switch t := w.(type) {
		case *writer:
			return t.trigger()
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return ErrNotWrapped
		}
	}
}

// writer is the ResponseWriter that Handler gives to the next handler when
// Config.Trigger is set. It
// only remembers whether the response's headers were written, so that
// Trigger can tell when it is too late; everything else goes to the
// ResponseWriter it wraps (Unwrap serves http.ResponseController).
type writer struct {
	http.ResponseWriter
	m     *Middleware
	r     *http.Request
	wrote bool
}

func (w *writer) trigger() error {
	if w.wrote {
		w.m.log.Log(w.r, seclog.ClearSiteNotSent, zap.String("trigger", triggerHandler), zap.String("reason", "headers_written"))
		return ErrHeadersWritten
	}
	return w.m.apply(w.ResponseWriter.Header(), w.r, triggerHandler, w.m.sentHandler)
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteHeader notes that the headers are written, unless code is an
// informational (1xx) status other than 101, after which the final
// response's headers can still change.
func (w *writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write notes that the headers are written.
func (w *writer) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps the wrapped writer's io.ReaderFrom (sendfile for
// http.ServeContent).
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	w.wrote = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// writerOnly hides every method but Write, so io.Copy cannot loop back.
type writerOnly struct{ io.Writer }

// Flush flushes the wrapped writer, if it can; the headers are then written.
func (w *writer) Flush() { _ = w.FlushError() }

// FlushError is Flush with the error, as http.ResponseController uses it.
func (w *writer) FlushError() error {
	w.wrote = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hijacks the wrapped writer's connection, if it can.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.wrote = true
	}
	return c, rw, err
}
