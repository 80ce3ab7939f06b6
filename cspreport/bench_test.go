package cspreport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/seclog"
)

// chromeBatch is the 3-report Chrome 125 batch of the corpus (2.4 KB).
func chromeBatch(b *testing.B) string {
	for _, dir := range []string{os.Getenv("BULWARK_TESTDATA"), "../../shared/testdata", "../../../shared/testdata"} {
		if dir == "" {
			continue
		}
		if body, err := os.ReadFile(filepath.Join(dir, "csp-reports", "chromium-report-to-batch-inline-and-urls.json")); err == nil {
			return string(body)
		}
	}
	b.Skip("shared/testdata/csp-reports not found")
	return ""
}

// BenchmarkReceiver: one request through the handler, with the memory
// store (the handler's own cost: decode, normalise, filter, group commit).
func BenchmarkReceiver(b *testing.B) {
	for _, c := range []struct{ name, ctype, body string }{
		{"legacy", "application/csp-report", legacyBody},
		{"batch3", "application/reports+json", chromeBatch(b)},
	} {
		b.Run(c.name, func(b *testing.B) {
			rc, err := cspreport.New(cspreport.Config{Store: cspreport.NewMemoryStore(), Logger: seclog.Discard(),
				RateLimit: cspreport.RateLimit{Disabled: true}})
			if err != nil {
				b.Fatal(err)
			}
			defer rc.Close(context.Background())
			b.ReportAllocs()
			b.SetParallelism(16)
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("POST", "/csp-report", nil)
				r.Header.Set("Content-Type", c.ctype)
				for pb.Next() {
					i := n.Add(1)
					body := strings.Replace(c.body, "x.js", fmt.Sprintf("x%d.js", i%64), 1)
					r.Body = http.NoBody
					r.Body = nopCloser{strings.NewReader(body)}
					r.ContentLength = int64(len(body))
					w := httptest.NewRecorder()
					rc.ServeHTTP(w, r)
					if w.Code != 204 {
						b.Errorf("status %d", w.Code)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
