package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The floor decodes into fixed structs with the fields of a report, as the
// anchors' reference server does
// (../shared/research/performance-anchors.md): the least any receiver
// must do.
type legacyReport struct {
	Report struct {
		DocumentURI        string `json:"document-uri"`
		Referrer           string `json:"referrer"`
		ViolatedDirective  string `json:"violated-directive"`
		EffectiveDirective string `json:"effective-directive"`
		OriginalPolicy     string `json:"original-policy"`
		Disposition        string `json:"disposition"`
		BlockedURI         string `json:"blocked-uri"`
		LineNumber         int    `json:"line-number"`
		ColumnNumber       int    `json:"column-number"`
		SourceFile         string `json:"source-file"`
		StatusCode         int    `json:"status-code"`
		ScriptSample       string `json:"script-sample"`
	} `json:"csp-report"`
}

type envelope struct {
	Age  int64  `json:"age"`
	Type string `json:"type"`
	URL  string `json:"url"`
	UA   string `json:"user_agent"`
	Body struct {
		BlockedURL         string `json:"blockedURL"`
		ColumnNumber       int    `json:"columnNumber"`
		Disposition        string `json:"disposition"`
		DocumentURL        string `json:"documentURL"`
		EffectiveDirective string `json:"effectiveDirective"`
		LineNumber         int    `json:"lineNumber"`
		OriginalPolicy     string `json:"originalPolicy"`
		Referrer           string `json:"referrer"`
		Sample             string `json:"sample"`
		SourceFile         string `json:"sourceFile"`
		StatusCode         int    `json:"statusCode"`
	} `json:"body"`
}

// serveFloor is the floor server (run as `collect -serve-floor`): it
// reads the body (at most 1 MiB), decodes it and answers 204; it stores
// nothing. It listens on 127.0.0.1 and stops on SIGTERM.
func serveFloor() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '[' {
			var v []envelope
			err = json.Unmarshal(body, &v)
		} else {
			var v legacyReport
			err = json.Unmarshal(body, &v)
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	fmt.Printf("floor: receiving on http://%s/csp-report\n", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fatal(err)
	}
}
